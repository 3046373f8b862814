"""`hydra/sweeper=excolor`: Hydra's Optuna sweeper, adapted to concept-deletion studies.

What it adds to the stock 1.4 sweeper (whose keys n_trials, storage, study_name, n_jobs, sampler and
params all keep working as documented):
- the search space follows the selected regularizers: every `regularizers.<name>.weight` is searched
  on a log scale over `sweep.weight_range` (or `sweep.ranges.<name>`), no YAML edit needed;
- directions come from the run's `objectives` (metric: minimize|maximize), one source of truth;
- a trial that raises or whose loss goes non-finite is recorded FAILED with its reason, the sweep
  goes on, and it ends non-zero only when every trial failed;
- each trial's metrics, per-seed values and failed-seed count are saved as Optuna user attributes,
  trials left RUNNING by a killed sweep are marked failed on resume, and one line per finished
  trial is printed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Sequence

import optuna
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl, create_params_from_overrides
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from excolor import outputs
from excolor.config import ConfigError
from excolor.preflight import check_sweep

log = logging.getLogger(__name__)
WORKER_ATTR = "excolor_worker"
REASON_ATTR = "fail_reason"


def weight_key(regularizer: str) -> str:
    return f"regularizers.{regularizer}.weight"


def weight_space(config: DictConfig) -> list[str]:
    """`regularizers.<name>.weight=tag(log, interval(lo, hi))` for every selected regularizer."""
    sweep = config.get("sweep") or {}
    selected = list(config.regularizers)
    ranges = dict(sweep.get("ranges") or {})
    unknown = sorted(set(ranges) - set(selected))
    if unknown:
        raise ConfigError(
            f"sweep.ranges names {unknown}, which this run does not select; selected regularizers: {selected} "
            f"(add one with regularizers=[...] or drop it from sweep.ranges)"
        )
    default = sweep.get("weight_range")
    space = []
    for name in selected:
        bounds = ranges.get(name, default)
        if bounds is None:
            continue
        if len(bounds) != 2:
            key = f"sweep.ranges.{name}" if name in ranges else "sweep.weight_range"
            raise ConfigError(f"{key}={list(bounds)} must be [low, high]")
        low, high = bounds
        space.append(f"{weight_key(name)}=tag(log, interval({float(low)}, {float(high)}))")
    return space


def check_space(distributions: dict[str, BaseDistribution], selected: Sequence[str]) -> None:
    """A searched regularizer must be selected; a range must be non-empty; a log range must be > 0."""
    for key, dist in distributions.items():
        parts = key.split(".")
        if parts[0] == "regularizers" and len(parts) > 1 and parts[1] not in selected:
            raise ConfigError(f"the sweep space searches {key}, but regularizer {parts[1]!r} is not selected; "
                              f"selected: {list(selected)}")
        if isinstance(dist, (FloatDistribution, IntDistribution)):
            if dist.low >= dist.high:
                raise ConfigError(f"the sweep space for {key} is empty: low={dist.low} >= high={dist.high}")
            if dist.log and dist.low <= 0:
                raise ConfigError(f"the sweep space for {key} is log-scaled but includes {dist.low} <= 0")


def parse_space(overrides: list[str]) -> tuple[dict[str, BaseDistribution], dict[str, Any], list[str]]:
    """Hydra's sweep syntax -> Optuna distributions; a bad range names its key."""
    for override in overrides:
        try:
            create_params_from_overrides([override])
        except ValueError as error:
            key = override.split("=", 1)[0]
            raise ConfigError(f"the sweep space for {key} is invalid ({override!r}): {error} "
                              "(a range needs low < high, and a log range low > 0)") from None
    return create_params_from_overrides(overrides)


SQLITE_BUSY_TIMEOUT_S = 60
"""How long a worker waits for another to release a SQLite study before failing."""


def storage_for(url: str | None) -> Any:
    """Optuna RDB storage; SQLite gets a busy timeout so concurrent workers queue instead of failing."""
    if url is None:
        return None
    engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}} if str(url).startswith("sqlite") else {}
    return optuna.storages.RDBStorage(str(url), engine_kwargs=engine_kwargs)


def open_study(storage: str | None, name: str, directions: list[str], sampler: Any) -> optuna.Study:
    """Create or continue (load_if_exists) the study; a bad storage URL is a clear error."""
    for attempt in range(3):  # workers starting together may race to create the study: the loser loads it
        try:
            return optuna.create_study(study_name=name, storage=storage_for(storage), sampler=sampler,
                                       directions=directions, load_if_exists=True)
        except ValueError as error:  # e.g. directions differ from the stored study
            raise ConfigError(f"hydra.sweeper.study_name={name}: {error}") from None
        except Exception as error:  # sqlalchemy / driver errors
            if attempt < 2 and type(error).__name__ in ("IntegrityError", "DuplicatedStudyError"):
                time.sleep(1.0 + attempt)
                continue
            raise ConfigError(
                f"hydra.sweeper.storage={storage!r} cannot be opened "
                f"({type(error).__name__}: {str(error).splitlines()[0]}); "
                "use sqlite:///path/to/file.db or postgresql://user:pass@host/db"
            ) from None
    raise AssertionError("unreachable")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_abandoned_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials whose worker process (on this host) is gone as FAILED; returns how many."""
    host = socket.gethostname()
    count = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.system_attrs.get(WORKER_ATTR) or {}
        if worker.get("host") == host and not _alive(int(worker.get("pid", -1))):
            study._storage.set_trial_user_attr(trial._trial_id, REASON_ATTR, "abandoned: its sweep process died")
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            count += 1
    return count


def trial_record(ret: JobReturn) -> tuple[dict[str, Any], str | None]:
    """User attributes for a finished job (metrics, per-seed values, output dir) and its failure reason."""
    output_dir = Path(ret.hydra_cfg.hydra.runtime.output_dir)  # set by run_job before the task runs
    attrs: dict[str, Any] = {"output_dir": str(output_dir)}
    if ret.status != JobStatus.COMPLETED:
        return attrs, f"{type(ret._return_value).__name__}: {ret._return_value}"
    metrics_path = output_dir / outputs.METRICS_FILE
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        attrs.update({k: v for k, v in metrics.items() if not k.startswith("named_") or k == "named_red_after"})
        seeds = json.loads((output_dir / outputs.SEED_METRICS_FILE).read_text())
        for key in ("red_mse", "collateral_mse", "selectivity"):
            attrs[f"seeds_{key}"] = [s.get(key) for s in seeds]
        attrs["seeds"] = [s["seed"] for s in seeds]
    return attrs, None


class StudyRunner(OptunaSweeperImpl):
    """The sweep loop: ask a batch, launch it, record every outcome, repeat."""

    def sweep(self, arguments: list[str]) -> None:
        config = self.config
        check_sweep(config, self.n_trials, self.n_jobs, self.max_failure_rate)  # before the study is opened
        directions = list(OmegaConf.to_container(config.objectives, enum_to_str=True).values())
        self._process_searchspace_config()
        overrides = weight_space(config) + self._parse_sweeper_params_config() + list(arguments)
        distributions, fixed, fixed_overrides = parse_space(overrides)
        for name in fixed:
            distributions.pop(name, None)
        check_space(distributions, list(config.regularizers))
        if not distributions:
            raise ConfigError("the sweep space is empty: set sweep.weight_range or hydra.sweeper.params")

        if not isinstance(self.sampler, optuna.samplers.BaseSampler):  # grid: built from the space, as Hydra does
            grid = {name: self._to_grid_sampler_choices(d) for name, d in distributions.items()}
            self.sampler = self.sampler(grid)
            self.n_trials = min(self.n_trials, math.prod(len(choices) for choices in grid.values()))
        study = open_study(self.storage, self.study_name, directions, self.sampler)
        abandoned = fail_abandoned_trials(study)
        if abandoned:
            log.warning(f"marked {abandoned} trial(s) left RUNNING by a dead sweep process as FAILED")
        before = len(study.trials)
        if before:  # a seeded sampler would otherwise replay the same start-up points on every resume
            self.sampler.reseed_rng()
        total = (config.get("sweep") or {}).get("total_trials")
        goal = f"topping up to {total} complete" if total is not None else f"adding {self.n_trials}"
        print(f"[excolor] study {study.study_name!r} in {self.storage}: {before} trial(s) so far; "
              f"{goal}; objectives {dict(zip(config.objectives, directions))}", flush=True)
        print(f"[excolor] space: {', '.join(f'{k}~{d}' for k, d in distributions.items())}", flush=True)

        worker = {"host": socket.gethostname(), "pid": os.getpid()}
        n_completed = n_failed = 0
        to_go = self.n_trials
        while True:
            if total is not None:  # resume-to-target: top the study up to `total` complete trials
                states = [t.state for t in study.get_trials(deepcopy=False)]
                to_go = total - states.count(TrialState.COMPLETE) - states.count(TrialState.RUNNING)
                if n_failed > 2 * total:  # failures never count towards the target: do not loop forever
                    log.error(f"stopping: {n_failed} trials failed while topping up to {total}")
                    break
            if to_go <= 0:
                break
            batch = min(to_go, self.n_jobs)
            trials = [study.ask() for _ in range(batch)]
            for trial in trials:
                study._storage.set_trial_system_attr(trial._trial_id, WORKER_ATTR, worker)
            started = time.perf_counter()
            job_overrides = self._configure_trials(trials, distributions, fixed, fixed_overrides)
            returns = self.launcher.launch(job_overrides, initial_job_idx=self.job_idx)
            self.job_idx += len(returns)
            wall = (time.perf_counter() - started) / max(len(returns), 1)
            for trial, ret in zip(trials, returns):
                attrs, reason = trial_record(ret)
                for key, value in attrs.items():
                    trial.set_user_attr(key, value)
                values = None if reason else _values(ret.return_value, len(directions))
                if values is None or not all(math.isfinite(v) for v in values):
                    reason = reason or f"non-finite objectives {ret.return_value}"
                    trial.set_user_attr(REASON_ATTR, reason)
                    _tell(study, trial, state=TrialState.FAIL)
                    n_failed += 1
                    print(f"[excolor] trial {trial.number:>4} FAILED  {_params(trial.params)}  {reason}", flush=True)
                else:
                    _tell(study, trial, values)
                    n_completed += 1
                    shown = "  ".join(f"{k}={v:.4g}" for k, v in zip(config.objectives, values))
                    print(f"[excolor] trial {trial.number:>4} done  {_params(trial.params)}  {shown}  "
                          f"failed_seeds={attrs.get('failed_seeds', 0):.0f}  {wall:.1f}s", flush=True)
            if total is None:
                to_go -= batch

        self._summarise(study, directions)
        if n_completed == 0 and n_failed:
            raise SystemExit(f"excolor: every trial of this sweep failed ({n_failed}); see the reasons above")

    def _summarise(self, study: optuna.Study, directions: list[str]) -> None:
        """Print and save the best trial (one objective) or the Pareto front (several)."""
        complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
        if not complete:
            return
        best = study.best_trials if len(directions) > 1 else [study.best_trial]
        label = "Pareto front" if len(directions) > 1 else "best trial"
        print(f"[excolor] {label} ({len(best)} of {len(complete)} complete trials):", flush=True)
        for t in best:
            print(f"[excolor]   #{t.number:>4}  {_params(t.params)}  values={[round(v, 6) for v in t.values]}", flush=True)
        results = {"study": study.study_name, "storage": str(self.storage), "directions": directions,
                   label.replace(" ", "_"): [{"number": t.number, "params": t.params, "values": t.values} for t in best]}
        Path(self.sweep_dir).mkdir(parents=True, exist_ok=True)
        outputs.write_text(Path(self.sweep_dir) / "optimization_results.yaml", OmegaConf.to_yaml(results))


def _tell(study: optuna.Study, trial: optuna.Trial, values: list[float] | None = None,
          state: TrialState = TrialState.COMPLETE) -> None:
    """study.tell, tolerating the grid sampler's `study.stop()` once its grid is exhausted."""
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as error:
        if "Study.stop" not in str(error):
            raise


def _values(value: Any, n: int) -> list[float] | None:
    try:
        values = [float(value)] if n == 1 and not isinstance(value, (list, tuple)) else [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return values if len(values) == n else None


def short_name(param: str) -> str:
    """`regularizers.anchor.weight` -> `anchor`; other parameters keep their full key."""
    return param.removeprefix("regularizers.").removesuffix(".weight")


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{short_name(k)}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


class ExcolorSweeper(Sweeper):
    """Hydra plugin entry: same constructor as the stock Optuna sweeper."""

    def __init__(self, sampler: Any, direction: Any, storage: Any | None, study_name: str | None, n_trials: int,
                 n_jobs: int, max_failure_rate: float, custom_search_space: str | None,
                 params: DictConfig | None) -> None:
        sampler = instantiate(sampler, _execution_whitelist_=("hydra_plugins.hydra_optuna_sweeper.*",
                                                              "optuna.samplers.*", "excolor.*"))
        self.runner = StudyRunner(sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate,
                                  custom_search_space, params)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.runner.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        try:
            self.runner.sweep(arguments)
        except ConfigError as error:
            raise SystemExit(f"excolor: sweep configuration error: {error}") from None
