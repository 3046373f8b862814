import math

import pytest
import torch

from excolor.core.regularizers import Anchor, AngularAnchor, AntiAnchor, AxisAlignedSubspace, Separate, Unitarity

K = 3


def z(*rows):
    return torch.tensor([rows], dtype=torch.float32)  # [M=1, B, K]


def test_per_sample_formulas():
    batch = z((2.0, 0.0, 0.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0))
    assert Unitarity.of(K).per_sample(batch).tolist() == [[1.0, 0.0, 0.0]]
    assert Anchor.of(K, axis=0).per_sample(batch).tolist() == [[1.0, 2.0, 4.0]]
    assert torch.allclose(AngularAnchor.of(K, axis=0).per_sample(batch), torch.tensor([[0.0, 1.0, 2.0]]))
    hemi = AntiAnchor.of(K, axis=0, sign=-1.0).per_sample(batch)
    full = AntiAnchor.of(K, axis=0, sign=-1.0, form="full").per_sample(batch)
    assert torch.allclose(hemi, torch.tensor([[0.0, 0.0, 1.0]]))
    assert torch.allclose(full, torch.tensor([[0.0, 0.5, 1.0]]))
    keep01 = AxisAlignedSubspace.of(K, dims=[0, 1]).per_sample(z((1.0, 2.0, 3.0)))
    not0 = AxisAlignedSubspace.of(K, dims=[0], invert=True).per_sample(z((1.0, 2.0, 3.0)))
    assert keep01.item() == 9.0 and not0.item() == 1.0


def test_separate_sums_other_samples_and_ignores_duplicates():
    batch = z((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
    loss = Separate.of(K, power=1.0).per_sample(batch)
    # sample 0: partner 1 is orthogonal ((0+1)/2 = 0.5), partner 2 is a duplicate (ignored)
    assert torch.allclose(loss, torch.tensor([[0.5, 1.0, 0.5]]))


def test_label_weighting_rule_and_skip_without_labels():
    reg = Unitarity.of(K, labels={"red": 1.0, "vibrant": 0.5})
    batch = z((2.0, 0, 0), (3.0, 0, 0), (1.0, 0, 0))  # per-sample 1, 4, 0
    labels = {"red": torch.tensor([[1.0, 0.0, 0.0]]), "vibrant": torch.tensor([[1.0, 1.0, 0.0]])}
    # w = clamp([1.5, 0.5, 0]) = [1, 0.5, 0]  ->  (1*1 + 4*0.5) / 1.5 = 2
    assert reg.batch_loss(batch, labels).item() == pytest.approx(2.0)
    none = {"red": torch.zeros(1, 3), "vibrant": torch.zeros(1, 3)}
    assert reg.batch_loss(batch, none).item() == 0.0
    assert Unitarity.of(K).batch_loss(batch, {}).item() == pytest.approx(5 / 3)


@pytest.mark.parametrize("make, message", [
    (lambda: Anchor.of(4, vector=[1.0, 0.0]), "k_bottleneck=4"),
    (lambda: Anchor.of(4, axis=4), "axis=4"),
    (lambda: AntiAnchor.of(4, axis=0, form="half"), "hemisphere"),
    (lambda: AxisAlignedSubspace.of(4, dims=[5]), "dims=[5]"),
    (lambda: Unitarity.of(4, layer="decoder"), "bottleneck"),
])
def test_bad_parameters_name_the_value(make, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


def test_gradients_stay_within_member():
    batch = torch.randn(2, 8, K, requires_grad=True)
    Separate.of(K).batch_loss(batch, {})[0].backward()
    assert batch.grad[1].abs().sum() == 0 and math.isfinite(batch.grad[0].abs().sum().item())


@pytest.fixture
def anti_anchor_sign_changed(monkeypatch):
    """AntiAnchor's schema with one default changed (sign -0.25), as an edit of that one file would."""
    from dataclasses import field, make_dataclass

    from excolor.core import regularizers
    from excolor.run.config import register_schema

    changed = make_dataclass("AntiAnchorConfig", [("sign", float, field(default=-0.25))],
                             bases=(regularizers.AntiAnchorConfig,))
    monkeypatch.setattr(regularizers.AntiAnchor, "Config", changed)
    monkeypatch.setitem(regularizers.SCHEMAS, changed._target_, changed)
    yield -0.25
    monkeypatch.undo()
    register_schema()  # ConfigStore holds the changed schema until the real one is stored again


def test_a_default_is_defined_once(anti_anchor_sign_changed):
    """The schema is the one source: composed YAML, the class's keyword default and a built instance follow it;
    an override still wins."""
    from excolor.run.checks import compose_config
    from excolor.run.trials import build_regularizers

    sign = anti_anchor_sign_changed
    config = compose_config([])
    assert config.regularizers["anti_anchor"].sign == sign
    assert build_regularizers(config)["anti_anchor"].point.tolist() == [sign, 0.0, 0.0, 0.0, 0.0]
    assert AntiAnchor.of(K, axis=0).point.tolist() == [sign, 0.0, 0.0]
    overridden = compose_config(["regularizers.anti_anchor.sign=0.5"])
    assert build_regularizers(overridden)["anti_anchor"].point.tolist() == [0.5, 0.0, 0.0, 0.0, 0.0]


def test_yaml_holds_only_what_differs_from_its_schema():
    """Every conf/regularizers/*.yaml names a schema and repeats none of its defaults."""
    from dataclasses import MISSING, fields

    from omegaconf import OmegaConf

    from excolor.core.regularizers import SCHEMAS
    from excolor.run.config import CONF_DIR, schema_name

    by_name = {schema_name(s): s for s in SCHEMAS.values()}
    for path in sorted((CONF_DIR / "regularizers").glob("*.yaml")):
        node = OmegaConf.to_container(OmegaConf.load(path))
        [entry, self_] = node.pop("defaults")
        assert self_ == "_self_" and entry.startswith("schema/") and entry.endswith("@_here_"), path
        schema = by_name[entry.removeprefix("schema/").removesuffix("@_here_")]
        defaults = {f.name: f.default if f.default is not MISSING else f.default_factory() for f in fields(schema)}
        repeated = {k: v for k, v in node.items() if defaults.get(k, object()) == v}
        assert not repeated, (path.name, repeated)
