"""The bad-input catalogue: every case exits non-zero, before any training step, with a message
that names the offending key or value and what is allowed."""

import pytest

from tests.conftest import FAST, run_cli, run_in_process

SINGLE_RUN = [  # (overrides, words the message must contain)
    (["model=k9"], ["model", "k5_n2"]),                                            # unknown group option
    (["model.depth=3"], ["depth"]),                                                # unknown key
    (["regularizers.anchor.weight=abc"], ["regularizers.anchor", "weight", "abc"]),  # wrong type
    (["model.width=wide"], ["model.width", "wide"]),                               # wrong type (schema)
    (["regularizers=[anchor,bogus]"], ["bogus", "anti_subspace"]),                 # unknown regularizer
    (["model.k_bottleneck=0"], ["model.k_bottleneck"]),                            # zero size
    (["data.batch_size=-1"], ["data.batch_size"]),                                 # negative size
    (["data.grid_shape=[36,10]"], ["data.grid_shape", "[hues, saturations, values]"]),
    (["data.sampler=sideways"], ["data.sampler", "weighted"]),                     # bad enum value
    (["ablation.dims=[7]"], ["ablation.dims", "0..4"]),                            # dim out of range
    (["ablation.dims=[1,1]"], ["ablation.dims", "twice"]),                         # duplicated dim
    (["ablation.layer=decoder"], ["ablation.layer", "bottleneck"]),
    (["regularizers.anchor.vector=[1,0,0]"], ["regularizers.anchor", "k_bottleneck=5"]),  # wrong length
    (["regularizers.anti_anchor.form=half"], ["regularizers.anti_anchor", "hemisphere"]),
    (["eval.concept_rgb=[1.5,0,0]"], ["concept_rgb", "[0, 1]"]),                   # colour outside [0,1]
    (["eval.target_threshold=1.5"], ["target_threshold"]),                         # T empty
    (["eval.collateral_threshold=0.0"], ["collateral_threshold"]),                 # N empty
    (["labels.concepts.red.scale=2"], ["labels.concepts.red.scale", "[0, 1]"]),
    (["trial.aggregate=best"], ["trial.aggregate", "median"]),
    (["schedule.csv=/nonexistent.csv", "schedule.keyframes=[]"], ["/nonexistent.csv"]),  # missing file
    (["+schedule.keyframes.0.bogus_reg=1"], ["bogus_reg", "lr"]),                  # unknown column
    (["schedule.keyframes.3.step=5"], ["step", "5"]),                              # non-monotonic steps
    (["schedule.keyframes.0.step=-3"], ["step", "-3"]),                            # negative step
    (['schedule.keyframes.2.step="+1.5"'], ["fraction", "(0,1)"]),                 # fraction >= 1
    (["schedule.lr_scale=0"], ["schedule.lr_scale"]),
]


def check_rejected(code: int, message: str, words: list[str], run_dir) -> None:
    assert code != 0, message[-2000:]
    for word in words:
        assert word in message, (word, message[-2000:])
    assert "Traceback" not in message, message[-3000:]
    assert not (run_dir / "history.csv").exists()  # no training step ran


@pytest.mark.parametrize("override, words", SINGLE_RUN, ids=[" ".join(o) for o, _ in SINGLE_RUN])
def test_single_run_bad_input(tmp_path, capfd, monkeypatch, override, words):
    monkeypatch.chdir(tmp_path)
    code, message = run_in_process([*FAST, *override, f"hydra.run.dir={tmp_path / 'o'}"], capfd, monkeypatch)
    check_rejected(code, message, words, tmp_path / "o")


@pytest.mark.parametrize("override, words", [SINGLE_RUN[2], SINGLE_RUN[4], SINGLE_RUN[12]])
def test_bad_input_exit_status_of_the_real_command(tmp_path, override, words):
    """The same checks through a real `excolor-train` process, as a user meets them."""
    result = run_cli([*FAST, *override, f"hydra.run.dir={tmp_path / 'o'}"], cwd=tmp_path, timeout=90)
    check_rejected(result.returncode, result.stdout + result.stderr, words, tmp_path / "o")
