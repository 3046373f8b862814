"""Does training-time deletion beat post-hoc erasure on the same metrics? Trained-in deletion (the recipe and
its sweep-tuned preset, ablation=zero) against LEACE and mean_difference on a model never shaped for
deletion (ex2_9_1_unshaped) and on the shaped one (ex2_9_1), on held-out seeds.

    python benchmarks/erasure_study.py --concepts red,blue --seeds 10-19 [--out /tmp/erasure.json]

Each model trains once (all seeds as one stack); every deletion is then fitted and evaluated on it.
"At equal deletion": each post-hoc method again at the strength (ablation.strength, by bisection on the
median concept_mse) where it deletes as much of the concept as the trained-in reference does; its
collateral there is what the two families are compared on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

from excolor.core.ablation import AblationConfig, AblationMethod
from excolor.core.metric_names import COLLATERAL, CONCEPT, FAILED_SEEDS, SIMILARITY_R2
from excolor.run.checks import compose_config
from excolor.run.config import group_options
from excolor.run.trials import Fitted, fit_trials, score

COLUMNS = (CONCEPT, COLLATERAL, SIMILARITY_R2, "median_mse")
TUNED = {"red": "ex2_9_1_tuned"}
"""The sweep-tuned trained-in preset of a concept (default: ex2_9_1_<concept>, the concept study's pick)."""
POST_HOC = (AblationMethod.leace, AblationMethod.mean_difference)


def seeds_of(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def fitted(experiment: str, concept: str, seeds: list[int]) -> tuple[Fitted, float]:
    config = compose_config([f"experiment={experiment}", f"concept={concept}", f"trial.seeds={seeds}",
                             "outputs.plots=false"])
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_trials([config])
    return model, time.perf_counter() - started


def row(model: Fitted, method: AblationMethod, strength: float = 1.0) -> dict:
    """Median [min, max] over seeds of COLUMNS and the failed seeds, for one deletion of a trained stack."""
    base = model.plan[0][0].ablation
    ablation = AblationConfig(dims=base.dims, layer=base.layer, method=method, strength=strength)
    [result] = score(model, ablation)
    seeds = [s.report.metrics for s in result.seeds if s.report is not None]
    out = {key: [statistics.median(m[key] for m in seeds), min(m[key] for m in seeds), max(m[key] for m in seeds)]
           for key in COLUMNS}
    out[FAILED_SEEDS] = result.metrics[FAILED_SEEDS]
    out["strength"] = strength
    return out


def at_equal_deletion(model: Fitted, method: AblationMethod, target: float) -> dict:
    """The method at the strength whose median concept_mse equals `target` (bisection on [0, 1]); at full
    strength when even that deletes less."""
    full = row(model, method, 1.0)
    if full[CONCEPT][0] <= target:
        return {**full, "reached": False}
    low, high = 0.0, 1.0
    for _ in range(9):  # strength to within 1/512
        middle = (low + high) / 2
        if row(model, method, middle)[CONCEPT][0] < target:
            low = middle
        else:
            high = middle
    return {**row(model, method, high), "reached": True}


def study(concept: str, seeds: list[int]) -> dict:
    tuned = TUNED.get(concept, f"ex2_9_1_{concept}")
    models = {"ex2_9_1": "ex2_9_1", "unshaped": "ex2_9_1_unshaped"}
    if tuned in group_options("experiment"):
        models["tuned"] = tuned
    trained = {name: fitted(experiment, concept, seeds) for name, experiment in models.items()}
    rows = {"ex2_9_1 + zero (trained-in)": row(trained["ex2_9_1"][0], AblationMethod.zero)}
    if "tuned" in trained:
        rows[f"{tuned} + zero (trained-in)"] = row(trained["tuned"][0], AblationMethod.zero)
    for model in ("unshaped", "ex2_9_1"):
        for method in POST_HOC:
            rows[f"{models[model]} + {method.value}"] = row(trained[model][0], method)
    reference = rows["ex2_9_1 + zero (trained-in)"][CONCEPT][0]
    equal = {f"{models[model]} + {method.value}": at_equal_deletion(trained[model][0], method, reference)
             for model in ("unshaped", "ex2_9_1") for method in POST_HOC}
    return {"concept": concept, "seeds": seeds, "models": models, "rows": rows, "reference_deletion": reference,
            "equal_deletion": equal, "fit_s": {name: wall for name, (_, wall) in trained.items()}}


def cell(values: list[float]) -> str:
    return f"{values[0]:.2g} [{values[1]:.2g}-{values[2]:.2g}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concepts", default="red,blue")
    parser.add_argument("--seeds", default="10-19")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    seeds = seeds_of(args.seeds)
    results = []
    for concept in args.concepts.split(","):
        started = time.perf_counter()
        results.append(study(concept, seeds))
        print(f"concept {concept}: done in {time.perf_counter() - started:.0f} s", flush=True)
        if args.out:  # after each concept: a long study keeps what it has measured
            args.out.write_text(json.dumps(results, indent=1))
    for r in results:
        print(f"\nconcept {r['concept']}, seeds {args.seeds}: median [min-max] over seeds")
        print("| run | " + " | ".join(COLUMNS) + " | failed seeds |\n|" + "---|" * (len(COLUMNS) + 2))
        for name, m in r["rows"].items():
            print(f"| {name} | " + " | ".join(cell(m[k]) for k in COLUMNS) + f" | {m[FAILED_SEEDS]:.0f} |")
        print(f"\nat the trained-in recipe's deletion (median {CONCEPT} {r['reference_deletion']:.3g}):")
        print("| run | strength | " + " | ".join(COLUMNS) + " |\n|" + "---|" * (len(COLUMNS) + 2))
        for name, m in r["equal_deletion"].items():
            strength = f"{m['strength']:.3f}" + ("" if m["reached"] else " (never reaches it)")
            print(f"| {name} | {strength} | " + " | ".join(cell(m[k]) for k in COLUMNS) + " |")


if __name__ == "__main__":
    main()
