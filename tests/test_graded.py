"""The graded-deletion hypotheses as config: soft labels per label, the placement regularizer, the presets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from excolor import api
from excolor.core.concepts import Concept, Pole
from excolor.core.labels import draw_labels
from excolor.core.regularizers import Context, Placement
from excolor.run.config import CONF_DIR

RED = Concept("red", (Pole("red", (1.0, 0.0, 0.0), "redness", 0, 1.0),))


def test_placement_is_zero_where_each_cosine_equals_its_similarity_to_the_power():
    placement = Placement(Placement.Config(power=2.0), Context(3, RED))
    similarity = torch.tensor([[0.0, 0.5, 1.0]])
    cos = similarity ** 2  # unit latents with exactly that cosine with +dim 0
    z = torch.stack([cos, (1 - cos ** 2).sqrt(), torch.zeros_like(cos)], dim=-1)
    assert placement.batch_loss(z, {"similarity": similarity}).item() == pytest.approx(0.0, abs=1e-6)
    off = placement.batch_loss(z, {"similarity": torch.zeros_like(similarity)})
    assert off.item() == pytest.approx(float((cos ** 2).mean()), rel=1e-5)  # (cos - 0)^2
    assert placement.per_sample(z).shape == (1, 3)  # colours unlike the concept: the plug-in probe's case


def test_placement_refuses_a_concept_of_two_poles_and_a_bad_power():
    two = Concept("warmth", (Pole("red", (1, 0, 0), "redness", 0, 1.0), Pole("cyan", (0, 1, 1), "cyanness", 0, -1.0)))
    with pytest.raises(ValueError, match="2 poles"):
        Placement(Placement.Config(), Context(3, two))
    with pytest.raises(ValueError, match="power"):
        Placement(Placement.Config(power=0.0), Context(3, RED))


def test_soft_labels_per_label_keep_the_hard_draws_unchanged():
    probabilities = torch.rand(1000, 2, generator=torch.Generator().manual_seed(1))
    all_hard = draw_labels(probabilities, True, torch.Generator().manual_seed(0))
    mixed = draw_labels(probabilities, [True, False], torch.Generator().manual_seed(0))
    assert torch.equal(mixed[:, 0], all_hard[:, 0])  # the same stream: a soft label changes no hard one
    assert torch.equal(mixed[:, 1], probabilities[:, 1])
    assert set(all_hard.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("concept, rgb", [("red", [1.0, 0.0, 0.0]), ("green", [0.0, 1.0, 0.0])])
def test_placed_preset_labels_similarity_to_whichever_concept(concept, rgb):
    config = api.compose(["experiment=ex2_9_1_placed", f"concept={concept}"])
    similarity = config.labels.concepts["similarity"]
    assert (similarity.source, similarity.rgb, similarity.hard) == ("likeness", rgb, False)
    assert "placement" in config.regularizers


def test_placement_without_its_label_is_refused_before_training():
    with pytest.raises(api.ConfigError) as caught:
        api.compose(["experiment=ex2_9_1", "regularizers=[separate,anchor,anti_subspace,anti_anchor,placement]"])
    message = str(caught.value)
    assert "regularizers.placement.label=similarity" in message and "ex2_9_1_placed" in message, message


def test_every_multi_objective_preset_optimises_collateral_in_decades():
    """With several objectives the scale matters (fronts, hypervolume, NSGA's crowding); alone, a sampler
    ranks trials, so `collateral` (one objective) may stay raw."""
    presets = {path.name: yaml.safe_load(path.read_text()) for path in Path(CONF_DIR, "objectives").glob("*.yaml")}
    several = {name: objectives for name, objectives in presets.items() if len(objectives) > 1}
    assert {"pareto.yaml", "graded.yaml"} <= set(several)
    for name, objectives in several.items():
        assert "collateral_mse" not in objectives, f"{name} optimises raw collateral_mse"
