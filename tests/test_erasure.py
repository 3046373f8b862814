"""Post-hoc erasure (ablation=leace | mean_difference): no linearly decodable concept is left, mean_difference
removes one direction, stacked members equal lone ones, and what cannot be fitted is refused."""

from __future__ import annotations

import math

import pytest
import torch

from excolor.core.ablation import ErasedModel, fit_set
from excolor.core.erasure import ErasureError, FitSet, leace, mean_difference
from excolor.run.checks import compose_config
from excolor.run.trials import build_regularizers, build_schedule, run_trials
from tests.conftest import run_in_process

SHORT = ["experiment=ex2_9_1", "schedule.n_steps=300", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12",
         "outputs.plots=false"]
DENSE = ["labels.poles.scale=1.0", "labels.poles.power=2"]
"""Labels on most reddish samples (P = redness^2), so a probe has positives to learn from."""


def trained(method: str, seeds: list[int], extra: list[str] = ()):
    """A short ex2_9_1 run with the given deletion, its stacked model and fit set."""
    from excolor.core.data import ColorDataModule
    from excolor.core.model import ColorMLP
    from excolor.core.training import ConceptDeletionModule, fit
    from excolor.run.trials import member_schedules, trained_steps

    config = compose_config([*SHORT, *DENSE, f"ablation={method}", f"trial.seeds={seeds}", *extra])
    sheet = build_schedule(config)
    schedules = member_schedules([(config, sheet, seeds)]).resized(trained_steps(config, sheet))
    model = ColorMLP(config.model, seeds)
    data = ColorDataModule(config.data, [config.labels] * len(seeds), seeds, schedules.n_steps)
    module = ConceptDeletionModule(model, build_regularizers(config), schedules, list(config.labels.concepts))
    fit(module, data, config.trainer, None, False)
    model.eval()
    return config, model, fit_set(model, "bottleneck", data.dataset, 1)


def probe_auc(latents: torch.Tensor, labels: torch.Tensor, train: torch.Tensor) -> float:
    """A logistic probe fitted on the `train` samples, its ROC AUC on the rest (Mann-Whitney)."""
    x = torch.cat([latents, torch.ones(len(latents), 1)], dim=1).double()
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=200)

    def loss():
        optimizer.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(x[train] @ w, labels[train].double())
        value = value + 1e-4 * w.pow(2).sum()
        value.backward()
        return value
    optimizer.step(loss)
    scores, truth = (x[~train] @ w).detach(), labels[~train] > 0.5
    ranks = scores.argsort().argsort().double() + 1
    positives, negatives = int(truth.sum()), int((~truth).sum())
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def test_leace_leaves_no_linearly_decodable_concept_on_held_out_colours():
    """Fitted on all of a member's training samples, the eraser leaves a probe trained on half the colours
    at chance on the other half; before erasure the same probe finds the concept."""
    _, model, fit = trained("leace", [0])
    eraser = leace(fit, 0)
    grid = torch.unique(fit.latents[0], dim=0)
    colour_of = {tuple(v.tolist()): i for i, v in enumerate(grid)}
    colour = torch.tensor([colour_of[tuple(v.tolist())] for v in fit.latents[0]])
    held = torch.randperm(len(grid), generator=torch.Generator().manual_seed(0))[: len(grid) // 2]
    train = ~torch.isin(colour, held)  # fitted on half the colours, scored on colours it never saw
    labels = fit.labels[0, :, 0]
    before = probe_auc(fit.latents[0], labels, train)
    after = probe_auc(eraser(fit.latents[0]), labels, train)
    assert before > 0.75, before
    assert abs(after - 0.5) < 0.08, (before, after)


def test_mean_difference_removes_exactly_one_direction():
    _, _, fit = trained("mean_difference", [0])
    erased = mean_difference(fit, 0)(fit.latents[0].double())  # float64 in, float64 out
    centred = fit.latents[0].double() - fit.latents[0].double().mean(dim=0)
    k = fit.latents.shape[-1]
    assert torch.linalg.matrix_rank(centred) == k
    assert torch.linalg.matrix_rank(erased - erased.mean(dim=0), atol=1e-6) == k - 1
    labelled = fit.labels[0, :, 0] > 0
    gap = erased[labelled].mean(dim=0) - erased[~labelled].mean(dim=0)
    assert gap.norm() < 1e-9  # the labelled and other samples' means no longer differ


@pytest.mark.parametrize("method", ["leace", "mean_difference"])
def test_stacked_members_give_the_metrics_of_lone_members(method):
    quick = [*SHORT, *DENSE, f"ablation={method}", "schedule.n_steps=100"]
    stacked = run_trials([compose_config([*quick, "trial.seeds=[0,1]"])])[0]
    for seed, together in zip([0, 1], stacked.seeds):
        [alone] = run_trials([compose_config([*quick, f"trial.seeds=[{seed}]"])])
        assert alone.seeds[0].report.metrics == together.report.metrics


def test_strength_scales_the_erasure_and_a_weak_one_deletes_less():
    _, model, fit = trained("leace", [0])
    full = ErasedModel(model, "bottleneck", [leace(fit, 0)], 1.0)
    half = ErasedModel(model, "bottleneck", [leace(fit, 0)], 0.5)
    red = torch.tensor([[1.0, 0.0, 0.0]])
    error = {name: float((m.reconstruct(red) - red).pow(2).mean()) for name, m in (("full", full), ("half", half))}
    intact = float((model.reconstruct(red) - red).pow(2).mean())
    assert intact < error["half"] < error["full"]


@pytest.mark.parametrize("latents, labels, words", [
    (torch.randn(1, 50, 4), torch.zeros(1, 50, 1), ["none of member 0's 50 training samples", "labels.poles.scale"]),
    (torch.randn(1, 50, 4), torch.ones(1, 50, 1), ["every training sample", "no contrast"]),
    (torch.full((1, 50, 4), math.nan), torch.ones(1, 50, 1) * (torch.arange(50) % 2)[None, :, None],
     ["not all finite"]),
])
@pytest.mark.parametrize("method", [leace, mean_difference])
def test_an_eraser_that_cannot_be_fitted_says_why(method, latents, labels, words):
    with pytest.raises(ErasureError) as caught:
        method(FitSet(latents, labels), 0)
    for word in words:
        assert word in str(caught.value)


def test_a_seed_without_labelled_samples_fails_alone_with_the_reason():
    """Hard labels this sparse leave some seeds with no labelled sample at all: those seeds fail with the
    reason, the others are scored."""
    sparse = ["labels.poles.scale=0.002", "labels.poles.power=8", "trial.seeds=[0,1,2,3]", "schedule.n_steps=30"]
    [result] = run_trials([compose_config([*SHORT, "ablation=leace", *sparse])])
    reasons = [s.failure for s in result.seeds]
    assert any(r and "labelled with the concept" in r for r in reasons), reasons


@pytest.mark.parametrize("overrides, words", [
    (["ablation=leace", "labels.poles.scale=0"], ["ablation.method=leace", "labelled ['red']", "labels.poles.scale"]),
    (["ablation=mean_difference", "concept=blue", "labels.concepts.blue.scale=0"], ["['blue']"]),
    (["ablation=leace", "ablation.strength=1.5"], ["ablation.strength=1.5", "[0, 1]"]),
    (["ablation=prune", "ablation.strength=0.5"], ["ablation.strength=0.5", "prune", "ablation.method=zero"]),
    (["ablation=laece"], ["ablation", "laece", "leace"]),
])
def test_bad_erasure_input_is_refused_before_training(overrides, words, capfd, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out = run_in_process([*SHORT, "logger=none", *overrides], capfd, monkeypatch)
    assert code == 2 and "Traceback" not in out, out[-2000:]
    for word in words:
        assert word in out, (word, out[-1500:])


def test_leace_without_its_package_is_refused_with_the_install_command(capfd, monkeypatch, tmp_path):
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "concept_erasure", None)  # import concept_erasure now raises ImportError
    code, out = run_in_process([*SHORT, "logger=none", "ablation=leace"], capfd, monkeypatch)
    assert code == 2 and "pip install concept-erasure" in out, out[-1500:]
