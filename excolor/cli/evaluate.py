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

from excolor.errors import BAD_INPUT_EXIT
from excolor.run import outputs
from excolor.run.runner import metrics_table, named_color_table
from excolor.run.saved import evaluate_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-eval", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. ablation=none eval.rgb_grid_size=64")
    parser.add_argument("--out", type=Path, help="write the metrics here as JSON")
    args = parser.parse_args(argv)
    problem = args.out and outputs.writable_dir_problem(str(args.out.parent), "--out")
    if problem:  # before the evaluation, not after it
        print(f"excolor-eval: {problem}", file=sys.stderr)
        return BAD_INPUT_EXIT
    try:
        report, concept = evaluate_run(args.run_dir, args.overrides)
    except ValueError as error:  # ConfigError included
        print(f"excolor-eval: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT
    print(named_color_table(report.named_colors))
    print(metrics_table(report.metrics, concept.name))
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
