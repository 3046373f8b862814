"""`hydra/launcher=batched`: trains a whole batch of sweep trials (the sweeper's n_jobs) as one model.

Each job goes through Hydra's own `run_job` to be *prepared* (config checked, output dir and
.hydra/ files written, exactly as the basic launcher does); then every prepared trial, with all its
seeds, is trained in one stacked pass and written to its own output dir. A job whose config is bad
fails alone; the rest of the batch still trains. The sweep command stays the same for the user.

`processes` (null: the CPUs this process may use) splits each stack group into that many sub-stacks of
whole trials, trained side by side in worker processes (excolor/sweep/pool.py) kept for the whole sweep; a
member trains bit-identically in any sub-stack, so the split changes wall time, not results.

`race_seeds` (default null: off) races over seeds when trials have more seeds than that: every
trial trains on its first `race_seeds`, then only the trials that the study's front (handed over with
each batch, excolor/sweep/batch.py) does not dominate train on the rest (excolor/sweep/racing.py).
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from excolor.core.domains import SWEEPER_DOMAINS, DomainError, check_values
from excolor.errors import ConfigError
from excolor.run import outputs
from excolor.run.runner import (
    PreparedTrial,
    Trained,
    prepare_trial,
    quiet_libraries,
    run_prepared,
    train,
    trial_failure,
)
from excolor.run.trials import TrialResult, group_by_stack
from excolor.sweep.batch import Batch, Front, SweepPlan
from excolor.sweep.pool import TrainingPool, available_cpus, results, split
from excolor.sweep.racing import first_and_rest, merged, races, verdict

SETTINGS_KEY = "hydra.launcher"
"""Where the launcher's settings live in a config (their domains: excolor/core/domains.py)."""


class BatchedLauncher(Launcher):
    """Hydra's launcher interface (`launch`: every job prepared, then trained together) plus the sweeper's
    hand-over (excolor/sweep/batch.py): `begin` once, then `launch_batch` for each batch."""

    def __init__(self, processes: int | None = None, race_seeds: int | None = None) -> None:
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.processes = processes
        self.race_seeds = race_seeds
        self.pool: TrainingPool | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context

    def begin(self, plan: SweepPlan) -> None:
        """Check `processes` and `race_seeds` (before the study is opened) and start the worker pool now,
        so that its imports overlap the sweep's own set-up."""
        try:
            check_values({f"{SETTINGS_KEY}.processes": self.processes,
                          f"{SETTINGS_KEY}.race_seeds": self.race_seeds}, SWEEPER_DOMAINS)
        except DomainError as error:
            raise ConfigError(str(error)) from None
        if self.processes is not None and self.processes > available_cpus():
            raise ConfigError(f"{SETTINGS_KEY}.processes={self.processes} is more worker processes than the "
                              f"{available_cpus()} CPUs this process may use (they would only wait for each other); "
                              f"allowed: 1..{available_cpus()}, or null for all of them")
        workers = self._workers()
        if workers > 1 and plan.batch_size > 1:
            self.pool = TrainingPool(min(workers, plan.batch_size))
            self.pool.start()
        seeds = (OmegaConf.select(self.config, "trial.seeds") if self.config is not None else None) or []
        if self.race_seeds and len(seeds) > self.race_seeds:
            print(f"[excolor] racing over seeds ({SETTINGS_KEY}.race_seeds={self.race_seeds}): each trial trains "
                  f"on its first {self.race_seeds} seeds, and on the rest only if no trial of the Pareto front "
                  "dominates it (else PRUNED)", flush=True)

    def _workers(self) -> int:
        """How many sub-stacks a stack group is split into (null: the CPUs this process may use)."""
        return available_cpus() if self.processes is None else self.processes

    def _prepare(self, overrides: Sequence[str], job_idx: int) -> JobReturn:
        assert self.config is not None and self.hydra_context is not None
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = str(job_idx)
            sweep_config.hydra.job.num = job_idx
        return run_job(hydra_context=self.hydra_context, task_function=prepare_trial, config=sweep_config,
                       job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Hydra's interface (e.g. a basic multirun over `seed=0,1,2`): the jobs as one batch, no race."""
        return self._launch([list(o) for o in job_overrides], initial_job_idx, None)

    def launch_batch(self, batch: Batch) -> Sequence[JobReturn]:
        return self._launch(batch.jobs, batch.first_job_idx, batch.front)

    def _launch(self, jobs: list[list[str]], first_job_idx: int, front: Front | None) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        returns = [self._prepare(o, first_job_idx + i) for i, o in enumerate(jobs)]
        ready = [r for r in returns if r.status == JobStatus.COMPLETED]
        workers = self._workers()
        if front is not None and self.racing(ready, front):
            self.train_racing(ready, workers, front)
            return returns
        stacks = stacked(ready, workers, lambda ret: ret.return_value)
        if workers == 1 or len(stacks) == 1:
            for stack in stacks:
                self._finish(stack, None)
        else:
            self.train_in_workers(stacks, workers)
        return returns

    def train_in_workers(self, stacks: list[list[JobReturn]], workers: int) -> None:
        """Every sub-stack goes to the pool at once; results are written in order as they arrive."""
        pool = self._pool(workers)
        futures: list[Future] = []
        dirs = [[r.return_value.output_dir for r in stack] for stack in stacks]
        finished = 0
        try:
            for stack, stack_dirs in zip(stacks, dirs):
                for output_dir in stack_dirs:
                    outputs.mark_status(output_dir, "running")
                futures.append(pool.submit([r.return_value for r in stack]))
            print(f"[excolor] batch of {sum(map(len, stacks))} trials: {len(stacks)} sub-stacks on "
                  f"{min(pool.processes, len(stacks))} worker processes", flush=True)
            for stack, future in zip(stacks, futures):
                self._finish(stack, lambda future=future: results(future))
                finished += 1
        except BaseException as error:  # Ctrl-C / SIGTERM: no worker outlives the launcher
            self.stop_pool()
            if isinstance(error, KeyboardInterrupt):
                outputs.mark_interrupted([d for stack_dirs in dirs[finished:] for d in stack_dirs])
            raise
        self._stop_if_broken(futures)

    def racing(self, ready: list[JobReturn], front: Front) -> bool:
        """Whether this batch races: a race is configured, there is a front to lose to (the first batch of a
        study has none: it trains in one stage) and some trial has seeds beyond the first ones."""
        return bool(self.race_seeds) and bool(front.trials) and any(
            races(r.return_value, self.race_seeds) for r in ready)

    def train_racing(self, ready: list[JobReturn], workers: int, front: Front) -> None:
        """Every trial on its first seeds; the ones no front trial dominates on the rest; then each
        trial's outputs and outcome, as `_finish` writes them without racing."""
        first_seeds = self.race_seeds
        assert first_seeds is not None
        dirs = [r.return_value.output_dir for r in ready]
        finished = 0
        try:
            for output_dir in dirs:
                outputs.mark_status(output_dir, "running")
            trials: list[PreparedTrial] = [r.return_value for r in ready]
            stages = [first_and_rest(t, first_seeds) for t in trials]
            first = self._fit([head for head, _ in stages], workers)
            going = []
            for i, (result, (_, more)) in enumerate(zip(first, stages)):
                if more is None or not isinstance(result, TrialResult) or trial_failure(result) is not None:
                    continue  # it ran all its seeds, or it failed: its record is complete as it stands
                result.pruned = verdict(front, result)
                if result.pruned is None:
                    going.append(i)
            rest = self._fit([stages[i][1] for i in going], workers)
            final: list[TrialResult | BaseException] = list(first)
            for i, result in zip(going, rest):
                head = first[i]
                assert isinstance(head, TrialResult)
                final[i] = merged(trials[i], head, result) if isinstance(result, TrialResult) else result
            print(f"[excolor] race: {len(going)} of {len(trials)} trials go on past their first {first_seeds} "
                  "seeds; the rest end PRUNED", flush=True)
            for ret, result in zip(ready, final):
                self._finish([ret], lambda result=result: [_value(result)])
                finished += 1
        except BaseException as error:  # Ctrl-C / SIGTERM: no worker outlives the launcher
            self.stop_pool()
            if isinstance(error, KeyboardInterrupt):
                outputs.mark_interrupted(dirs[finished:])
            raise

    def _fit(self, trials: list[PreparedTrial], workers: int) -> list[TrialResult | BaseException]:
        """Train `trials` (stacked by shape, split over the workers); each one's result, in order, or the
        exception that failed its stack."""
        stacks = stacked(trials, workers, lambda t: t)
        if any(t.config.outputs.quiet for t in trials):
            quiet_libraries()
        if workers == 1 or len(stacks) <= 1:
            outcomes = [_attempt(lambda stack=stack: train(stack)) for stack in stacks]
        else:
            pool = self._pool(workers)
            futures = [pool.submit(stack) for stack in stacks]
            outcomes = [_attempt(lambda future=future: results(future)) for future in futures]
            self._stop_if_broken(futures)
        by_trial: dict[int, TrialResult | BaseException] = {}
        for stack, outcome in zip(stacks, outcomes):
            for k, trial in enumerate(stack):
                by_trial[id(trial)] = outcome if isinstance(outcome, BaseException) else outcome[k]
        return [by_trial[id(t)] for t in trials]

    def _pool(self, workers: int) -> TrainingPool:
        """The sweep's worker pool (started in `setup`), or a new one after `stop_pool`."""
        if self.pool is None:
            self.pool = TrainingPool(workers)
        return self.pool

    def _stop_if_broken(self, futures: list[Future]) -> None:
        """A worker died (e.g. OOM-killed): its trials failed with that reason; the next fit gets fresh workers."""
        if any(isinstance(f.exception(), BrokenProcessPool) for f in futures):
            self.stop_pool()

    def stop_pool(self) -> None:
        """Kill the workers now (Ctrl-C, a dead worker); the next batch starts fresh ones."""
        if self.pool is not None:
            self.pool.stop()
            self.pool = None

    @staticmethod
    def _finish(stack: list[JobReturn], trained: Trained | None) -> None:
        """Train (or receive) one stack's results, write its outputs; each job returns its outcome."""
        trials = [r.return_value for r in stack]
        try:
            outcomes: list[object] = list(run_prepared(trials, trained=trained))
        except Exception as error:  # the whole stacked fit failed: every trial in it failed
            outcomes = [error] * len(stack)
        for ret, outcome in zip(stack, outcomes):
            ret.return_value = outcome  # a TrialOutcome, or the exception (JobReturn re-raises it)
            if isinstance(outcome, BaseException):
                ret.status = JobStatus.FAILED


def stacked(items: list, workers: int, prepared_of: Callable[[Any], PreparedTrial]) -> list[list]:
    """Items grouped by what must be equal to train together (model, data, regularizer set), each group
    split into at most `workers` sub-stacks of whole trials."""
    return [stack for group in group_by_stack(items, prepared_of) for stack in split(group, workers)]


def _attempt(train: Callable[[], list[TrialResult]]) -> list[TrialResult] | BaseException:
    """A stack's results, or the exception that failed it (Ctrl-C still propagates)."""
    try:
        return train()
    except Exception as error:
        return error


def _value(result: TrialResult | BaseException) -> TrialResult:
    if isinstance(result, BaseException):
        raise result
    return result
