"""Hyper-parameter schedules ("dopesheets") read from CSV or from YAML-style keyframes.

A dopesheet is a table of rows; each row has a STEP and zero or more property cells.
STEP is ``N`` (absolute), ``+N`` (N steps after the previous row) or ``+f`` with
0 < f < 1 (fraction f of the span between the previous and the next *absolute* step;
the result is ``round(prev + f * (next - prev))``).  A blank cell is "no keyframe".
A property holds its first value before its first keyframe and its last value after
its last one; in between it eases (minimum-jerk by default).  CSV headers may carry
modifiers ``name:log``, ``name::linear``, ``name::step``, ``name:log:linear``.

In log space a segment whose endpoints are both > 0 is interpolated geometrically; a
segment with a 0 endpoint falls back to value space (so a schedule can decay to 0).
Negative values in a log-space property are an error.
"""
from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Collection, Mapping, Optional, Sequence

import numpy as np

from excolor.core.domains import schedule_cell_problem

log = logging.getLogger(__name__)

SPACES = ("linear", "log")
EASINGS = ("minjerk", "linear", "step")
IGNORED_COLUMNS = ("PHASE", "ACTION")
_ABS = re.compile(r"-?\d+")
_REL_INT = re.compile(r"\+(\d+)")
_REL_FRAC = re.compile(r"\+(\d+\.\d*|\.\d+)")


class ScheduleError(ValueError):
    """A dopesheet that cannot be read; the message names the offending thing."""


def normalise_name(raw: str) -> str:
    """``reg-anti-anchor`` -> ``anti_anchor``: strip a leading ``reg-``, ``-`` -> ``_``."""
    name = raw.strip()
    if name.startswith("reg-"):
        name = name[len("reg-"):]
    return name.replace("-", "_")


def min_jerk(t: np.ndarray) -> np.ndarray:
    """Minimum-jerk easing 6t^5 - 15t^4 + 10t^3 for t in [0, 1]."""
    t = np.asarray(t, dtype=np.float64)
    return t**3 * (10.0 + t * (-15.0 + 6.0 * t))


_EASE = {
    "minjerk": min_jerk,
    "linear": lambda t: np.asarray(t, dtype=np.float64),
    "step": lambda t: (np.asarray(t) >= 1.0).astype(np.float64),
}


@dataclass(frozen=True)
class Interpolation:
    """How a property moves between keyframes: value ``space`` and ``easing`` curve."""

    space: str = "linear"  # "linear" | "log"
    easing: str = "minjerk"  # "minjerk" | "linear" | "step"

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ScheduleError(f"unknown interpolation space {self.space!r}; allowed: {', '.join(SPACES)}")
        if self.easing not in EASINGS:
            raise ScheduleError(f"unknown interpolation easing {self.easing!r}; allowed: {', '.join(EASINGS)}")


@dataclass(frozen=True)
class Track:
    """One property's keyframes (strictly increasing ``steps``) and its interpolation."""

    name: str
    steps: tuple[int, ...]
    values: tuple[float, ...]
    interpolation: Interpolation = Interpolation()

    def evaluate(self, at: np.ndarray) -> np.ndarray:
        """Value at each (integer) step in ``at``; holds the end values outside the keyframes."""
        at = np.asarray(at, dtype=np.float64)
        steps, values = np.asarray(self.steps, np.float64), np.asarray(self.values, np.float64)
        if len(steps) == 1:
            return np.full(at.shape, values[0])
        i = np.clip(np.searchsorted(steps, at, side="right") - 1, 0, len(steps) - 2)
        t = np.clip((at - steps[i]) / (steps[i + 1] - steps[i]), 0.0, 1.0)
        e, a, b = _EASE[self.interpolation.easing](t), values[i], values[i + 1]
        out = a + (b - a) * e
        if self.interpolation.space == "log":
            geo = (a > 0) & (b > 0)  # segments touching 0 stay in value space
            la, lb = np.log(np.where(geo, a, 1.0)), np.log(np.where(geo, b, 1.0))
            out = np.where(geo, np.exp(la + (lb - la) * e), out)
        return out

    def resolve(self, n_steps: int) -> np.ndarray:
        """Float64 array with the value at every step 0..n_steps-1."""
        return self.evaluate(np.arange(n_steps))


@dataclass(frozen=True)
class Dopesheet:
    """A resolved schedule: one Track per (normalised) property, ``n_steps`` = last STEP + 1."""

    n_steps: int
    tracks: dict[str, Track]
    row_steps: tuple[int, ...]

    @classmethod
    def from_csv(cls, path: str | Path) -> "Dopesheet":
        """Read a dopesheet CSV (header ``STEP,PHASE,ACTION,<prop>[:space[:easing]],...``)."""
        path = Path(path)
        if path.is_dir():
            raise ScheduleError(f"schedule file {path} is a directory; schedule.csv must name a CSV dopesheet")
        if not path.is_file():
            raise ScheduleError(f"schedule file not found: {path}")
        try:
            with path.open(newline="", encoding="utf-8-sig") as f:
                lines = [r for r in csv.reader(f) if any(c.strip() for c in r)]
        except (UnicodeDecodeError, csv.Error, OSError) as error:  # a binary file, NUL bytes, unreadable
            raise ScheduleError(f"{path}: not a readable CSV dopesheet ({type(error).__name__}: {error}); "
                                "expected UTF-8 text with a header STEP,PHASE,ACTION,<properties>") from None
        if not lines:
            raise ScheduleError(f"{path}: the schedule is empty; it needs a header STEP,PHASE,ACTION,<properties> and rows")
        header = [h.strip() for h in lines[0]]
        if "STEP" not in [h.upper() for h in header]:
            raise ScheduleError(f"{path}: no STEP column in header {header}; the first column must be STEP")
        step_col = [h.upper() for h in header].index("STEP")
        columns: dict[int, tuple[str, Interpolation]] = {}
        for j, h in enumerate(header):
            if j != step_col and h.upper() not in IGNORED_COLUMNS:
                columns[j] = _parse_header(h, path)
        rows = []
        for k, line in enumerate(lines[1:]):
            if len(line) > len(header) and any(c.strip() for c in line[len(header):]):
                raise ScheduleError(f"{path}: row {k} has {len(line)} cells but the header has {len(header)} columns")
            line = line + [""] * (len(header) - len(line))
            rows.append((line[step_col], {columns[j][0]: line[j] for j in columns}))
        interp = {name: it for name, it in columns.values()}
        if len(interp) != len(columns):
            names = [n for n, _ in columns.values()]
            raise ScheduleError(f"{path}: duplicate property columns after normalisation: {names}")
        return _build(str(path), interp, rows)

    @classmethod
    def from_keyframes(
        cls,
        keyframes: Sequence[Mapping[str, Any]],
        interpolation: Mapping[str, Mapping[str, str]] | None = None,
    ) -> "Dopesheet":
        """Build from YAML-style rows ``{step: 0 | "+10" | "+0.5", <prop>: value, ...}``.

        A missing key (or None / "") is a blank cell; ``interpolation`` maps a property to
        ``{space: linear|log, easing: minjerk|linear|step}``.
        """
        source = "keyframes"
        if not isinstance(keyframes, Sequence) or isinstance(keyframes, (str, bytes)):
            raise ScheduleError(f"{source}: expected a list of rows, got {type(keyframes).__name__}")
        names: dict[str, Interpolation] = {}
        rows = []
        for k, row in enumerate(keyframes):
            if not isinstance(row, Mapping) or "step" not in row:
                raise ScheduleError(f"{source}: row {k} ({row!r}) must be a mapping with a 'step' key")
            cells = {}
            for key, cell in row.items():
                if key in ("step", "phase", "action"):
                    continue
                if ":" in str(key):
                    raise ScheduleError(f"{source}: row {k} key {key!r}: give modifiers in `interpolation`, not in the key")
                cells[normalise_name(str(key))] = cell
                names.setdefault(normalise_name(str(key)), Interpolation())
            rows.append((row["step"], cells))
        for raw, spec in (interpolation or {}).items():
            name = normalise_name(str(raw))
            if name not in names:
                raise ScheduleError(f"{source}: interpolation given for {raw!r}, which no keyframe sets; properties: {sorted(names)}")
            extra = set(spec) - {"space", "easing"}
            if extra:
                raise ScheduleError(f"{source}: interpolation for {raw!r} has unknown keys {sorted(extra)}; allowed: space, easing")
            try:
                names[name] = Interpolation(**{k: str(v) for k, v in spec.items()})
            except ScheduleError as e:
                raise ScheduleError(f"{source}: interpolation for {raw!r}: {e}") from None
        return _build(source, names, rows)

    def stretched(self, n_steps: int) -> "Dopesheet":
        """The same sheet with every keyframe step rescaled so the sheet spans `n_steps` steps."""
        if n_steps < 2:
            raise ScheduleError(f"schedule.n_steps={n_steps} must be >= 2")
        scale = (n_steps - 1) / max(self.n_steps - 1, 1)
        tracks = {name: _rescaled(track, scale, n_steps) for name, track in self.tracks.items()}
        return Dopesheet(n_steps, tracks, tuple(round(s * scale) for s in self.row_steps))

    def resolve(self) -> dict[str, np.ndarray]:
        """Every track resolved to ``n_steps`` float64 values."""
        return {name: tr.resolve(self.n_steps) for name, tr in self.tracks.items()}

    def value(self, name: str, step: int) -> float:
        """Value of property ``name`` at ``step`` (held constant outside the keyframes)."""
        if name not in self.tracks:
            raise ScheduleError(f"schedule has no property {name!r}; properties: {sorted(self.tracks)}")
        return float(self.tracks[name].evaluate(np.array([step]))[0])

    def check_names(self, known: Collection[str], selected: Collection[str]) -> list[str]:
        """Raise on a column that is neither ``lr`` nor in ``known``; warn on known-but-unselected ones."""
        warnings = []
        for name in self.tracks:
            if name == "lr":
                continue
            if name not in known:
                allowed = ", ".join(sorted({"lr", *known}))
                raise ScheduleError(f"schedule column {name!r} is not a known regularizer; allowed names: {allowed}")
            if name not in selected:
                msg = f"schedule column {name!r} names regularizer {name!r}, which this run does not select: it has no effect"
                log.warning(msg)
                warnings.append(msg)
        return warnings


def _parse_header(raw: str, source: str | Path) -> tuple[str, Interpolation]:
    parts = raw.split(":")
    if len(parts) > 3 or not parts[0].strip():
        raise ScheduleError(f"{source}: column header {raw!r} is not of the form name[:space[:easing]]")
    space = parts[1].strip() if len(parts) > 1 and parts[1].strip() else "linear"
    easing = parts[2].strip() if len(parts) > 2 and parts[2].strip() else "minjerk"
    try:
        return normalise_name(parts[0]), Interpolation(space, easing)
    except ScheduleError as e:
        raise ScheduleError(f"{source}: column {raw!r}: {e}") from None


def _parse_step(raw: Any, k: int, source: str) -> tuple[str, float]:
    """Classify a STEP cell as ("abs", N), ("int", N) or ("frac", f)."""
    where = f"{source}: row {k} STEP {raw!r}"
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
        text = str(int(raw))
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        raise ScheduleError(f"{where} is not a step; write N, +N or +f with 0 < f < 1")
    if _ABS.fullmatch(text):
        if int(text) < 0:
            raise ScheduleError(f"{where} is negative; steps must be >= 0")
        return "abs", int(text)
    if m := _REL_INT.fullmatch(text):
        return "int", int(m.group(1))
    if m := _REL_FRAC.fullmatch(text):
        f = float(m.group(1))
        if not 0.0 < f < 1.0:
            raise ScheduleError(f"{where}: fraction must be in (0,1); write +N (no decimal point) for N steps")
        return "frac", f
    raise ScheduleError(f"{where} cannot be parsed; write N (absolute), +N (relative) or +f with 0 < f < 1")


def _parse_value(raw: Any, k: int, name: str, source: str) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        v = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        raise ScheduleError(f"{source}: row {k} column {name!r} value {raw!r} is not a number") from None
    if not math.isfinite(v):
        raise ScheduleError(f"{source}: row {k} column {name!r} value {raw!r} is not finite")
    problem = schedule_cell_problem(name, v)
    if problem:
        raise ScheduleError(f"{source}: row {k} column {name!r} value {raw!r} {problem}")
    return v


def _resolve_steps(raw_steps: Sequence[Any], source: str) -> list[int]:
    kinds = [_parse_step(s, k, source) for k, s in enumerate(raw_steps)]
    if kinds[0][0] != "abs":
        raise ScheduleError(f"{source}: the first row's STEP {raw_steps[0]!r} must be absolute (e.g. 0)")
    absolute = [k for k, (kind, _) in enumerate(kinds) if kind == "abs"]
    steps: list[int] = []
    for k, (kind, x) in enumerate(kinds):
        if kind == "abs":
            s = int(x)
        elif kind == "int":
            s = steps[-1] + int(x)
        else:
            prev = max(a for a in absolute if a < k)
            after = [a for a in absolute if a > k]
            if not after:
                raise ScheduleError(f"{source}: row {k} STEP {raw_steps[k]!r} is a fraction with no absolute step after it")
            lo, hi = kinds[prev][1], kinds[after[0]][1]
            s = int(round(lo + x * (hi - lo)))
        if steps and s <= steps[-1]:
            raise ScheduleError(
                f"{source}: steps must increase, but row {k} STEP {raw_steps[k]!r} resolves to {s}, "
                f"not after row {k - 1}'s {steps[-1]}")
        steps.append(s)
    return steps


def _build(source: str, interp: Mapping[str, Interpolation], rows: Sequence[tuple[Any, Mapping[str, Any]]]) -> Dopesheet:
    if not rows:
        raise ScheduleError(f"{source}: the schedule has no rows")
    if not interp:
        raise ScheduleError(f"{source}: the schedule has no property columns (only STEP/PHASE/ACTION)")
    steps = _resolve_steps([r[0] for r in rows], source)
    tracks = {}
    for name, it in interp.items():
        keys = [(s, v) for k, (s, (_, cells)) in enumerate(zip(steps, rows))
                if (v := _parse_value(cells.get(name), k, name, source)) is not None]
        if not keys:
            raise ScheduleError(f"{source}: property column {name!r} has no values at all")
        if it.space == "log" and any(v < 0 for _, v in keys):
            raise ScheduleError(f"{source}: property {name!r} is interpolated in log space but has negative values")
        tracks[name] = Track(name, tuple(s for s, _ in keys), tuple(v for _, v in keys), it)
    return Dopesheet(n_steps=steps[-1] + 1, tracks=tracks, row_steps=tuple(steps))


def _rescaled(track: Track, scale: float, n_steps: int) -> Track:
    """`track` with its keyframe steps scaled; keyframes that land on one step keep the last value."""
    by_step: dict[int, float] = {}
    for step, value in zip(track.steps, track.values):
        by_step[round(step * scale)] = value
    if len(by_step) < len(track.steps):
        log.warning(f"schedule.n_steps={n_steps} merges keyframes of {track.name!r} at steps {list(track.steps)}: "
                    "the shorter ramps become jumps")
    return replace(track, steps=tuple(by_step), values=tuple(by_step.values()))


@dataclass
class ScheduleConfig:
    """A dopesheet given as YAML keyframes or as a CSV file (`csv`, relative to the working dir).

    `n_steps` stretches or compresses the sheet's timing to that many steps (null: the sheet's own);
    `lr_scale` multiplies the learning-rate track (the peak learning rate, for sweeps).
    """

    csv: Optional[str] = None
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    interpolation: dict[str, dict[str, str]] = field(default_factory=dict)
    n_steps: Optional[int] = None
    lr_scale: float = 1.0


def load_schedule(config: ScheduleConfig) -> Dopesheet:
    """The run's dopesheet, from `csv` or `keyframes` (exactly one), stretched to `n_steps` if set."""
    if (config.csv is None) == (not config.keyframes):
        raise ScheduleError("schedule: give exactly one of schedule.csv (a dopesheet file) or schedule.keyframes")
    if config.csv is not None:
        sheet = Dopesheet.from_csv(config.csv)
    else:
        sheet = Dopesheet.from_keyframes(config.keyframes, config.interpolation)
    if config.n_steps is not None:
        sheet = sheet.stretched(config.n_steps)
    if config.lr_scale <= 0:
        raise ScheduleError(f"schedule.lr_scale={config.lr_scale} must be > 0")
    return sheet
