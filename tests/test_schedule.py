"""Tests for excolor.core.schedule (dopesheet schedules)."""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from excolor.core.schedule import (
    Dopesheet,
    Interpolation,
    ScheduleError,
    Track,
    min_jerk,
    normalise_name,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHEETS = SHARED / "reference" / "dopesheets"

EXPECTED = {
    "ex-2.8": ((0, 10, 500, 1000, 2800, 3000), 3001),
    "ex-2.9": ((0, 10, 500, 1000, 2800, 3000), 3001),
    "ex-2.9.1": ((0, 10, 248, 750, 1425, 1500), 1501),
    "ex-2.10": ((0, 10, 375, 750, 1425, 1500), 1501),
    "ex-2.10.1": ((0, 10, 248, 495, 750, 1125, 1425, 1500), 1501),
}

KNOWN = {"separate", "anchor", "anti_anchor", "anti_subspace", "unit", "planar_v", "planar_d"}


def reference(name: str) -> Path:
    path = SHEETS / f"{name}.csv"
    if not path.is_file():
        pytest.skip(f"reference dopesheet {path} not available")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    return path


# --- reference sheets -------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_sheets_resolve(name):
    sheet = Dopesheet.from_csv(reference(name))
    steps, n_steps = EXPECTED[name]
    assert sheet.row_steps == steps
    assert sheet.n_steps == n_steps
    resolved = sheet.resolve()
    assert "lr" in resolved
    for arr in resolved.values():
        assert arr.shape == (n_steps,) and arr.dtype == np.float64
        assert np.all(np.isfinite(arr))
    assert sheet.value("lr", 0) == pytest.approx(1e-8)
    assert sheet.value("lr", n_steps - 1) == pytest.approx(0.05)


def test_reference_names_are_normalised():
    sheet = Dopesheet.from_csv(reference("ex-2.8"))
    assert list(sheet.tracks) == ["lr", "separate", "anchor", "anti_anchor", "unit"]
    sheet = Dopesheet.from_csv(reference("ex-2.10"))
    assert "anti_subspace" in sheet.tracks


def test_ex29_planar_v_unselected_warns(caplog):
    sheet = Dopesheet.from_csv(reference("ex-2.9"))
    assert "planar_v" in sheet.tracks
    selected = KNOWN - {"planar_v"}
    with caplog.at_level(logging.WARNING, logger="excolor.core.schedule"):
        warnings = sheet.check_names(known=KNOWN, selected=selected)
    assert len(warnings) == 1 and "'planar_v'" in warnings[0] and "no effect" in warnings[0]
    assert "planar_v" in caplog.text
    assert sheet.check_names(known=KNOWN, selected=KNOWN) == []


def test_unknown_column_name_raises():
    sheet = Dopesheet.from_csv(reference("ex-2.9"))
    with pytest.raises(ScheduleError, match="planar_v") as info:
        sheet.check_names(known=KNOWN - {"planar_v"}, selected=KNOWN - {"planar_v"})
    assert "anchor" in str(info.value) and "lr" in str(info.value)


# Hand-written YAML-style equivalent of ex-2.8.csv.
EX_2_8_KEYFRAMES = [
    {"step": 0, "lr": 1.0e-8, "separate": 0.01, "anchor": 0.02, "anti_anchor": 0.01, "unit": 0.01},
    {"step": "+10", "lr": 0.01},
    {"step": "+0.5", "separate": 0.01},
    {"step": 1000, "lr": 0.1, "separate": 0.01, "anchor": 0.05, "anti_anchor": 0.1, "unit": 0.1},
    {"step": "+0.9", "separate": 0, "anchor": 0, "anti_anchor": 0, "unit": 0},
    {"step": "3000", "lr": 0.05, "separate": 0, "anchor": 0, "anti_anchor": 0, "unit": 0},
]


def test_keyframes_match_csv():
    csv_sheet = Dopesheet.from_csv(reference("ex-2.8"))
    kf_sheet = Dopesheet.from_keyframes(EX_2_8_KEYFRAMES)
    assert kf_sheet.row_steps == csv_sheet.row_steps and kf_sheet.n_steps == csv_sheet.n_steps
    a, b = csv_sheet.resolve(), kf_sheet.resolve()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


# --- interpolation ----------------------------------------------------------------------

def test_min_jerk_shape():
    t = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(min_jerk(t), [0.0, 0.5, 1.0])


def test_minjerk_midpoint_is_mean_and_holds_before_first_key(tmp_path):
    sheet = Dopesheet.from_csv(write(tmp_path, "STEP,PHASE,ACTION,a,b\n0,,,,5\n10,,,2,\n20,,,4,7\n"))
    a = sheet.tracks["a"].resolve(sheet.n_steps)
    assert a[15] == pytest.approx(3.0)          # minjerk midpoint = mean of endpoints
    assert np.all(a[:11] == 2.0)                 # holds first keyframe before it
    assert a[12] < 2.0 + 0.2 * 2.0               # eased: slower than linear near the start
    assert sheet.value("b", 10) == pytest.approx(6.0)
    assert sheet.value("b", 100) == 7.0          # holds last keyframe after it


def test_step_easing_holds(tmp_path):
    sheet = Dopesheet.from_csv(write(tmp_path, "STEP,lr::step\n0,1\n10,2\n20,3\n"))
    lr = sheet.resolve()["lr"]
    assert sheet.tracks["lr"].interpolation == Interpolation("linear", "step")
    np.testing.assert_array_equal(lr[:10], 1.0)
    np.testing.assert_array_equal(lr[10:20], 2.0)
    assert lr[20] == 3.0


def test_log_linear_midpoint_is_geometric_mean(tmp_path):
    sheet = Dopesheet.from_csv(write(tmp_path, "STEP,lr:log:linear,x::linear\n0,1e-4,0\n100,1e-2,10\n"))
    r = sheet.resolve()
    assert r["lr"][50] == pytest.approx(1e-3)
    assert r["x"][25] == pytest.approx(2.5)
    kf = Dopesheet.from_keyframes([{"step": 0, "lr": 1e-4}, {"step": 100, "lr": 1e-2}],
                                  {"lr": {"space": "log", "easing": "linear"}})
    np.testing.assert_allclose(kf.resolve()["lr"], r["lr"])


def test_log_with_zero_endpoint_falls_back_to_linear(tmp_path):
    sheet = Dopesheet.from_csv(write(tmp_path, "STEP,a:log:linear\n0,1\n10,0\n20,0.5\n"))
    a = sheet.resolve()["a"]
    assert a[5] == pytest.approx(0.5) and a[15] == pytest.approx(0.25)
    assert np.all(np.isfinite(a))


def test_track_resolve_directly():
    track = Track("lr", (2, 4), (1.0, 3.0), Interpolation(easing="linear"))
    np.testing.assert_allclose(track.resolve(6), [1, 1, 1, 2, 3, 3])


def test_fraction_steps_and_relative_int(tmp_path):
    sheet = Dopesheet.from_keyframes([{"step": 0, "x": 0}, {"step": "+0.25"}, {"step": "+1"}, {"step": 100, "x": 1}])
    assert sheet.row_steps == (0, 25, 26, 100)


@pytest.mark.parametrize("raw,name", [("reg-anti-anchor", "anti_anchor"), ("anti-subspace", "anti_subspace"),
                                      ("lr", "lr"), ("reg-planar-v", "planar_v")])
def test_normalise_name(raw, name):
    assert normalise_name(raw) == name


# --- errors -----------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(ScheduleError, match="schedule file not found: .*nope.csv"):
        Dopesheet.from_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize("text,needle", [
    ("PHASE,lr\nx,1\n", "STEP"),
    ("STEP,lr\nabc,1\n", "abc"),
    ("STEP,lr\n5.5,1\n", "5.5"),
    ("STEP,lr\n-5,1\n", "negative"),
    ("STEP,lr\n0,1\n10,2\n5,3\n", "row 2"),
    ("STEP,lr\n0,1\n+0,2\n", "row 1"),
    ("STEP,lr\n0,1\n+1.5,2\n10,3\n", r"fraction must be in \(0,1\)"),
    ("STEP,lr\n0,1\n+0.0,2\n10,3\n", r"fraction must be in \(0,1\)"),
    ("STEP,lr\n0,1\n+0.5,2\n", "no absolute step after"),
    ("STEP,lr\n0,1\n10,fast\n", "'fast'"),
    ("STEP,lr:cubic\n0,1\n", "cubic"),
    ("STEP,lr::bounce\n0,1\n", "bounce"),
    ("", "empty"),
    ("STEP,PHASE,ACTION,lr\n", "no rows"),
    ("STEP,PHASE,ACTION\n0,,\n", "no property columns"),
    ("STEP,lr,anchor\n0,1,\n10,2,\n", "'anchor'"),
    ("STEP,lr\n+10,1\n20,2\n", "first row"),
    ("STEP,lr\n0,1\n10,2\n+0.5,3\n20,4\n30,5\n+0.95,6\n30,7\n", "row 5"),
    ("STEP,reg-anchor,anchor\n0,1,2\n", "duplicate"),
])
def test_csv_errors(tmp_path, text, needle):
    with pytest.raises(ScheduleError, match=needle):
        Dopesheet.from_csv(write(tmp_path, text))


def test_error_messages_list_allowed(tmp_path):
    with pytest.raises(ScheduleError, match="minjerk, linear, step"):
        Dopesheet.from_csv(write(tmp_path, "STEP,lr::bounce\n0,1\n"))
    with pytest.raises(ScheduleError, match="linear, log"):
        Interpolation(space="cubic")


@pytest.mark.parametrize("keyframes,interp,needle", [
    ([{"step": 0, "lr": 1}], {"lr": {"space": "cubic"}}, "cubic"),
    ([{"step": 0, "lr": 1}], {"lr": {"easing": "bounce"}}, "bounce"),
    ([{"step": 0, "lr": 1}], {"lr": {"shape": "x"}}, "shape"),
    ([{"step": 0, "lr": 1}], {"anchor": {"space": "log"}}, "anchor"),
    ([{"step": 0, "lr": 1}, {"step": "+1.5", "lr": 2}, {"step": 10}], None, "fraction"),
    ([{"step": 0, "lr": 1}, {"step": 10, "lr": "fast"}], None, "fast"),
    ([{"step": 0, "lr": 1}, {"step": 0.5, "lr": 2}], None, "0.5"),
    ([{"lr": 1}], None, "step"),
    ([], None, "no rows"),
    ([{"step": 0, "lr": -1}], {"lr": {"space": "log"}}, "negative"),
    ([{"step": 0, "lr": 1}, {"step": "+0.5"}], None, "no absolute step after"),
])
def test_keyframe_errors(keyframes, interp, needle):
    with pytest.raises(ScheduleError, match=needle):
        Dopesheet.from_keyframes(keyframes, interp)


def test_value_unknown_name():
    sheet = Dopesheet.from_keyframes([{"step": 0, "lr": 1}])
    assert sheet.n_steps == 1 and sheet.value("lr", 0) == 1.0
    with pytest.raises(ScheduleError, match="anchor"):
        sheet.value("anchor", 0)
    assert not math.isnan(sheet.value("lr", 10))


def test_stretched_rescales_and_merged_keyframes_keep_the_last_value():
    sheet = Dopesheet.from_keyframes([{"step": 0, "lr": 1.0}, {"step": "+10", "lr": 2.0}, {"step": 1000, "lr": 4.0}])
    longer = sheet.stretched(2001)
    assert longer.n_steps == 2001 and longer.tracks["lr"].steps == (0, 20, 2000)
    short = sheet.stretched(50)  # +10 lands on step 0: the warm-up becomes a jump, never NaN
    assert short.tracks["lr"].steps == (0, 49) and short.tracks["lr"].values == (2.0, 4.0)
    values = short.resolve()["lr"]
    assert np.isfinite(values).all() and values[0] == 2.0 and values[-1] == 4.0
