"""excolor from Python: the same runs and studies as the commands, for a notebook or a script.

    from excolor import api

    config = api.compose(["experiment=ex2_9_1", "concept=blue", "trial.seeds=[0,1,2]", "debug=fast"])
    result = api.run(config)                      # train all seeds as one stack, delete, evaluate
    result.metrics["blue_mse"], result.metrics["collateral_mse"]

    fitted = api.fit([config])                    # train once ...
    [leace] = api.score(fitted, api.ablation("leace"))   # ... and evaluate another deletion on the same models

    trials = api.trials("sqlite:///multirun/optuna.db", "pareto-ex2_9_1")   # a study's trials, a DataFrame
"""

from __future__ import annotations

from excolor.core.ablation import AblationConfig, AblationMethod
from excolor.errors import ConfigError
from excolor.run.checks import compose_config
from excolor.run.config import ExcolorConfig
from excolor.run.overrides import COMPOSITION_ERRORS, hydra_message, overrides_problem
from excolor.run.saved import evaluate_run, load_run
from excolor.run.trials import Fitted, TrialResult, fit_trials, run_trials, score
from excolor.study.compare import Compared, trials_frame
from excolor.study.storage import load_study

__all__ = ["compose", "run", "fit", "score", "ablation", "trials", "study", "evaluate_run", "load_run",
           "ConfigError", "ExcolorConfig", "TrialResult", "Fitted"]


def compose(overrides: list[str]) -> ExcolorConfig:
    """The checked config `excolor-train OVERRIDES` would run; a mistake raises ConfigError, one paragraph
    naming the key (with a did-you-mean), as the command would print it."""
    problem = overrides_problem(list(overrides))
    if problem:
        raise ConfigError(problem)
    try:
        return compose_config(list(overrides))
    except COMPOSITION_ERRORS as error:
        raise ConfigError(hydra_message(error)) from None


def run(config: ExcolorConfig) -> TrialResult:
    """Train the config's seeds as one stacked model, delete the concept, evaluate: its metrics, per-seed
    reports and first seed's model (nothing is written to disk)."""
    [result] = run_trials([config])
    return result


def fit(configs: list[ExcolorConfig]) -> Fitted:
    """Train trials (their seeds) as one stacked model, to `score` under one or more deletions."""
    return fit_trials(configs)


def ablation(method: str, strength: float = 1.0, dims: list[int] | None = None) -> AblationConfig:
    """A deletion to `score` with: zero, prune, leace or mean_difference (dims null: the concept's)."""
    return AblationConfig(dims=dims, method=AblationMethod(method), strength=strength)


def study(storage: str, name: str):  # noqa: ANN201 (an optuna.Study)
    """An existing study (nothing is created)."""
    return load_study(storage, name)


def trials(storage: str, name: str):  # noqa: ANN201 (a pandas DataFrame)
    """Every trial of a study, one row each: Optuna's trials_dataframe with `study` and `pareto` columns."""
    return trials_frame([Compared(name, load_study(storage, name))])
