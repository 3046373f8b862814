import torch

from excolor.core import colors
from excolor.core.data import ColorDataModule, DataConfig, GridKind, SamplerKind, sample_indices, training_grid
from excolor.core.labels import LabelsConfig, LabelSpec, draw_labels, label_probabilities

RED_ONLY = LabelsConfig(hard=True, concepts={"red": LabelSpec("redness", 0.5, 2.0)})


def test_weighted_sampler_follows_hsv_bias():
    config = DataConfig(grid=GridKind.hsv, grid_shape=[36, 10, 10], sampler=SamplerKind.weighted)
    rgb, weights = training_grid(config)
    assert rgb.shape == (3600, 3) and weights is not None
    draws = sample_indices(len(rgb), weights, 400_000, torch.Generator().manual_seed(0))
    frequency = torch.bincount(draws, minlength=len(rgb)).float() / len(draws)
    expected = weights / weights.sum()
    assert torch.allclose(frequency, expected, atol=0.002)


def test_uniform_sampler_covers_rgb_grid():
    rgb, weights = training_grid(DataConfig(grid=GridKind.rgb, grid_shape=[8], sampler=SamplerKind.uniform))
    assert rgb.shape == (512, 3) and weights is None
    draws = sample_indices(512, None, 100_000, torch.Generator().manual_seed(0))
    assert torch.bincount(draws, minlength=512).min() > 100


def test_labels_soft_and_hard():
    rgb = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    p = label_probabilities(rgb, RED_ONLY)
    assert torch.allclose(p[:, 0], torch.tensor([0.5, 0.0]))
    hard = draw_labels(p.expand(10_000, 2, 1).reshape(-1, 1), True, torch.Generator().manual_seed(0))
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    assert abs(hard.view(10_000, 2)[:, 0].mean().item() - 0.5) < 0.03 and hard.view(10_000, 2)[:, 1].sum() == 0
    assert torch.equal(draw_labels(p, False, torch.Generator()), p)
    assert torch.allclose(colors.redness(rgb), torch.tensor([1.0, 0.0]))


def test_member_stream_depends_only_on_its_seed():
    config = DataConfig(grid=GridKind.rgb, grid_shape=[8], sampler=SamplerKind.uniform, batch_size=16)
    stacked = ColorDataModule(config, [RED_ONLY] * 3, seeds=[5, 9, 5], n_steps=20)
    alone = ColorDataModule(config, [RED_ONLY], seeds=[9], n_steps=20)
    stacked.setup(), alone.setup()
    for step in (0, 7, 19):
        colors_s, labels_s = stacked.dataset[step]
        colors_a, labels_a = alone.dataset[step]
        assert torch.equal(colors_s[1], colors_a[0]) and torch.equal(labels_s[1], labels_a[0])
        assert torch.equal(colors_s[0], colors_s[2]) and not torch.equal(colors_s[0], colors_s[1])
