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
from excolor.commands import BAD_INPUT_EXIT
from excolor.config import CONF_DIR, ConfigError, group_options, check_config, register_schema
from excolor.metrics import MemberReport, evaluate
from excolor.surgery import apply_ablation
from excolor.validation import split_override


EVAL_OVERRIDABLE = ("ablation", "eval")
"""What a re-evaluation can change; everything else (model, data, schedule, ...) needs a new training run."""


def check_overrides(overrides: list[str]) -> None:
    """Refuse an override excolor-eval cannot apply, rather than ignore it."""
    for override in overrides:
        key, value = split_override(override)
        top = key.split(".", 1)[0].split("/", 1)[0]
        if value is None:
            raise ConfigError(f"{override!r} is not an override KEY=VALUE (excolor-eval RUN_DIR [ablation=...] "
                              "[eval.KEY=VALUE] [--out FILE])")
        if top not in EVAL_OVERRIDABLE:
            raise ConfigError(f"{override}: excolor-eval can change only the {' and '.join(EVAL_OVERRIDABLE)} "
                              f"settings of a trained model; {key} needs a new training run "
                              "(excolor-train)")


def evaluate_run(run_dir: Path, overrides: list[str]) -> MemberReport:
    """The first seed's model of a finished run, evaluated under its config plus `overrides`."""
    config_dir = run_dir / ".hydra"
    weights = run_dir / outputs.WEIGHTS_FILE
    for needed in (config_dir / "config.yaml", weights):
        if not needed.exists():
            raise ConfigError(f"{needed} not found: RUN_DIR must be the output dir of an excolor-train run")
    check_overrides(overrides)
    saved = config_dir / "config.yaml"
    try:
        loaded = OmegaConf.to_container(OmegaConf.load(saved))
        if not isinstance(loaded, dict):
            raise ValueError("not a mapping of config keys")
        missing = [key for key in ("model", "eval", "ablation", "objectives") if key not in loaded]
        if missing:
            raise ValueError(f"it has no {', '.join(missing)} section")
    except Exception as error:  # yaml's and OmegaConf's parse errors
        raise ConfigError(f"{saved}: not a run's saved config ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''}); RUN_DIR must be the output "
                          "dir of an excolor-train run") from None
    groups = {o.split("=", 1)[0]: o.split("=", 1)[1] for o in overrides
              if "=" in o and (CONF_DIR / o.split("=", 1)[0]).is_dir()}
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir.resolve())):
            cfg = compose("config", overrides=[o for o in overrides if o.split("=", 1)[0] not in groups])
    except Exception as error:  # Hydra's override grammar and key errors
        raise ConfigError(f"cannot apply the overrides {overrides} to {saved}: "
                          f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    with open_dict(cfg):
        cfg.logger = None  # evaluation logs nothing; the run's logger config may need Hydra's runtime
        for group, option in groups.items():  # a saved config has no defaults list: swap the group's node
            path = CONF_DIR / group / f"{option}.yaml"
            if not path.exists():
                raise ConfigError(f"{group}={option}: no such option; allowed: {group_options(group)}")
            cfg[group] = OmegaConf.load(path)
    config = check_config(cfg)
    try:
        model = outputs.load_model(weights)
    except Exception as error:  # not a torch file, not our payload, or a shape that differs from the config
        raise ConfigError(f"{weights}: not weights saved by excolor-train for this run's model "
                          f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from None
    if model.config.k_bottleneck != config.model.k_bottleneck:
        raise ConfigError(f"{weights}: its bottleneck has {model.config.k_bottleneck} dims but the run's config "
                          f"says model.k_bottleneck={config.model.k_bottleneck}")
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
        return BAD_INPUT_EXIT
    print(console.named_color_table(report.named_colors))
    print(console.metrics_table(report.metrics))
    if args.out:
        try:
            outputs.write_json(args.out, report.metrics)
        except OSError as error:
            print(f"excolor-eval: cannot write --out {args.out}: {error.strerror or error}", file=sys.stderr)
            return BAD_INPUT_EXIT
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
