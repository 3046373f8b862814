import math

import pytest
import torch

from excolor.regularizers import (AngularAnchor, Anchor, AntiAnchor, AxisAlignedSubspace, Separate, Unitarity)

K = 3


def z(*rows):
    return torch.tensor([rows], dtype=torch.float32)  # [M=1, B, K]


def test_per_sample_formulas():
    batch = z((2.0, 0.0, 0.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0))
    assert Unitarity(k_bottleneck=K).per_sample(batch).tolist() == [[1.0, 0.0, 0.0]]
    assert Anchor(k_bottleneck=K).per_sample(batch).tolist() == [[1.0, 2.0, 4.0]]
    assert torch.allclose(AngularAnchor(k_bottleneck=K).per_sample(batch), torch.tensor([[0.0, 1.0, 2.0]]))
    hemi = AntiAnchor(k_bottleneck=K, sign=-1.0).per_sample(batch)
    full = AntiAnchor(k_bottleneck=K, sign=-1.0, form="full").per_sample(batch)
    assert torch.allclose(hemi, torch.tensor([[0.0, 0.0, 1.0]]))
    assert torch.allclose(full, torch.tensor([[0.0, 0.5, 1.0]]))
    keep01 = AxisAlignedSubspace(k_bottleneck=K, dims=[0, 1]).per_sample(z((1.0, 2.0, 3.0)))
    not0 = AxisAlignedSubspace(k_bottleneck=K, dims=[0], invert=True).per_sample(z((1.0, 2.0, 3.0)))
    assert keep01.item() == 9.0 and not0.item() == 1.0


def test_separate_sums_other_samples_and_ignores_duplicates():
    batch = z((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
    loss = Separate(k_bottleneck=K, power=1.0).per_sample(batch)
    # sample 0: partner 1 is orthogonal ((0+1)/2 = 0.5), partner 2 is a duplicate (ignored)
    assert torch.allclose(loss, torch.tensor([[0.5, 1.0, 0.5]]))


def test_label_weighting_rule_and_skip_without_labels():
    reg = Unitarity(k_bottleneck=K, labels={"red": 1.0, "vibrant": 0.5})
    batch = z((2.0, 0, 0), (3.0, 0, 0), (1.0, 0, 0))  # per-sample 1, 4, 0
    labels = {"red": torch.tensor([[1.0, 0.0, 0.0]]), "vibrant": torch.tensor([[1.0, 1.0, 0.0]])}
    # w = clamp([1.5, 0.5, 0]) = [1, 0.5, 0]  ->  (1*1 + 4*0.5) / 1.5 = 2
    assert reg.batch_loss(batch, labels).item() == pytest.approx(2.0)
    none = {"red": torch.zeros(1, 3), "vibrant": torch.zeros(1, 3)}
    assert reg.batch_loss(batch, none).item() == 0.0
    assert Unitarity(k_bottleneck=K).batch_loss(batch, {}).item() == pytest.approx(5 / 3)


@pytest.mark.parametrize("make, message", [
    (lambda: Anchor(k_bottleneck=4, vector=[1.0, 0.0]), "k_bottleneck=4"),
    (lambda: Anchor(k_bottleneck=4, axis=4), "axis=4"),
    (lambda: AntiAnchor(k_bottleneck=4, form="half"), "hemisphere"),
    (lambda: AxisAlignedSubspace(k_bottleneck=4, dims=[5]), "dims=[5]"),
    (lambda: Unitarity(k_bottleneck=4, layer="decoder"), "bottleneck"),
])
def test_bad_parameters_name_the_value(make, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


def test_gradients_stay_within_member():
    batch = torch.randn(2, 8, K, requires_grad=True)
    Separate(k_bottleneck=K).batch_loss(batch, {})[0].backward()
    assert batch.grad[1].abs().sum() == 0 and math.isfinite(batch.grad[0].abs().sum().item())
