"""`hydra/sweeper=excolor`: an Optuna study loop for concept-deletion sweeps, on public APIs only.

It keeps the keys of Hydra's Optuna sweeper config (sampler, storage, study_name, n_trials, n_jobs,
max_failure_rate, params) and adds what a sweep's record needs:
- the space follows the selected regularizers (excolor/sweep/space.py); directions and metric names come
  from the run's `objectives`;
- every trial is identified by its Optuna number: its directory `<hydra.sweep.dir>/<number>`, its
  W&B run, its attributes (excolor/study/records.py), whichever worker runs it and however often it resumes;
- a trial's outcome comes back from the launcher as a value (excolor.run.outcome.TrialOutcome): metrics,
  per-seed values and a failure reason are kept on the trial, failed or not;
- workers record heartbeats; a starting worker fails the trials of dead ones (`abandoned`);
- the sweep-level summary is computed from the storage and written atomically.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from excolor.core.metric_names import FAILED_SEEDS
from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.run.build import TargetError, build
from excolor.run.concept import concept_of, expand_poles
from excolor.run.config import short_name
from excolor.run.outcome import Attr, TrialOutcome, json_safe
from excolor.study.records import CONCEPT_ATTR, best_trials, trial_attrs, write_summary
from excolor.study.storage import open_storage, open_study, shown_url
from excolor.study.wandb_run import study_run_spec, write_study_run
from excolor.sweep.batch import Batch, BatchLauncher, Front, SweepPlan
from excolor.sweep.preflight import check_sweep
from excolor.sweep.space import SearchSpace, parse_space, weight_space
from excolor.sweep.workers import Heartbeat, claim_directory, fail_abandoned_trials, worker_id

log = logging.getLogger(__name__)
SAMPLER_TARGETS = ("optuna.samplers.*", "hydra_plugins.hydra_optuna_sweeper.*", "excolor.*")
"""Where a `hydra.sweeper.sampler._target_` may point."""


def build_sampler(node: DictConfig, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The configured sampler; a grid sampler gets the space's grid."""
    spec = OmegaConf.to_container(node, resolve=True)
    extra = {"search_space": space.grid()} if str(spec.get("_target_", "")).endswith("GridSampler") else {}
    try:
        return build(spec, SAMPLER_TARGETS, **extra)
    except (TargetError, ValueError) as error:
        raise ConfigError(f"hydra.sweeper.sampler: {error}") from None


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


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{short_name(k)}={v:.3g}" if isinstance(v, float) else f"{short_name(k)}={v}"
                    for k, v in params.items())


def _values(study: optuna.Study, outcome: TrialOutcome) -> str:
    """A trial's objectives, named: `log10_collateral_mse=-3.42  red_mse=0.3438`."""
    return "  ".join(f"{k}={v:.4g}" for k, v in zip(study.metric_names or [], outcome.objectives))


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ExcolorSweeper(Sweeper):
    """Hydra plugin: the same constructor as the stock Optuna sweeper."""

    def __init__(self, sampler: Any, direction: Any, storage: Any | None, study_name: str | None, n_trials: int,
                 n_jobs: int, max_failure_rate: float, custom_search_space: str | None,
                 params: DictConfig | None) -> None:
        self.sampler_config, self.storage_url, self.study_name = sampler, storage, study_name
        self.n_trials, self.n_jobs, self.max_failure_rate = n_trials, n_jobs, max_failure_rate
        self.params = params
        if custom_search_space:
            raise ConfigError("hydra.sweeper.custom_search_space is not supported by the excolor sweeper; "
                              "give the space as hydra.sweeper.params or sweep overrides")
        self.job_idx = 0

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(config=config, hydra_context=hydra_context,
                                                                task_function=task_function)

    def sweep(self, arguments: list[str]) -> None:
        try:
            self._sweep(arguments)
        except ConfigError as error:  # one paragraph and the status of every refused input, as a single run's
            print(f"excolor: sweep configuration error: {error}", file=sys.stderr)
            raise SystemExit(BAD_INPUT_EXIT) from None

    def _sweep(self, arguments: list[str]) -> None:
        config = self.config
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours to print
        base = check_sweep(config, self.n_trials, self.n_jobs, self.max_failure_rate)  # before the study is opened
        if isinstance(self.launcher, BatchLauncher):
            self.launcher.begin(SweepPlan(batch_size=self.n_jobs))
        objectives = {name: direction.value for name, direction in base.objectives.items()}
        names, directions = list(objectives), list(objectives.values())
        concept = concept_of(base)
        params = expand_poles([f"{k}={v}" for k, v in (self.params or {}).items()], concept)
        space = parse_space([*weight_space(config), *params, *arguments], list(config.regularizers))
        sampler = build_sampler(self.sampler_config, space)
        sweep = config.get("sweep") or {}
        if not self.storage_url:
            raise ConfigError("hydra.sweeper.storage is empty: give a URL, e.g. sqlite:///multirun/optuna.db")
        url = str(self.storage_url)
        storage = open_storage(url, key="hydra.sweeper.storage")
        study = open_study(storage, str(self.study_name), directions, sampler, names)
        study.set_user_attr(CONCEPT_ATTR, concept.name)
        abandoned = fail_abandoned_trials(storage, study, float(sweep.get("grace_s", 120)))
        if abandoned:
            log.warning(f"marked trial(s) {abandoned} of dead workers FAILED (abandoned)")
        before = len(study.trials)
        if before:  # a seeded sampler would otherwise replay the same start-up points on every resume
            sampler.reseed_rng()
        sweep_dir = Path(config.hydra.sweep.dir)
        total = sweep.get("total_trials")
        goal = f"topping up to {total} complete" if total is not None else f"adding {self.n_trials}"
        print(f"[excolor] study {study.study_name!r} in {shown_url(url)}: {before} trial(s) so far; {goal}; "
              f"objectives {objectives}; trials in {sweep_dir}/<number>", flush=True)
        print(f"[excolor] space: {space.describe()}", flush=True)
        self._loop(study, storage, url, space, sweep_dir, total, float(sweep.get("heartbeat_s", 20)))

    def _loop(self, study: optuna.Study, storage: Any, url: str, space: SearchSpace, sweep_dir: Path,
              total: int | None, heartbeat_s: float) -> None:
        worker = worker_id()
        sampled = "trial.sampled=[" + ",".join(f"'{key}'" for key in space.distributions) + "]"  # W&B config keys
        done = failed = 0
        planned = self.n_trials if total is None else None
        started = time.perf_counter()
        complete_before = _complete(study)  # with sweep.total_trials: the study's pace counts every worker
        while True:
            if total is not None:  # resume-to-target: top the study up to `total` complete trials
                states = [t.state for t in study.get_trials(deepcopy=False)]
                to_go = total - states.count(TrialState.COMPLETE) - states.count(TrialState.RUNNING)
                if failed > 2 * total:  # failures never count towards the target: do not loop forever
                    log.error(f"stopping: {failed} trials failed while topping up to {total}")
                    break
            else:
                to_go = self.n_trials - done - failed
            if to_go <= 0:
                break
            trials = [study.ask() for _ in range(min(to_go, self.n_jobs))]
            for trial in trials:
                trial.set_user_attr(Attr.WORKER, worker)
                trial.set_user_attr(Attr.HEARTBEAT, time.time())
            claims = [claim_directory(sweep_dir, study, url, t.number) for t in trials]
            runnable = []
            for trial, claim in zip(trials, claims):
                overrides = space.suggest(trial)
                trial.set_user_attr(Attr.OUTPUT_DIR, str(claim.directory))
                if claim.conflict:
                    self._record(study, trial, None, claim.conflict, 0.0)
                    failed += 1
                    continue
                runnable.append((trial, [*overrides, f"hydra.sweep.subdir={trial.number}",
                                         f"trial.study={study.study_name}", f"trial.number={trial.number}",
                                         sampled]))
            if not runnable:
                continue
            batch_started = time.perf_counter()
            jobs = [overrides for _, overrides in runnable]
            with Heartbeat(storage, study, [t.number for t, _ in runnable], heartbeat_s):
                if isinstance(self.launcher, BatchLauncher):
                    returns = self.launcher.launch_batch(Batch(jobs, self.job_idx, front_of(study)))
                else:
                    returns = self.launcher.launch(jobs, initial_job_idx=self.job_idx)
            self.job_idx += len(returns)
            wall = (time.perf_counter() - batch_started) / max(len(returns), 1)
            for (trial, _), ret in zip(runnable, returns):
                outcome, reason = outcome_of(ret)
                ok = self._record(study, trial, outcome, reason, wall)
                done, failed = done + ok, failed + (not ok)
            self._progress(done + failed, planned, total, study, started, complete_before)
            if failed and failed / max(done + failed, 1) > self.max_failure_rate:
                log.error(f"stopping: {failed} of {done + failed} trials failed "
                          f"(hydra.sweeper.max_failure_rate={self.max_failure_rate})")
                break
        self._summarise(study, Path(self.config.hydra.sweep.dir))
        self._study_run(study, url, sweep_dir)
        if done == 0 and failed:
            raise SystemExit(f"excolor: every trial of this sweep failed ({failed}); see the reasons above")

    def _record(self, study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome | None, reason: str | None,
                wall: float) -> bool:
        """Keep everything the trial produced, then tell its state. True when it completed."""
        try:
            return self._tell_outcome(study, trial, outcome, reason, wall)
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker judged this one dead
            print(f"[excolor] trial {trial.number:>4} was marked abandoned by another worker while it ran "
                  f"(heartbeat late); its outputs stay in {trial.user_attrs.get(Attr.OUTPUT_DIR)}", flush=True)
            return False

    def _tell_outcome(self, study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome | None,
                      reason: str | None, wall: float) -> bool:
        if outcome is not None:
            for key, value in trial_attrs(outcome).items():
                trial.set_user_attr(key, json_safe(value))
        if outcome is not None and reason is None and outcome.pruned:
            trial.set_user_attr(Attr.PRUNED_REASON, outcome.pruned)
            _tell(study, trial, state=TrialState.PRUNED)
            print(f"[excolor] trial {trial.number:>4} pruned  {_params(trial.params)}  {_values(study, outcome)}  "
                  f"({outcome.pruned})  {wall:.1f}s", flush=True)
            return True
        if reason is not None or outcome is None:
            trial.set_user_attr(Attr.REASON, reason or "no outcome")
            _tell(study, trial, state=TrialState.FAIL)
            print(f"[excolor] trial {trial.number:>4} FAILED  {_params(trial.params)}  {reason}", flush=True)
            return False
        _tell(study, trial, outcome.objectives)
        print(f"[excolor] trial {trial.number:>4} done  {_params(trial.params)}  {_values(study, outcome)}  "
              f"{FAILED_SEEDS}={outcome.metrics.get(FAILED_SEEDS, 0):.0f}  {wall:.1f}s", flush=True)
        return True

    def _progress(self, finished: int, planned: int | None, total: int | None, study: optuna.Study,
                  started: float, complete_before: int) -> None:
        """Trials done / to do, with the time left at the pace so far: this run's trials, or with
        sweep.total_trials the study's complete trials (all workers together)."""
        elapsed = time.perf_counter() - started
        if planned is None:
            complete = _complete(study)
            gained = complete - complete_before
            left = f", about {_duration(elapsed / gained * max(total - complete, 0))} left" if gained > 0 else ""
            print(f"[excolor] {complete}/{total} complete trials in the study; {_duration(elapsed)} so far{left}",
                  flush=True)
            return
        left = elapsed / max(finished, 1) * (planned - finished)
        print(f"[excolor] {finished}/{planned} trials of this run; {_duration(elapsed)} so far, "
              f"about {_duration(left)} left", flush=True)

    def _study_run(self, study: optuna.Study, url: str, sweep_dir: Path) -> None:
        """With logger=wandb: the study-level W&B run (never fails the sweep)."""
        spec = study_run_spec(self.config.get("logger"))
        if spec is None:
            return
        try:
            print(f"[excolor] W&B study run: {write_study_run(study, url, sweep_dir, spec)}", flush=True)
        except Exception as error:  # tracking must never cost a sweep its record
            log.warning(f"could not write the W&B study run ({type(error).__name__}: {error})")

    def _summarise(self, study: optuna.Study, sweep_dir: Path) -> None:
        """Print the best trial or Pareto front (from the storage) and write the summary file."""
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            return
        best = best_trials(study)
        label = "Pareto front" if len(study.directions) > 1 else "best trial"
        print(f"[excolor] {label} ({len(best)} of {len(complete)} complete trials):", flush=True)
        for t in best:
            values = "  ".join(f"{n}={v:.4g}" for n, v in zip(study.metric_names or [], t.values))
            print(f"[excolor]   #{t.number:>4}  {_params(t.params)}  {values}", flush=True)
        print(f"[excolor] summary: {write_summary(study, sweep_dir)}", flush=True)


def front_of(study: optuna.Study) -> Front:
    """What the batch about to start races against: the study's front as it stands now (every worker's trials)."""
    maximize = [d == optuna.study.StudyDirection.MAXIMIZE for d in study.directions]
    return Front([(t.number, list(t.values)) for t in best_trials(study)], maximize)


def _complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _tell(study: optuna.Study, trial: optuna.Trial, values: Sequence[float] | None = None,
          state: TrialState = TrialState.COMPLETE) -> None:
    """study.tell, tolerating the grid sampler's `study.stop()` once its grid is exhausted."""
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as error:
        if "Study.stop" not in str(error):
            raise
