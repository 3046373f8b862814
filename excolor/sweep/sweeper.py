"""`hydra/sweeper=excolor`: an Optuna study loop for concept-deletion sweeps, on public APIs only.

It keeps the keys of Hydra's Optuna sweeper config (sampler, storage, study_name, n_trials, n_jobs,
max_failure_rate, params) and adds what a sweep's record needs:
- the space follows the selected regularizers (excolor/sweep/space.py); directions and metric names come
  from the run's `objectives`;
- every trial is identified by its Optuna number: its directory `<hydra.sweep.dir>/<number>`, its
  W&B run, its attributes (excolor/study/records.py), whichever worker runs it and however often it resumes;
- a trial's outcome comes back from the launcher as a value (excolor.run.outcome.TrialOutcome): metrics,
  per-seed values and a failure reason are kept on the trial, failed or not;
- every asked trial ends COMPLETE, PRUNED or FAIL with its reason (excolor/sweep/ledger.py);
- workers record heartbeats; each batch first fails the trials of dead ones (`abandoned`);
- a study keeps the settings it was created with; a sweep that would mix others onto it is refused;
- the sweep-level summary is computed from the storage and written atomically.
The loop itself is excolor/sweep/loop.py; what it prints, excolor/sweep/progress.py.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import optuna
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.run.build import TargetError, build
from excolor.run.concept import expand_poles
from excolor.run.config import concept_of
from excolor.run.trials import build_schedule, trained_steps, trial_seeds
from excolor.study.records import CONCEPT_ATTR, write_summary
from excolor.study.settings import keep_settings, sweep_settings
from excolor.study.storage import open_storage, open_study, shown_url
from excolor.study.wandb_run import study_run_spec, write_study_run
from excolor.sweep import progress
from excolor.sweep.batch import BatchLauncher, SweepPlan
from excolor.sweep.ledger import reason_of
from excolor.sweep.loop import Loop, Plan
from excolor.sweep.preflight import check_dependencies, check_study_name, check_sweep
from excolor.sweep.space import SearchSpace, parse_space, weight_space

log = logging.getLogger(__name__)
SAMPLER_TARGETS = ("optuna.samplers.*", "hydra_plugins.hydra_optuna_sweeper.*", "excolor.*")
"""Where a `hydra.sweeper.sampler._target_` may point."""


def build_sampler(node: DictConfig, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The configured sampler; a grid sampler gets the space's grid."""
    spec = OmegaConf.to_container(node, resolve=True)
    extra = {"search_space": space.grid()} if str(spec.get("_target_", "")).endswith("GridSampler") else {}
    try:
        return build(spec, SAMPLER_TARGETS, **extra)
    except (TargetError, ValueError, ImportError) as error:
        raise ConfigError(f"hydra.sweeper.sampler: {error}") from None


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
        except (OSError, ImportError) as error:  # a full disk, a dependency that fails late: the study is kept
            print(f"excolor: the sweep stopped: {reason_of(error)}. Every trial it asked for is recorded (the "
                  "unfinished ones FAILED with this reason) and every finished trial is kept; fix the cause and "
                  "run the same command again to continue the study", file=sys.stderr)
            raise SystemExit(1) from None

    def _sweep(self, arguments: list[str]) -> None:
        config = self.config
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours to print
        base = check_sweep(config, self.n_trials, self.n_jobs, self.max_failure_rate)  # before the study is opened
        check_study_name(self.study_name)
        check_dependencies(self.sampler_config, self.storage_url)
        if isinstance(self.launcher, BatchLauncher):
            self.launcher.begin(SweepPlan(batch_size=self.n_jobs))
        objectives = {name: direction.value for name, direction in base.objectives.items()}
        concept = concept_of(base)
        params = expand_poles([f"{k}={v}" for k, v in (self.params or {}).items()], concept)
        space = parse_space([*weight_space(config), *params, *arguments], list(config.regularizers))
        sampler = build_sampler(self.sampler_config, space)
        if not self.storage_url:
            raise ConfigError("hydra.sweeper.storage is empty: give a URL, e.g. sqlite:///multirun/optuna.db")
        url = str(self.storage_url)
        storage = open_storage(url, key="hydra.sweeper.storage")
        study = open_study(storage, str(self.study_name), list(objectives.values()), sampler, list(objectives))
        allowed = keep_settings(study, sweep_settings(
            experiment=base.name, concept=concept.name, sweep=base.sweep.name, objectives=objectives,
            seeds=trial_seeds(base), n_steps=trained_steps(base, build_schedule(base)), space=space.record(),
            sampler=OmegaConf.to_container(self.sampler_config, resolve=True)), base.sweep.mix)
        for change in allowed:
            progress.say(f"continuing study {study.study_name!r} with other settings (sweep.mix=true): {change}")
        study.set_user_attr(CONCEPT_ATTR, concept.name)
        if len(study.trials):  # a seeded sampler would otherwise replay the same start-up points on every resume
            sampler.reseed_rng()
        sweep_dir = Path(config.hydra.sweep.dir)
        total = base.sweep.total_trials
        goal = f"topping up to {total} complete" if total is not None else f"adding {self.n_trials}"
        progress.say(f"study {study.study_name!r} in {shown_url(url)}: {len(study.trials)} trial(s) so far; {goal}; "
                     f"objectives {objectives}; trials in {sweep_dir}/<number>")
        progress.say(f"space: {space.describe()}")
        plan = Plan(self.n_jobs, None if total is not None else self.n_trials, total, base.sweep.heartbeat_s,
                    base.sweep.grace_s, self.max_failure_rate)
        try:
            tally = Loop(study, storage, url, space, sweep_dir, self.launcher, plan).run()
        finally:  # the record of what ran, also when the sweep stops early (Ctrl-C, a full disk)
            self._summarise(study, sweep_dir)
        self._study_run(study, url, sweep_dir)
        if tally.done == 0 and tally.failed:
            raise SystemExit(f"excolor: every trial of this sweep failed ({tally.failed}); see the reasons above")

    def _study_run(self, study: optuna.Study, url: str, sweep_dir: Path) -> None:
        """With logger=wandb: the study-level W&B run (never fails the sweep)."""
        spec = study_run_spec(self.config.get("logger"))
        if spec is None:
            return
        try:
            progress.say(f"W&B study run: {write_study_run(study, url, sweep_dir, spec)}")
        except Exception as error:  # tracking must never cost a sweep its record
            log.warning(f"could not write the W&B study run ({type(error).__name__}: {error})")

    def _summarise(self, study: optuna.Study, sweep_dir: Path) -> None:
        """Print the best trial or Pareto front (from the storage) and write the summary file (best effort:
        when the sweep stops on a full disk, the storage keeps the record)."""
        try:
            lines = progress.front_lines(study)
            for line in lines:
                progress.say(line)
            if lines:
                progress.say(f"summary: {write_summary(study, sweep_dir)}")
        except OSError as error:  # print, not log: the log file may be on the full disk
            print(f"excolor: could not write the summary in {sweep_dir} ({error.strerror or error}); the study "
                  "holds every result", file=sys.stderr)
