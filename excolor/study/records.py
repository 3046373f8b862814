"""A study's record, read from its storage: objective names, the best trials or Pareto front, what a trial
keeps as user attributes (names in excolor/run/outcome.py `Attr`), and the summary file."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from excolor.core.metric_names import DEFAULT_CONCEPT, kept_on_trial
from excolor.errors import ConfigError
from excolor.run import outputs
from excolor.run.outcome import Attr, TrialOutcome, json_safe

SUMMARY_FILE = "optimization_results.yaml"
SUMMARY_LOCK = ".optimization_results.lock"


def _trial_id(study: optuna.Study, storage: optuna.storages.RDBStorage, number: int) -> int:
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


def set_trial_attrs(storage: optuna.storages.RDBStorage, study: optuna.Study, number: int,
                    attrs: dict[str, Any]) -> None:
    """User attributes on a trial of the study by number, through the storage's public API."""
    trial_id = _trial_id(study, storage, number)
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial_id, key, json_safe(value))


def trial_attrs(outcome: TrialOutcome) -> dict[str, Any]:
    """Everything a trial produced, as Optuna user attributes."""
    attrs: dict[str, Any] = {key: value for key, value in outcome.metrics.items()
                             if kept_on_trial(key, outcome.named_colours)}
    attrs[Attr.SEEDS] = outcome.seeds
    attrs.update({f"{Attr.SEED_PREFIX}{key}": values for key, values in outcome.seed_values.items()})
    if any(outcome.seed_failures):
        attrs[Attr.SEED_FAILURES] = outcome.seed_failures
    attrs[Attr.OUTPUT_DIR] = outcome.output_dir
    return attrs


CONCEPT_ATTR = "concept"
"""The study user attribute naming the concept its trials delete (studies without it are about red)."""


def study_concept(study: optuna.Study) -> str:
    """The concept a study's trials delete: the name its metrics go by (`<concept>_mse`)."""
    return str(study.user_attrs.get(CONCEPT_ATTR) or DEFAULT_CONCEPT)


def objective_names(study: optuna.Study) -> list[str]:
    """The study's metric names (an excolor sweep sets them from its objectives), else objective_<i>."""
    return list(study.metric_names or [f"objective_{i}" for i in range(len(study.directions))])


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The Pareto front (several objectives) or the best trial (one), by number; [] before any COMPLETE trial."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    best = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    return sorted(best, key=lambda t: t.number)


def front_numbers(study: optuna.Study) -> set[int]:
    """Numbers of `best_trials`: the trials a table or plot marks."""
    return {t.number for t in best_trials(study)}


def summary(study: optuna.Study) -> dict[str, Any]:
    """The sweep-level record, computed from the storage: best trial or Pareto front, counts."""
    trials = study.get_trials(deepcopy=False)
    names = objective_names(study)
    directions = [d.name.lower() for d in study.directions]
    best = best_trials(study)
    label = "pareto_front" if len(directions) > 1 else "best_trial"
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    ordered = sorted(best, key=lambda t: t.number)
    # the keys Hydra's Optuna sweeper writes, so tools made for its file read ours too
    hydras = ({"name": "optuna", "solutions": [{"params": t.params, "values": list(t.values)} for t in ordered]}
              if len(directions) > 1 else
              {"name": "optuna", "best_params": ordered[0].params, "best_value": ordered[0].value} if ordered else
              {"name": "optuna"})
    return {**hydras, "study": study.study_name, "objectives": dict(zip(names, directions)),
            "trials": {k: v for k, v in counts.items() if v},
            label: [{"number": t.number, "values": dict(zip(names, t.values)), "params": t.params,
                     "output_dir": t.user_attrs.get(Attr.OUTPUT_DIR)} for t in sorted(best, key=lambda t: t.number)]}


def write_summary(study: optuna.Study, sweep_dir: Path) -> Path:
    """Atomically (re)write the summary, read from the storage under a lock on the sweep dir.

    Why the lock: every worker reports its trials before it writes, so whichever worker holds the lock
    last reads every report; without it, a worker that read the storage earlier could rename its stale
    summary over a newer one.
    """
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with open(sweep_dir / SUMMARY_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = OmegaConf.to_yaml(OmegaConf.create(summary(study)))
        return outputs.write_text(sweep_dir / SUMMARY_FILE, text)


def choose_trials(study: optuna.Study, top: int | None, numbers: list[int] | None) -> list[FrozenTrial]:
    """--trials N,M; else --top K (best first objective); else the Pareto front (or the best trial)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if numbers is not None:
        by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
        unknown = [n for n in numbers if n not in by_number]
        if unknown:
            raise ConfigError(f"--trials: study {study.study_name!r} has no trial {unknown} "
                              f"(its trials are 0..{len(by_number) - 1})")
        incomplete = [f"{n} ({by_number[n].state.name})" for n in numbers if by_number[n].state != TrialState.COMPLETE]
        if incomplete:
            raise ConfigError(f"--trials: only COMPLETE trials can be validated; not complete: {', '.join(incomplete)}")
        return [by_number[n] for n in numbers]
    if not complete:
        raise ConfigError(f"study {study.study_name!r} has no COMPLETE trial to validate")
    if top is not None:
        sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
        return sorted(complete, key=lambda t: sign * t.values[0])[:top]
    return best_trials(study)
