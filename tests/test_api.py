"""excolor.api: compose checks like the command line, a debug=fast run takes seconds, a study's trials as a frame."""

from __future__ import annotations

import time

import pytest

from excolor import api
from excolor.core.metric_names import COLLATERAL


def test_debug_fast_runs_in_under_ten_seconds():
    started = time.perf_counter()
    result = api.run(api.compose(["debug=fast"]))
    wall = time.perf_counter() - started
    assert wall < 10, f"debug=fast took {wall:.1f} s"
    assert result.metrics[COLLATERAL] >= 0 and result.config.schedule.n_steps == 100


@pytest.mark.parametrize("overrides, words", [
    (["model.k_botleneck=6"], ["model.k_botleneck", "did you mean 'k_bottleneck'"]),
    (["+model.k_botleneck=6"], ["k_botleneck", "did you mean 'k_bottleneck'"]),
    (["experiment=ex29"], ["experiment", "did you mean 'ex2_9'"]),
    (["schedule.n_steps=many"], ["schedule.n_steps", "many"]),
])
def test_compose_refuses_mistakes_in_one_paragraph(overrides, words):
    with pytest.raises(api.ConfigError) as caught:
        api.compose(overrides)
    message = str(caught.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_trials_are_one_frame_with_study_and_pareto_columns(tmp_path):
    pytest.importorskip("pandas")
    from tests.test_report import synthetic

    url = f"sqlite:///{tmp_path / 'o.db'}"
    synthetic(url, 6, name="s")
    frame = api.trials(url, "s")
    assert list(frame.columns[:3]) == ["study", "pareto", "number"] and len(frame) == 6
    assert set(frame["study"]) == {"s"} and frame["pareto"].any()
    with pytest.raises(api.ConfigError):
        api.trials(url, "no-such-study")
