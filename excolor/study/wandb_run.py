"""The study-level W&B run (job type `study`): every trial of a study in one table, the Pareto front,
parameter importances per objective. Computed from the Optuna storage, so it is right for any study
in any storage, whichever workers ran it.

Written by the sweeper at the end of a sweep with `logger=wandb`, and on demand by
`excolor-report --storage URL --study NAME --wandb`. One run per study: every write uses the run id
`<study>-study` (resumed, not multiplied: `wandb sync` of a later write updates the same run). Its config
and tags carry the settings the study was created with (experiment, concept, sweep preset, objectives,
seeds, steps, sampler, search space, excolor's version: excolor/study/settings.py), so studies can be
filtered and grouped in the W&B UI. Finished per-trial runs are not rewritten (W&B cannot reopen an offline
run): their Pareto flag lives in this run's table.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any, Mapping

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from excolor.run.config import CONF_DIR
from excolor.run.outcome import SPREAD_PREFIX, Attr, seed_spread
from excolor.run.tracking import SAMPLED_PREFIX, is_wandb, quiet_wandb, trial_run_name
from excolor.study import plots as study_plots
from excolor.study.heldout import read_heldout, table_columns
from excolor.study.records import front_numbers, objective_names, study_concept
from excolor.study.settings import stored_settings
from excolor.study.storage import shown_url

log = logging.getLogger(__name__)
STUDY_JOB_TYPE = "study"
TABLE_KEY = "trials"
"""The W&B key of the table of all trials in the study run."""
RUN_KEYS = ("project", "entity", "mode", "settings")
"""What the study run takes from a W&B logger config (the rest describes a single trial's run)."""


def study_run_spec(logger: DictConfig | None) -> dict[str, Any] | None:
    """The W&B settings a study run reuses from a `logger` config node; None unless it is W&B's."""
    if logger is None or not is_wandb(str(logger.get("_target_", ""))):
        return None
    spec = {}
    for key in RUN_KEYS:  # one by one: the logger's other keys may need a job's runtime (save_dir)
        value = OmegaConf.select(logger, key, default=None)
        spec[key] = OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
    return {k: v for k, v in spec.items() if v is not None}


def default_run_spec() -> dict[str, Any]:
    """The study run's settings from the packaged `logger/wandb.yaml` (for excolor-report --wandb)."""
    node = OmegaConf.load(CONF_DIR / "logger" / "wandb.yaml")
    spec = study_run_spec(node)
    assert spec is not None
    return spec


def study_run_id(study: optuna.Study) -> str:
    """The one W&B run id of a study's run (W&B ids allow no `/`, `\\`, `#`, `?`, `%` or `:`)."""
    return re.sub(r"[/\\#?%:]", "_", f"{study.study_name}-study")


def study_tags(name: str, settings: Mapping[str, Any]) -> list[str]:
    """`study:NAME` and, where the study recorded them, its sweep, experiment, concept, sampler, step count,
    seed count and excolor version: what one filters and groups studies by in the W&B UI."""
    sampler = (settings.get("sampler") or {}).get("_target_", "")
    tags = {"study": name, "sweep": settings.get("sweep"), "experiment": settings.get("experiment"),
            "concept": settings.get("concept"), "sampler": sampler.rsplit(".", 1)[-1] or None,
            "steps": settings.get("n_steps"), "seeds": len(settings["seeds"]) if settings.get("seeds") else None,
            "excolor": settings.get("excolor")}
    return [f"{key}:{value}"[:64] for key, value in tags.items() if value is not None]  # W&B: tags <= 64 chars


def trial_rows(study: optuna.Study) -> tuple[list[str], list[list[Any]]]:
    """Columns and one row per trial: identity, state, Pareto flag, sampled values, objectives (complete
    trials only), seed spreads, held-out values, fail reason and output dir."""
    trials = study.get_trials(deepcopy=False)
    names = objective_names(study)
    front = front_numbers(study)
    params = sorted({p for t in trials for p in t.params})
    heldout = table_columns(read_heldout(study), study_concept(study))  # excolor-validate's records
    columns = ["number", "run", "state", "pareto", *(SAMPLED_PREFIX + p for p in params), *names,
               *(SPREAD_PREFIX + n for n in names), *(header for header, _ in heldout), Attr.REASON, Attr.OUTPUT_DIR]
    rows = []
    for t in trials:
        complete = t.state == TrialState.COMPLETE
        values = list(t.values) if complete and t.values is not None else [None] * len(names)
        spreads = [seed_spread(t.user_attrs.get(f"{Attr.SEED_PREFIX}{n}") or []) for n in names]
        rows.append([t.number, trial_run_name(study.study_name, t.number), t.state.name, t.number in front,
                     *(t.params.get(p) for p in params), *values, *spreads, *(cell(t) for _, cell in heldout),
                     t.user_attrs.get(Attr.REASON), t.user_attrs.get(Attr.OUTPUT_DIR)])
    return columns, rows


def importances(study: optuna.Study) -> dict[str, dict[str, float]]:
    """Parameter importances per objective, each towards its own direction; {} with fewer than two
    complete trials (one parameter gets importance 1: the table still names what was searched)."""
    if len(study_plots.complete_trials(study)) < 2:
        return {}
    result = {}
    for i, name in enumerate(objective_names(study)):
        try:
            result[name] = study_plots.objective_importances(study, i)
        except (RuntimeError, ValueError, ImportError) as error:  # too few distinct trials, a missing extra
            log.warning(f"no parameter importances for {name}: {error}")
    return result


def write_study_run(study: optuna.Study, storage_url: str, out_dir: Path, spec: Mapping[str, Any]) -> Path:
    """Log the study run under `out_dir/wandb/`; returns its local run directory."""
    import matplotlib.pyplot as plt
    import wandb

    settings = dict(spec.get("settings") or {})
    quiet_wandb(settings)
    trials = study.get_trials(deepcopy=False)
    names = objective_names(study)
    counts = {s.name: sum(t.state == s for t in trials) for s in TrialState if any(t.state == s for t in trials)}
    stored = stored_settings(study) or {}
    config = {**stored, "study": study.study_name, "storage": shown_url(storage_url), "trials": counts,
              "objectives": dict(zip(names, (d.name.lower() for d in study.directions))),
              "parameters": sorted({p for t in trials for p in t.params})}
    out_dir.mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=spec.get("project"), entity=spec.get("entity"), mode=spec.get("mode"),
                     dir=str(out_dir), group=study.study_name, job_type=STUDY_JOB_TYPE, id=study_run_id(study),
                     name=study_run_id(study), resume="allow", tags=study_tags(study.study_name, stored),
                     config=config, settings=settings or None)
    run_dir, failed = Path(run.dir).parent, True
    try:
        columns, rows = trial_rows(study)
        table = wandb.Table(columns=columns, data=rows, allow_mixed_types=True)
        logged: dict[str, Any] = {TABLE_KEY: table}
        if len(names) >= 2 and counts.get(TrialState.COMPLETE.name):
            figure = study_plots.pareto_figure(study)
            logged["pareto_front"] = wandb.Image(figure)
            plt.close(figure)
            complete = [r for r in rows if r[2] == TrialState.COMPLETE.name]
            logged["pareto_scatter"] = wandb.plot.scatter(
                wandb.Table(columns=columns, data=complete, allow_mixed_types=True), names[0], names[1],
                title=f"{names[0]} vs {names[1]} (complete trials)")
        for name, by_param in importances(study).items():
            data = [[p, float(v)] for p, v in by_param.items()]
            logged[f"importance/{name}"] = wandb.plot.bar(
                wandb.Table(columns=["parameter", "importance"], data=data), "parameter", "importance",
                title=f"parameter importance for {name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # W&B's table/plot deprecation notes are not the user's business
            run.log(logged)
        run.summary.update({"trial_states": counts, "front": sorted(front_numbers(study))})
        failed = False
    finally:
        run.finish(exit_code=1 if failed else 0)
    return run_dir


def report_to_wandb(study: optuna.Study, storage_url: str, out_dir: Path) -> int:
    """`excolor-report --wandb`: write the study run with the packaged W&B settings; an exit status."""
    import sys

    try:
        print(f"wrote W&B study run {write_study_run(study, storage_url, out_dir, default_run_spec())}")
    except Exception as error:
        print(f"excolor-report: could not write the W&B study run ({type(error).__name__}: {error})", file=sys.stderr)
        return 1
    return 0
