"""The sweep loop of one worker: ask a batch of trials, claim their directories, hand them to the launcher,
record every outcome; until this run's trials are done, or (sweep.total_trials) the study has enough
complete trials, whichever workers ran them.

Every asked trial ends (excolor/sweep/ledger.py). Before each batch the loop fails the RUNNING trials of
dead workers (a dead process on this host at once, a silent heartbeat on any host after sweep.grace_s),
so a study topped up to a total reaches it though a worker was killed; while the study's remaining trials
belong to live workers, the loop waits for them instead of leaving early.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import optuna
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from optuna.trial import TrialState

from excolor.run.outcome import Attr, TrialOutcome, json_safe
from excolor.study.records import best_trials, trial_attrs
from excolor.sweep import progress
from excolor.sweep.batch import Batch, BatchLauncher, Front
from excolor.sweep.ledger import Ledger
from excolor.sweep.space import SearchSpace
from excolor.sweep.workers import Heartbeat, claim_directory, fail_abandoned_trials, worker_id


@dataclass
class Plan:
    """How much this worker runs and how it keeps in touch with the others."""

    n_jobs: int  # trials per batch
    n_trials: int | None  # this run's trials (None: top the study up to `total`)
    total: int | None  # sweep.total_trials: complete trials in the study, all workers together
    heartbeat_s: float
    grace_s: float
    max_failure_rate: float


@dataclass
class Tally:
    done: int = 0
    failed: int = 0


def outcome_of(ret: JobReturn) -> tuple[TrialOutcome | None, str | None]:
    """A launched job's outcome, or why it has none (the exception it raised)."""
    if ret.status != JobStatus.COMPLETED:
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # Hydra prints the overrides; we print a line
                ret.return_value  # JobReturn re-raises the job's exception here
        except BaseException as error:  # noqa: BLE001 - the reason is recorded on the trial
            return None, f"{type(error).__name__}: {error}"
        return None, "the job did not complete"
    value = ret.return_value
    if not isinstance(value, TrialOutcome):
        return None, f"the task returned {type(value).__name__}, not a TrialOutcome"
    return value, value.reason()


def front_of(study: optuna.Study) -> Front:
    """What the batch about to start races against: the study's front as it stands now (every worker's trials)."""
    maximize = [d == optuna.study.StudyDirection.MAXIMIZE for d in study.directions]
    return Front([(t.number, list(t.values)) for t in best_trials(study)], maximize)


def counts(study: optuna.Study) -> tuple[int, int]:
    """(complete, running) trials of the study."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return states.count(TrialState.COMPLETE), states.count(TrialState.RUNNING)


class Loop:
    def __init__(self, study: optuna.Study, storage: Any, url: str, space: SearchSpace, sweep_dir: Path,
                 launcher: Launcher, plan: Plan, job_idx: int = 0) -> None:
        self.study, self.storage, self.url, self.space, self.sweep_dir = study, storage, url, space, sweep_dir
        self.launcher, self.plan, self.job_idx = launcher, plan, job_idx
        self.tally = Tally()
        self.worker = worker_id()
        self.sampled = "trial.sampled=[" + ",".join(f"'{key}'" for key in space.distributions) + "]"

    def run(self) -> Tally:
        started = time.perf_counter()
        complete_before = counts(self.study)[0]
        with Ledger(self.study) as ledger:
            while (size := self.next_batch()) > 0:
                self.batch(ledger, size)
                complete = counts(self.study)[0]
                progress.say(progress.progress_line(self.tally.done + self.tally.failed, self.plan.n_trials,
                                                    self.plan.total, complete, complete - complete_before,
                                                    time.perf_counter() - started))
                if self.too_many_failures():
                    break
        return self.tally

    def fail_abandoned(self) -> None:
        abandoned = fail_abandoned_trials(self.storage, self.study, self.plan.grace_s)
        if abandoned:
            progress.say(f"trials {abandoned} of dead workers marked FAILED (abandoned)")

    def next_batch(self) -> int:
        """How many trials the next batch asks for (0: stop), after failing the trials of dead workers;
        with a total to reach, waits while only other live workers' trials stand between here and it."""
        self.fail_abandoned()
        if self.plan.total is None:
            return min(self.plan.n_trials - self.tally.done - self.tally.failed, self.plan.n_jobs)
        waited = False
        while True:
            complete, running = counts(self.study)
            if self.tally.failed > 2 * self.plan.total:  # failures never count: do not loop forever
                progress.say(f"stopping: {self.tally.failed} trials failed while topping up to {self.plan.total}")
                return 0
            to_go = self.plan.total - complete - running
            if to_go > 0 or running == 0:
                return max(min(to_go, self.plan.n_jobs), 0)
            if not waited:
                progress.say(f"{running} trial(s) of other workers stand between the study's {complete} complete "
                             f"trials and {self.plan.total}: waiting for them to end (or their workers to be "
                             f"found dead: sweep.grace_s={self.plan.grace_s:g})")
                waited = True
            time.sleep(max(self.plan.heartbeat_s / 2, 0.5))
            self.fail_abandoned()

    def batch(self, ledger: Ledger, size: int) -> None:
        trials = [ledger.ask() for _ in range(size)]
        for trial in trials:
            trial.set_user_attr(Attr.WORKER, self.worker)
            trial.set_user_attr(Attr.HEARTBEAT, time.time())
        runnable = []
        for trial in trials:
            overrides = self.space.suggest(trial)
            claim = claim_directory(self.sweep_dir, self.study, self.url, trial.number)
            trial.set_user_attr(Attr.OUTPUT_DIR, str(claim.directory))
            if claim.conflict:
                self.record(ledger, trial, None, claim.conflict, 0.0)
                continue
            runnable.append((trial, [*overrides, f"hydra.sweep.subdir={trial.number}",
                                     f"trial.study={self.study.study_name}", f"trial.number={trial.number}",
                                     self.sampled]))
        if not runnable:
            return
        started = time.perf_counter()
        jobs = [overrides for _, overrides in runnable]
        with Heartbeat(self.storage, self.study, [t.number for t, _ in runnable], self.plan.heartbeat_s):
            if isinstance(self.launcher, BatchLauncher):
                returns = self.launcher.launch_batch(Batch(jobs, self.job_idx, front_of(self.study)))
            else:
                returns = self.launcher.launch(jobs, initial_job_idx=self.job_idx)
        self.job_idx += len(returns)
        wall = (time.perf_counter() - started) / max(len(returns), 1)
        for (trial, _), ret in zip(runnable, returns):
            outcome, reason = outcome_of(ret)
            self.record(ledger, trial, outcome, reason, wall)

    def too_many_failures(self) -> bool:
        tally = self.tally
        if tally.failed and tally.failed / max(tally.done + tally.failed, 1) > self.plan.max_failure_rate:
            progress.say(f"stopping: {tally.failed} of {tally.done + tally.failed} trials failed "
                         f"(hydra.sweeper.max_failure_rate={self.plan.max_failure_rate})")
            return True
        return False

    def record(self, ledger: Ledger, trial: optuna.Trial, outcome: TrialOutcome | None, reason: str | None,
               wall: float) -> None:
        """Keep everything the trial produced, then tell its state."""
        try:
            ok = self.tell(trial, outcome, reason, wall)
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker judged this one dead
            progress.say(f"trial {trial.number:>4} was marked abandoned by another worker while it ran (heartbeat "
                         f"late); its outputs stay in {trial.user_attrs.get(Attr.OUTPUT_DIR)}")
            ok = False
        ledger.closed(trial)
        self.tally.done += ok
        self.tally.failed += not ok

    def tell(self, trial: optuna.Trial, outcome: TrialOutcome | None, reason: str | None, wall: float) -> bool:
        study, names = self.study, self.study.metric_names or []
        if outcome is not None:
            for key, value in trial_attrs(outcome).items():
                trial.set_user_attr(key, json_safe(value))
        if outcome is not None and reason is None and outcome.pruned:
            trial.set_user_attr(Attr.PRUNED_REASON, outcome.pruned)
            _tell(study, trial, state=TrialState.PRUNED)
            progress.say_all(progress.trial_lines(trial.number, "pruned", trial.params,
                                                  f"{progress.values_text(names, outcome.objectives)}  "
                                                  f"({outcome.pruned})"))
            return True
        if reason is not None or outcome is None:
            trial.set_user_attr(Attr.REASON, reason or "no outcome")
            _tell(study, trial, state=TrialState.FAIL)
            progress.say_all(progress.trial_lines(trial.number, "FAILED", trial.params, str(reason)))
            return False
        _tell(study, trial, outcome.objectives)
        progress.say_all(progress.done_lines(trial, names, outcome.objectives, outcome.metrics, wall))
        return True


def _tell(study: optuna.Study, trial: optuna.Trial, values: Sequence[float] | None = None,
          state: TrialState = TrialState.COMPLETE) -> None:
    """study.tell, tolerating the grid sampler's `study.stop()` once its grid is exhausted."""
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as error:
        if "Study.stop" not in str(error):
            raise
