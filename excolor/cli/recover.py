"""`excolor-recover`: fail the RUNNING trials of dead sweep workers, from any machine.

    excolor-recover --storage URL --study NAME [--grace-s 120] [--all]

A worker that starts does this by itself; this command is for a study that no worker will touch
again. Without `--all`, a trial is failed (reason `abandoned`) when its worker's process is gone
(same host) or its heartbeat is older than the grace period (any host). `--all` fails every RUNNING
trial: use it only when you know no worker is alive.
"""

from __future__ import annotations

import argparse
import sys

import optuna

from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.study.storage import open_storage, study_in
from excolor.sweep.workers import fail_abandoned_trials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-recover", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="Optuna storage URL")
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--grace-s", type=float, default=120.0, help="heartbeat age that means dead (seconds)")
    parser.add_argument("--all", action="store_true", help="fail every RUNNING trial (no worker is alive)")
    args = parser.parse_args(argv)
    if args.grace_s < 0:
        parser.error(f"--grace-s {args.grace_s} must be >= 0")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = open_storage(args.storage, create=False, key="--storage")
        study = study_in(storage, args.storage, args.study)
    except ConfigError as error:
        print(f"excolor-recover: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT
    failed = fail_abandoned_trials(storage, study, grace_s=args.grace_s, everything=args.all)
    print(f"excolor-recover: marked {len(failed)} trial(s) FAILED (abandoned): {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
