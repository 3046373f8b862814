import torch

from excolor.core.ablation import AblationConfig, AblationMethod, ablate, apply_ablation, prune
from excolor.core.model import ColorMLP, ModelConfig


def test_shapes_and_unit_bottleneck():
    model = ColorMLP(ModelConfig(k_bottleneck=5, width=16, n_hidden=2), seeds=[0, 1, 2])
    recon, acts = model(torch.rand(7, 3))
    assert recon.shape == (3, 7, 3)
    assert acts["encoder"].shape == acts["bottleneck"].shape == (3, 7, 5)
    assert torch.allclose(acts["bottleneck"].norm(dim=-1), torch.ones(3, 7), atol=1e-5)
    assert sum(isinstance(m, torch.nn.GELU) for m in model.encoder) == 2


def test_member_init_depends_only_on_its_seed():
    stacked = ColorMLP(ModelConfig(k_bottleneck=5, n_hidden=2), seeds=[3, 7])
    alone = ColorMLP(ModelConfig(k_bottleneck=5, n_hidden=2), seeds=[7])
    x = torch.rand(20, 3)
    assert torch.equal(stacked(x)[0][1], alone(x)[0][0])
    assert not torch.equal(stacked(x)[0][0], stacked(x)[0][1])
    assert torch.equal(stacked.member(1)(x)[0][0], alone(x)[0][0])


def test_ablate_and_prune_give_identical_reconstructions():
    model = ColorMLP(ModelConfig(k_bottleneck=5, n_hidden=2), seeds=[0, 1])
    x = torch.rand(50, 3)
    zeroed, pruned = ablate(model, "bottleneck", [0, 3]), prune(model, "bottleneck", [0, 3])
    assert zeroed.producer.weight.shape == model.producer.weight.shape
    assert pruned.config.k_bottleneck == 3 and pruned.producer.weight.shape[1] == 3
    assert torch.allclose(zeroed.reconstruct(x), pruned.reconstruct(x), atol=1e-6)
    assert not torch.allclose(zeroed.reconstruct(x), model.reconstruct(x))
    assert torch.equal(zeroed.encode(x)[..., [0, 3]], torch.zeros(2, 50, 2))


def test_ablation_none_is_identity_and_original_untouched():
    model = ColorMLP(ModelConfig(k_bottleneck=5, n_hidden=2), seeds=[0])
    before = model.producer.weight.clone()
    assert apply_ablation(model, AblationConfig(dims=[])) is model
    apply_ablation(model, AblationConfig(dims=[0], method=AblationMethod.prune))
    assert torch.equal(model.producer.weight, before)
