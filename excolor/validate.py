"""`excolor-validate`: re-run a sweep's Pareto trials (or chosen ones) on held-out seeds, in one batched pass.

    excolor-validate --storage URL --study NAME [--seeds 10-19] [--top K | --trials 3,7] [--out DIR]
                     [--rerun] [--export NAME [--export-dir DIR]]

Each trial is rebuilt from the config its directory recorded (`<output_dir>/.hydra/config.yaml`), not
from the study's parameters: the study stores only the searched values, while the directory holds
everything the trial ran with (the preset, command-line overrides such as schedule.n_steps, every
default); its searched values are checked against the study's before anything runs. Only the seeds
change. All trials x held-out seeds train as one stacked model (as the batched launcher does), into
`<out>/<time>/<number>`. Each trial's held-out record is stored on the study (Optuna refuses to update
a finished trial): user attribute `heldout:<number>` (excolor/study.py). A trial already validated on
the same seeds is not run again unless --rerun.

`--export NAME` writes the one chosen trial as an experiment preset (`experiment=NAME`) into the user
config dir that excolor-train searches (excolor/config.py `user_config_dir`) or into --export-dir;
its provenance (study, trial, sweep and held-out numbers) is a comment at the top.
"""

from __future__ import annotations

import argparse
import datetime
import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf, open_dict
from optuna.trial import FrozenTrial, TrialState

from excolor.commands import BAD_INPUT_EXIT
from excolor.config import CONF_DIR, ConfigError, register_schema, user_config_dir
from excolor.experiment import stack_key
from excolor.heldout import FLAG_RATIO, SHOWN, comparison_table, failed, is_flagged, spread
from excolor import runner
from excolor.outcome import TrialOutcome
from excolor.runner import PreparedTrial, run_prepared
from excolor.study import Attr, best_trials, open_storage, read_heldout, shown_url, store_heldout

RECIPE = ("model", "data", "labels", "regularizers", "schedule", "ablation", "eval", "trainer")
"""The sections that make a trial what it is; an exported preset must reproduce them exactly."""
DEFAULT_SEEDS = "10-19"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def parse_seeds(text: str) -> list[int]:
    """`10-19`, `10,12,15` or `10-14,20`: distinct non-negative integers, in the order given."""
    seeds: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or (dash and int(high) < int(low)):
            raise ConfigError(f"--seeds {text!r}: {part.strip()!r} is not a seed or a range LOW-HIGH of "
                              "non-negative integers (e.g. --seeds 10-19 or --seeds 10,11,12)")
        seeds += list(range(int(low), int(high) + 1)) if dash else [int(low)]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r} names a seed twice")
    return seeds


def parse_numbers(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise ConfigError(f"--trials {text!r}: give trial numbers separated by commas, e.g. --trials 3,7")
    return list(dict.fromkeys(int(p) for p in parts))


def load_study(url: str, name: str) -> optuna.Study:
    storage = open_storage(url, create=False, key="--storage")
    names = [s.study_name for s in optuna.get_all_study_summaries(storage=storage)]
    if name not in names:
        raise ConfigError(f"--study {name!r}: no such study in {shown_url(url)}; studies there: {names or 'none'}")
    return optuna.load_study(study_name=name, storage=storage)


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


def trial_config(trial: FrozenTrial, seeds: list[int]) -> DictConfig:
    """The config trial's directory recorded, with its searched values checked and the seeds replaced."""
    directory = Path(str(trial.user_attrs.get(Attr.OUTPUT_DIR, "")))
    saved = directory / ".hydra" / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"trial {trial.number}: its config {saved} is not there (the trial's output_dir "
                          "attribute names its directory; run excolor-validate where the sweep's files are)")
    try:
        cfg = OmegaConf.load(saved)
    except Exception as error:  # yaml's and OmegaConf's parse errors
        raise ConfigError(f"trial {trial.number}: {saved} cannot be read ({type(error).__name__}); "
                          "it is not the config file Hydra wrote") from None
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"trial {trial.number}: {saved} is not a mapping of config keys")
    for key, value in trial.params.items():
        recorded = OmegaConf.select(cfg, key)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (recorded, value))
        if not (math.isclose(recorded, value, rel_tol=1e-9) if numbers else recorded == value):
            raise ConfigError(f"trial {trial.number}: {saved} has {key}={recorded}, the study {value}; the "
                              "directory belongs to another run, so the trial cannot be rebuilt truthfully")
    swept = set(trial.user_attrs.get(Attr.SEEDS) or [])
    reused = sorted(swept & set(seeds))
    if reused:
        raise ConfigError(f"--seeds: trial {trial.number} was scored on seeds {sorted(swept)} in the sweep; held-out "
                          f"seeds must be new ones (overlap: {reused}), e.g. --seeds {max(swept) + 1}-{max(swept) + 10}")
    with open_dict(cfg):
        cfg.trial.seeds = seeds
        cfg.logger = None
        cfg.outputs.plots = False
        cfg.outputs.quiet = True
    return cfg


def record_of(outcome: TrialOutcome | str, seeds: list[int], aggregate: str) -> dict[str, Any]:
    """The held-out record stored on the study (excolor/heldout.py describes its shape)."""
    if isinstance(outcome, str):
        return {"seeds": seeds, "aggregate": aggregate, "metrics": {}, "failure": outcome}
    keys = [k for key in SHOWN for k in (key, f"{key}_min", f"{key}_max")] + [
        "selectivity", "recon_mse", "failed_seeds", "n_seeds"]
    return {"seeds": seeds, "aggregate": aggregate,
            "metrics": {k: outcome.metrics[k] for k in keys if k in outcome.metrics},
            "seed_values": outcome.seed_values, "failure": outcome.reason(), "output_dir": outcome.output_dir,
            "validated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def prepare(trials: list[FrozenTrial], configs: list[DictConfig], out: Path) -> list[PreparedTrial]:
    """Checked configs and schedules (every error before training); outputs go to `<out>/<number>`."""
    return [runner.prepare(cfg, out / str(trial.number)) for trial, cfg in zip(trials, configs)]


def run_heldout(prepared: list[PreparedTrial], configs: list[DictConfig]) -> list[TrialOutcome | str]:
    """Every trial x seed as one stacked model (one per group of stackable trials, as in the batched
    launcher); an outcome per trial, or why its group's fit failed."""
    for p, cfg in zip(prepared, configs):
        (p.output_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save(cfg, p.output_dir / ".hydra" / "config.yaml")  # excolor-eval can re-evaluate it
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prepared):
        groups.setdefault(stack_key(p.config, p.sheet), []).append(i)
    outcomes: list[TrialOutcome | str] = [""] * len(prepared)
    for members in groups.values():
        try:
            results: list[TrialOutcome | str] = list(run_prepared([prepared[i] for i in members]))
        except Exception as error:  # the stacked fit failed: every trial in it has no held-out values
            results = [f"{type(error).__name__}: {error}"] * len(members)
        for i, result in zip(members, results):
            outcomes[i] = result
    return outcomes


def check_export(name: str, export_dir: Path | None) -> Path:
    """Where `--export NAME` writes, refused before any training if it cannot be written truthfully."""
    if not NAME_PATTERN.match(name) or name.endswith(".yaml"):
        raise ConfigError(f"--export {name!r}: a preset name is letters, digits, '_', '.', '-' (no '/', no "
                          ".yaml), e.g. --export ex2_9_1_validated; it becomes experiment=NAME")
    target = (export_dir or user_config_dir() / "experiment") / f"{name}.yaml"
    package = CONF_DIR / "experiment" / f"{name}.yaml"
    if package.exists() and target.resolve() != package.resolve():
        raise ConfigError(f"--export {name!r}: the package already has a preset {name!r}, which excolor-train "
                          "would find first; choose another name")
    if target.exists():
        raise ConfigError(f"--export {name!r}: {target} exists already; choose another name or move it away")
    return target


def _leaf_diff(value: Any, base: Any) -> Any:
    """The parts of `value` that differ from `base` (whole lists; None when equal)."""
    if isinstance(value, dict) and isinstance(base, dict):
        diff = {k: d for k, v in value.items() if (d := _leaf_diff(v, base.get(k, _MISSING))) is not None}
        return diff or None
    return None if value == base else value


_MISSING = object()


def compose_recipe(overrides: list[str]) -> dict[str, Any]:
    """The RECIPE sections of `excolor-train OVERRIDES`, composed and resolved (nothing runs)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR)):
            cfg = compose("config", overrides=["logger=none", *overrides])
    finally:
        GlobalHydra.instance().clear()
    return {k: OmegaConf.to_container(cfg[k], resolve=True, enum_to_str=True) for k in RECIPE}


def preset_body(name: str, trial: FrozenTrial, cfg: DictConfig) -> dict[str, Any]:
    """The preset: the sweep's experiment plus every recipe value the trial changed. Checked: composing
    it must give back the trial's recipe exactly (else ConfigError, before anything trains)."""
    hydra_yaml = Path(str(trial.user_attrs[Attr.OUTPUT_DIR])) / ".hydra" / "hydra.yaml"
    base = str(OmegaConf.select(OmegaConf.load(hydra_yaml), "hydra.runtime.choices.experiment", default="") or "")
    wanted = {k: OmegaConf.to_container(cfg[k], resolve=True, enum_to_str=True) for k in RECIPE}
    base_overrides = [f"experiment={base}"] if base else []
    defaults: list[Any] = [base] if base else []
    if list(wanted["regularizers"]) != list(compose_recipe(base_overrides)["regularizers"]):
        defaults.append({"override /regularizers": list(wanted["regularizers"])})
        base_overrides.append(f"regularizers=[{','.join(wanted['regularizers'])}]")
    body: dict[str, Any] = {"defaults": defaults, "name": name}
    body.update(_leaf_diff(wanted, compose_recipe(base_overrides)) or {})
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "experiment").mkdir()
        (Path(scratch) / "experiment" / f"{name}.yaml").write_text(
            "# @package _global_\n" + OmegaConf.to_yaml(OmegaConf.create(body)))
        composed = compose_recipe([f"hydra.searchpath=[file://{scratch}]", f"experiment={name}"])
    differing = [k for k in RECIPE if composed[k] != wanted[k]]
    if differing:
        raise ConfigError(f"--export {name!r}: a preset on experiment={base or '(none)'} would not reproduce "
                          f"trial {trial.number} (sections {differing} differ); nothing written")
    return body


def preset_text(name: str, body: dict[str, Any], trial: FrozenTrial, study: optuna.Study, url: str,
                record: dict[str, Any]) -> str:
    """The preset's YAML with its provenance on top: study, trial, sweep and held-out numbers."""
    sweep, held = trial.user_attrs, record.get("metrics", {})
    lines = [
        "# @package _global_",
        f"# Exported by excolor-validate: trial {trial.number} of study {study.study_name!r} in {shown_url(url)}",
        f"# (its directory {trial.user_attrs.get(Attr.OUTPUT_DIR)}); {record.get('aggregate', 'median')} [range] over seeds.",
        f"# sweep    seeds {sweep.get(Attr.SEEDS)}: " + ", ".join(f"{k} {spread(sweep, k)}" for k in SHOWN)
        + f", failed seeds {failed(sweep)}",
        f"# held-out seeds {record.get('seeds')}: " + ", ".join(f"{k} {spread(held, k)}" for k in SHOWN)
        + f", failed seeds {failed(held)}" + (f"  (held-out run failed: {record['failure']})"
                                              if record.get("failure") else "")
        + (f"  (FLAGGED: held-out collateral >= {FLAG_RATIO:g}x sweep)" if is_flagged(sweep, record) else ""),
        f"# Run: excolor-train experiment={name} 'trial.seeds=[{','.join(map(str, record.get('seeds', [])))}]'",
    ]
    return "\n".join(lines) + "\n" + OmegaConf.to_yaml(OmegaConf.create(body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-validate", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="Optuna storage URL of the sweep")
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--seeds", default=DEFAULT_SEEDS, help=f"held-out seeds (default {DEFAULT_SEEDS})")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--top", type=int, help="the K best complete trials by the first objective")
    which.add_argument("--trials", help="trial numbers, e.g. 3,7 (default: the Pareto front)")
    parser.add_argument("--out", type=Path, help="output root (default multirun/validate-<study>)")
    parser.add_argument("--rerun", action="store_true", help="run again trials already validated on these seeds")
    parser.add_argument("--export", metavar="NAME", help="write the one chosen trial as experiment=NAME")
    parser.add_argument("--export-dir", type=Path,
                        help="where the preset goes (default <user config dir>/experiment; "
                             "excolor/conf/experiment for the package's presets)")
    args = parser.parse_args(argv)
    try:
        return validate(args)
    except ConfigError as error:
        print(f"excolor-validate: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT


def validate(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds)
    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top {args.top}: must be >= 1")
    if args.export_dir is not None and args.export is None:
        raise ConfigError("--export-dir needs --export NAME")
    target = check_export(args.export, args.export_dir) if args.export else None
    study = load_study(args.storage, args.study)
    trials = choose_trials(study, args.top, parse_numbers(args.trials) if args.trials else None)
    if target is not None and len(trials) != 1:
        raise ConfigError(f"--export writes one trial, but {len(trials)} are chosen "
                          f"({[t.number for t in trials]}); choose it with --trials N")
    configs = [trial_config(t, seeds) for t in trials]
    body = preset_body(args.export, trials[0], configs[0]) if target is not None else None
    stored = read_heldout(study)
    to_run = [i for i, t in enumerate(trials) if args.rerun or stored.get(t.number, {}).get("seeds") != seeds]
    out = (args.out or Path("multirun") / f"validate-{study.study_name}") / \
        datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    prepared = prepare([trials[i] for i in to_run], [configs[i] for i in to_run], out)
    if to_run:
        print(f"[excolor-validate] trials {[trials[i].number for i in to_run]} x seeds {seeds}: one batched run "
              f"into {out}", flush=True)
        outcomes = run_heldout(prepared, [configs[i] for i in to_run])
        for i, outcome in zip(to_run, outcomes):
            stored[trials[i].number] = record_of(outcome, seeds, str(configs[i].trial.aggregate))
            store_heldout(study, trials[i].number, stored[trials[i].number])
    reused = [t.number for i, t in enumerate(trials) if i not in to_run]
    if reused:
        print(f"[excolor-validate] trials {reused}: held-out record on seeds {seeds} already stored "
              "(--rerun to run them again)", flush=True)
    print(f"study {study.study_name}: sweep vs held-out seeds {seeds} "
          f"({configs[0].trial.aggregate} [min..max] over seeds)")
    print(comparison_table(trials, stored))
    flagged = [t.number for t in trials if is_flagged(t.user_attrs, stored[t.number])]
    if flagged:
        print(f"flagged (held-out collateral_mse >= {FLAG_RATIO:g}x the sweep's, or the held-out run failed): {flagged}")
    if target is not None and body is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(preset_text(args.export, body, trials[0], study, args.storage, stored[trials[0].number]))
        searched = target.parent.resolve() in ((CONF_DIR / "experiment").resolve(),
                                               (user_config_dir() / "experiment").resolve())
        print(f"wrote {target}\nrun it: excolor-train experiment={args.export}" + (
            "" if searched else f" hydra.searchpath=[file://{target.parent.parent.resolve()}]  ({target.parent} "
                                "is not a folder excolor-train searches)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
