"""`excolor-eval`: evaluate a saved model again, optionally with other ablation or eval settings.

    excolor-eval RUN_DIR [ablation=none] [eval.rgb_grid_size=64] [--out FILE]

Reads RUN_DIR/.hydra/config.yaml and RUN_DIR/model.pt (the run's first seed); prints the named-colour
table and metrics, and writes them as JSON to --out (default: stdout only). With no overrides the
metrics equal the run's own (seed_metrics.json, first seed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from excolor import console, outputs
from excolor.config import CONF_DIR, ConfigError, group_options, check_config, register_schema
from excolor.metrics import MemberReport, evaluate
from excolor.surgery import apply_ablation


def evaluate_run(run_dir: Path, overrides: list[str]) -> MemberReport:
    """The first seed's model of a finished run, evaluated under its config plus `overrides`."""
    config_dir = run_dir / ".hydra"
    weights = run_dir / outputs.WEIGHTS_FILE
    for needed in (config_dir / "config.yaml", weights):
        if not needed.exists():
            raise ConfigError(f"{needed} not found: RUN_DIR must be the output dir of an excolor-train run")
    groups = {o.split("=", 1)[0]: o.split("=", 1)[1] for o in overrides
              if "=" in o and (CONF_DIR / o.split("=", 1)[0]).is_dir()}
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir.resolve())):
        cfg = compose("config", overrides=[o for o in overrides if o.split("=", 1)[0] not in groups])
    with open_dict(cfg):
        cfg.logger = None  # evaluation logs nothing; the run's logger config may need Hydra's runtime
        for group, option in groups.items():  # a saved config has no defaults list: swap the group's node
            path = CONF_DIR / group / f"{option}.yaml"
            if not path.exists():
                raise ConfigError(f"{group}={option}: no such option; allowed: {group_options(group)}")
            cfg[group] = OmegaConf.load(path)
    config = check_config(cfg)
    model = outputs.load_model(weights)
    ablated = apply_ablation(model, config.ablation)
    [report] = evaluate(model.reconstruct, ablated.reconstruct, config.eval)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-eval", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. ablation=none eval.rgb_grid_size=64")
    parser.add_argument("--out", type=Path, help="write the metrics here as JSON")
    args = parser.parse_args(argv)
    try:
        report = evaluate_run(args.run_dir, args.overrides)
    except ValueError as error:  # ConfigError included
        print(f"excolor-eval: {error}", file=sys.stderr)
        return 2
    print(console.named_color_table(report.named_colors))
    print(console.metrics_table(report.metrics))
    if args.out:
        outputs.write_json(args.out, report.metrics)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
