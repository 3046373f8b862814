"""`hydra/launcher=batched`: trains a whole batch of sweep trials (the sweeper's n_jobs) as one model.

Each job goes through Hydra's own `run_job` to be *prepared* (config checked, output dir and
.hydra/ files written, exactly as the basic launcher does); then every prepared trial, with all its
seeds, is trained in one stacked pass and written to its own output dir. A job whose config is bad
fails alone; the rest of the batch still trains. The sweep command stays the same for the user.
"""

from __future__ import annotations

from typing import Sequence

from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from excolor.experiment import stack_key
from excolor.runner import PreparedTrial, prepare_trial, run_prepared


class BatchedLauncher(Launcher):
    def __init__(self) -> None:
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context

    def _prepare(self, overrides: Sequence[str], job_idx: int) -> JobReturn:
        assert self.config is not None and self.hydra_context is not None
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = str(job_idx)
            sweep_config.hydra.job.num = job_idx
        return run_job(hydra_context=self.hydra_context, task_function=prepare_trial, config=sweep_config,
                       job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        returns = [self._prepare(o, initial_job_idx + i) for i, o in enumerate(job_overrides)]
        ready = [r for r in returns if r.status == JobStatus.COMPLETED]
        groups: dict[str, list[JobReturn]] = {}
        for ret in ready:  # trials that differ in shape (model, data, regularizer set) train apart
            prepared: PreparedTrial = ret.return_value
            groups.setdefault(stack_key(prepared.config, prepared.sheet), []).append(ret)
        for group in groups.values():
            trials = [r.return_value for r in group]
            try:
                outcomes: list[object] = list(run_prepared(trials))
            except Exception as error:  # the whole stacked fit failed: every trial in it failed
                outcomes = [error] * len(group)
            for ret, outcome in zip(group, outcomes):
                ret.return_value = outcome  # a TrialOutcome, or the exception (JobReturn re-raises it)
                if isinstance(outcome, BaseException):
                    ret.status = JobStatus.FAILED
        return returns
