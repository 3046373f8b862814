"""Every trial this worker asks the study for ends: COMPLETE, PRUNED or FAIL with its reason, whatever ends
this worker's part in it (Ctrl-C or SIGTERM, a full disk, a missing dependency, a crash), except a kill no
code survives (kill -9, the OOM killer: the next worker's heartbeat check fails those, excolor/sweep/workers.py).

The sweeper asks through a Ledger and tells it when a trial is recorded; on the way out by any exception,
the ledger ends each trial still open: COMPLETE from its directory when it finished there before the sweep
stopped, else FAIL with a reason said in words, which its directory says too.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from types import TracebackType
from typing import Any

import optuna
from optuna.trial import TrialState

from excolor.core.metric_names import is_named
from excolor.run import outputs
from excolor.run.outcome import Attr, json_safe

INTERRUPTED = "interrupted: Ctrl-C or SIGTERM stopped its worker before it finished"


def reason_of(error: BaseException) -> str:
    """Why an exception ended the trials it interrupted, in words a researcher reads in a table."""
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"disk full: {text}"
    if isinstance(error, ImportError):
        return f"missing dependency: {text}"
    return f"its worker stopped ({type(error).__name__}: {text})"


class Ledger:
    """The trials asked and not yet told; `with Ledger(study) as ledger:` ends every one of them."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.open: dict[int, optuna.Trial] = {}
        self.ended: list[int] = []  # trials the ledger itself failed on the way out

    def ask(self) -> optuna.Trial:
        trial = self.study.ask()
        self.open[trial.number] = trial
        return trial

    def closed(self, trial: optuna.Trial) -> None:
        """The trial was told (COMPLETE, PRUNED or FAIL): nothing left to do for it."""
        self.open.pop(trial.number, None)

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if error is not None:
            self.fail_open(reason_of(error))

    def fail_open(self, reason: str) -> None:
        """End every trial still open: COMPLETE from its directory where it finished before the sweep stopped
        (its metrics.json is written last), else FAIL with `reason`, its directory saying so too."""
        for number, trial in list(self.open.items()):
            output_dir = trial.user_attrs.get(Attr.OUTPUT_DIR)
            finished = finished_metrics(output_dir)
            try:
                if finished is not None and all(name in finished for name in self.study.metric_names or []):
                    for key, value in finished.items():
                        trial.set_user_attr(key, json_safe(value))
                    self.study.tell(trial, [finished[name] for name in self.study.metric_names or []])
                else:
                    trial.set_user_attr(Attr.REASON, json_safe(reason))
                    self.study.tell(trial, state=TrialState.FAIL)
                self.ended.append(number)
            except Exception:  # another worker judged it dead meanwhile, or the storage is gone: nothing to lose
                pass
            finally:
                self.open.pop(number, None)
            if finished is None:
                mark_unfinished(output_dir, reason)


def finished_metrics(output_dir: Any) -> dict[str, float] | None:
    """The metrics of a trial directory whose run finished (status done, metrics.json written), else None."""
    if not output_dir:
        return None
    directory = Path(str(output_dir))
    record = outputs.read_status(directory)
    try:
        metrics = json.loads((directory / outputs.METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if record is None or record.get("state") != "done" or not isinstance(metrics, dict):
        return None
    return {k: v for k, v in metrics.items() if not is_named(k) and isinstance(v, (int, float))}


def mark_unfinished(output_dir: Any, reason: str) -> None:
    """A trial directory that says `running` or nothing yet says how its trial ended (never raises)."""
    if not output_dir or not Path(str(output_dir)).is_dir():
        return
    record = outputs.read_status(Path(str(output_dir)))
    if record is None or record.get("state") == "running":
        state = "interrupted" if reason == INTERRUPTED else "failed"
        outputs.mark_status(Path(str(output_dir)), state, reason)
