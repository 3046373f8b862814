"""One straight line from validated configs to scored trials: build, fit, evaluate, ablate, evaluate.

A *trial* is one configuration scored over its seeds; a *member* is one (trial, seed) pair. All
members of a call train together as one stacked model (M = trials x seeds). A single run is one
trial with one seed.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import lightning as L
import torch

from excolor.core.ablation import ERASERS, AblationConfig, ErasedModel, apply_ablation, fit_set
from excolor.core.data import ColorDataModule
from excolor.core.memory import ResourceError, check_fits, run_needs
from excolor.core.metric_names import COLLATERAL, FAILED_SEEDS, N_SEEDS, RECON, higher_is_better
from excolor.core.metrics import MemberReport, evaluate
from excolor.core.model import ColorMLP
from excolor.core.regularizers import Context, Regularizer
from excolor.core.schedule import Dopesheet, ScheduleError, load_schedule
from excolor.core.training import ConceptDeletionModule, MemberSchedules, fit
from excolor.errors import ConfigError
from excolor.run.build import built_regularizer
from excolor.run.config import Aggregate, ExcolorConfig, concept_of, group_options

T = TypeVar("T")


@dataclass
class SeedResult:
    seed: int
    report: MemberReport | None
    failure: str | None = None


@dataclass
class TrialResult:
    """What a trial produced: per-seed reports, aggregated metrics, its objectives."""

    config: ExcolorConfig
    seeds: list[SeedResult]
    metrics: dict[str, float]
    objectives: list[float]
    failed_seeds: int
    model: ColorMLP | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    wall_s: float = 0.0
    pruned: str | None = None  # why a race over seeds stopped it after its first seeds (excolor/sweep/racing.py)
    ablated: ColorMLP | ErasedModel | None = None  # `model` after deletion (what the plots show)

    @property
    def first_report(self) -> MemberReport | None:
        """The first scored seed's report (the one outputs and plots show)."""
        return next((s.report for s in self.seeds if s.report is not None), None)

    @property
    def failure(self) -> str | None:
        """Why the trial cannot be scored (every seed failed), else None."""
        if any(s.report is not None for s in self.seeds):
            return None
        return "; ".join(f"seed {s.seed}: {s.failure}" for s in self.seeds)


def trial_seeds(config: ExcolorConfig) -> list[int]:
    return list(config.trial.seeds) if config.trial.seeds else [config.seed]


def build_regularizers(config: ExcolorConfig) -> dict[str, Regularizer]:
    """Instantiate every selected regularizer; a bad parameter names regularizers.<name>."""
    context = Context(k_bottleneck=config.model.k_bottleneck, concept=concept_of(config))
    return {name: built_regularizer(settings, context, config.plugins, f"regularizers.{name}")
            for name, settings in config.regularizers.items()}


def build_schedule(config: ExcolorConfig) -> Dopesheet:
    """The run's dopesheet, its column names checked against the known regularizers."""
    try:
        sheet = load_schedule(config.schedule)
        known = set(group_options("regularizers")) | set(config.regularizers)  # a column may name any preset
        sheet.check_names(known=known, selected=set(config.regularizers))
    except ScheduleError as error:
        raise ConfigError(str(error)) from None
    check_memory([config], [sheet])
    return sheet


def check_memory(configs: list[ExcolorConfig], sheets: list[Dopesheet]) -> None:
    """Fail before allocating anything when the members trained together cannot fit in memory."""
    members = sum(len(trial_seeds(c)) for c in configs)
    try:
        check_fits(run_needs(configs[0], max(s.n_steps for s in sheets), members))
    except ResourceError as error:
        raise ConfigError(str(error)) from None


def stack_key(config: ExcolorConfig, sheet: Dopesheet) -> str:
    """What must be equal for two trials to share one stacked model (weights, schedule, labels may differ)."""
    regs = {name: dataclasses.replace(r, weight=0.0) for name, r in config.regularizers.items()}
    return repr((config.concept, config.model, config.data, regs, list(config.labels.concepts), config.labels.hard,
                 config.ablation, config.eval, config.trainer, sheet.n_steps))


def group_by_stack(items: list[T], prepared_of: Callable[[T], Any]) -> list[list[T]]:
    """`items` grouped (in order) by what must be equal to train together (`stack_key` of the config and
    dopesheet that `prepared_of(item)` carries as `.config` and `.sheet`)."""
    groups: dict[str, list[T]] = {}
    for item in items:
        prepared = prepared_of(item)
        groups.setdefault(stack_key(prepared.config, prepared.sheet), []).append(item)
    return list(groups.values())


def check_stackable(configs: list[ExcolorConfig], sheets: list[Dopesheet]) -> None:
    keys = {stack_key(config, sheet) for config, sheet in zip(configs, sheets)}
    if len(keys) > 1:
        raise ConfigError("trials trained together must share model, data, label names, regularizer set, "
                          "evaluation and number of steps")


def member_schedules(trials: list[tuple[ExcolorConfig, Dopesheet, list[int]]]) -> MemberSchedules:
    """Per-member lr and weight tables: weight multiplier x the schedule's track (1 where absent)."""
    lr_rows, weight_rows = [], {name: [] for name in trials[0][0].regularizers}
    for config, sheet, seeds in trials:
        tracks = {name: torch.tensor(values, dtype=torch.float32) for name, values in sheet.resolve().items()}
        if "lr" not in tracks:
            raise ConfigError("the schedule has no `lr` track: add an lr column/keyframe")
        for _ in seeds:
            lr_rows.append(tracks["lr"] * config.schedule.lr_scale)
            for name in weight_rows:
                multiplier = float(config.regularizers[name].weight)
                track = tracks.get(name, torch.ones(sheet.n_steps))
                weight_rows[name].append(track * multiplier)
    return MemberSchedules(torch.stack(lr_rows), {n: torch.stack(rows) for n, rows in weight_rows.items()})


def aggregate(values: list[float], rule: Aggregate, higher_is_better: bool) -> float:
    """Combine one metric over seeds: median, mean, worst or second-worst for its direction."""
    if not values:
        return math.nan
    if rule is Aggregate.median:
        return statistics.median(values)
    if rule is Aggregate.mean:
        return statistics.fmean(values)
    ordered = sorted(values, reverse=not higher_is_better)  # worst first
    return ordered[0] if rule is Aggregate.worst or len(ordered) == 1 else ordered[1]


def seed_failed(report: MemberReport, threshold: float) -> str | None:
    """SPEC's failure: collateral damage above the threshold, or no reconstruction at all."""
    recon, collateral = report.metrics[RECON], report.metrics[COLLATERAL]
    if not math.isfinite(recon) or recon > threshold:
        return f"no reconstruction ({RECON}={recon:.3g} > {threshold})"
    if collateral > threshold:
        return f"collateral damage ({COLLATERAL}={collateral:.3g} > {threshold})"
    return None


def summarise(config: ExcolorConfig, seeds: list[SeedResult]) -> tuple[dict[str, float], list[float], int]:
    """Aggregated metrics (plus spread and failure counts) and the trial's objectives."""
    scored = [s.report.metrics for s in seeds if s.report is not None]
    failed = sum(1 for s in seeds if s.report is None or seed_failed(s.report, config.trial.fail_threshold))
    metrics: dict[str, float] = {}
    for key in scored[0] if scored else []:
        values = [m[key] for m in scored]
        metrics[key] = aggregate(values, config.trial.aggregate, higher_is_better(key, config.concept.name))
        if len(seeds) > 1:
            metrics[f"{key}_min"], metrics[f"{key}_max"] = min(values), max(values)
    metrics[N_SEEDS] = len(seeds)
    metrics[FAILED_SEEDS] = failed
    objectives = [metrics.get(name, math.nan) for name in config.objectives]
    return metrics, objectives, failed


def trained_steps(config: ExcolorConfig, sheet: Dopesheet) -> int:
    """How many steps a run trains: `trainer.max_steps` when set, else its dopesheet's length."""
    max_steps = config.trainer.get("max_steps")
    return int(max_steps) if max_steps and max_steps > 0 else sheet.n_steps


def deleted(model: ColorMLP, config: ExcolorConfig, data: ColorDataModule) -> ColorMLP | ErasedModel:
    """The trained members after deletion: dims zeroed or pruned, or a post-hoc eraser fitted per member on
    the latents of the samples it trained on, with their labels of the concept's poles."""
    if config.ablation.method not in ERASERS:
        return apply_ablation(model, config.ablation)
    assert data.dataset is not None, "the data module is set up by the fit"
    fit = fit_set(model, config.ablation.layer, data.dataset, len(config.concept.poles))
    return apply_ablation(model, config.ablation, fit)


@dataclass
class Fitted:
    """Trials trained as one stacked model, before any deletion: what `score` evaluates (any number of
    times, with other ablations: a post-hoc eraser is fitted on `data`, the samples each member saw)."""

    plan: list[tuple[ExcolorConfig, Dopesheet, list[int]]]  # each trial: config, dopesheet, seeds
    model: ColorMLP
    data: ColorDataModule
    module: ConceptDeletionModule
    started: float  # time.perf_counter() when training began

    @property
    def seeds(self) -> list[int]:
        return [seed for _, _, trial in self.plan for seed in trial]


def fit_trials(configs: list[ExcolorConfig], logger: Any = None, progress: bool = False,
               sheets: list[Dopesheet] | None = None, regularizers: dict[str, Regularizer] | None = None) -> Fitted:
    """Train every (trial, seed) as one stacked model.

    `sheets`, `regularizers`: the trials' dopesheets and the first trial's regularizers when the caller
    has built them already, checking its input (built here otherwise).
    """
    started = time.perf_counter()
    sheets = sheets or [build_schedule(c) for c in configs]
    check_stackable(configs, sheets)
    check_memory(configs, sheets)
    regularizers = regularizers or build_regularizers(configs[0])
    plan = [(c, s, trial_seeds(c)) for c, s in zip(configs, sheets)]
    seeds = [seed for _, _, trial in plan for seed in trial]
    schedules = member_schedules(plan).resized(trained_steps(configs[0], sheets[0]))
    labels = [c.labels for c, _, trial in plan for _ in trial]

    L.seed_everything(seeds[0], workers=False, verbose=False)
    model = ColorMLP(configs[0].model, seeds)
    data = ColorDataModule(configs[0].data, labels, seeds, schedules.n_steps)
    module = ConceptDeletionModule(model, regularizers, schedules, list(configs[0].labels.concepts),
                                   history_every=configs[0].trainer.get("log_every_n_steps") or 50)
    fit(module, data, configs[0].trainer, logger, progress)
    model.eval()
    return Fitted(plan, model, data, module, started)


def score(fitted: Fitted, ablation: AblationConfig | None = None) -> list[TrialResult]:
    """Delete (the trials' own ablation, or `ablation`: dims null means the concept's, as the trials were
    configured), evaluate and score each trial of a fitted stack."""
    config = fitted.plan[0][0]
    if ablation is not None:
        if ablation.dims is None:
            ablation = dataclasses.replace(ablation, dims=config.ablation.dims)
        config = dataclasses.replace(config, ablation=ablation)
    model, module = fitted.model, fitted.module
    ablated = deleted(model, config, fitted.data)
    reports = evaluate(model.reconstruct, ablated.reconstruct, config.eval, concept_of(config))
    wall = time.perf_counter() - fitted.started
    failures = getattr(ablated, "failures", [None] * len(fitted.seeds))  # an eraser that could not be fitted

    results, member = [], 0
    for trial_config, _, trial in fitted.plan:
        if ablation is not None:
            trial_config = dataclasses.replace(trial_config, ablation=ablation)
        seed_results = []
        for seed in trial:
            reason = module.failure_reason[member] or failures[member]
            seed_results.append(SeedResult(seed, None if reason else reports[member], reason))
            member += 1
        scored = [i for i, s in enumerate(seed_results) if s.report is not None]
        first = member - len(trial) + (scored[0] if scored else 0)  # outputs show the first scored seed
        metrics, objectives, failed = summarise(trial_config, seed_results)
        history = [{k: v.item() if k == "step" else float(v[first]) for k, v in row.items()} for row in module.history]
        results.append(TrialResult(trial_config, seed_results, metrics, objectives, failed,
                                   model.member(first), history, wall, ablated=ablated.member(first)))
    return results


def run_trials(configs: list[ExcolorConfig], logger: Any = None, progress: bool = False,
               sheets: list[Dopesheet] | None = None,
               regularizers: dict[str, Regularizer] | None = None) -> list[TrialResult]:
    """Train every (trial, seed) as one stacked model, delete the concept, evaluate, and score each trial."""
    return score(fit_trials(configs, logger, progress, sheets, regularizers))
