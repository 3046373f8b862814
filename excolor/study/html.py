"""`excolor-report --html`: one self-contained page per study that a browser opens from disk, offline.

Optuna's plotly figures (Pareto front with hover, parallel coordinates, importances and history per
objective) and the trial table. plotly.js is inlined once, in the first figure; the others reuse it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import optuna

from excolor.run import outputs
from excolor.study import table as trial_table
from excolor.study.plots import (
    axis_label,
    can_rank_params,
    complete_trials,
    directions,
    importance_target,
    quiet_optuna,
    spans_decades,
)
from excolor.study.records import objective_names
from excolor.study.storage import shown_url

PAGE_FILE = "report.html"


def missing_plotly() -> str | None:
    """Why the page cannot be drawn (plotly is not installed), or None."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return ("--html needs plotly, which is not installed in this environment: pip install plotly "
                "(pip install -e . installs it with excolor)")
    return None


def figures(study: optuna.Study) -> list[tuple[str, Any]]:
    """(section title, plotly figure) for every view the study supports."""
    from optuna import visualization as vis

    names, complete = objective_names(study), complete_trials(study)
    shown: list[tuple[str, Any]] = []
    with quiet_optuna():
        if len(names) >= 2:
            front = vis.plot_pareto_front(study, target_names=[axis_label(study, i) for i in range(len(names))])
            if len(names) == 2:
                for axis, i in (("xaxis", 0), ("yaxis", 1)):
                    if spans_decades([t.values[i] for t in complete]):
                        front.update_layout({axis: {"type": "log"}})
            shown.append(("Pareto front (hover a point: trial number and parameters)", front))
        for i in range(len(names)):
            label = axis_label(study, i)
            target = lambda t, i=i: t.values[i]  # noqa: E731
            # Optuna colours a custom target dark = low whatever its direction; the label names the direction
            shown.append((f"Parallel coordinates: {label} (dark = low values)",
                          vis.plot_parallel_coordinate(study, target=target, target_name=label)))
        if can_rank_params(study):
            for i in range(len(names)):
                label = axis_label(study, i)
                shown.append((f"Parameter importances for {label}",
                              vis.plot_param_importances(study, target=importance_target(study, i),
                                                         target_name=label)))
        for i in range(len(names)):
            label = axis_label(study, i)
            history = vis.plot_optimization_history(study, target=lambda t, i=i: t.values[i], target_name=label)
            if spans_decades([t.values[i] for t in complete]):
                history.update_yaxes(type="log")
            shown.append((f"History: {label}", history))
    return shown


def table_html(study: optuna.Study) -> str:
    header, body = trial_table.rows(study)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{lines}\n</tbody>\n</table>"


STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee;position:sticky;top:0}"""


def page(study: optuna.Study, storage: str) -> str:
    """The whole page as one HTML string."""
    counts = {s.name.lower(): sum(t.state == s for t in study.trials) for s in optuna.trial.TrialState}
    objectives = ", ".join(f"{n} ({d})" for n, d in zip(objective_names(study), directions(study)))
    parts = [f"<h1>{html.escape(study.study_name)}</h1>",
             f"<p>storage {html.escape(shown_url(storage))}; objectives {html.escape(objectives)}; trials: "
             + html.escape(", ".join(f"{n} {k}" for k, n in counts.items() if n)) + "</p>"]
    for index, (title, figure) in enumerate(figures(study)):
        figure.update_layout(height=480)
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(figure.to_html(full_html=False, include_plotlyjs=index == 0))  # inline plotly.js once
    marked = "the Pareto front" if len(study.directions) > 1 else "the best trial"
    parts.append(f"<h2>Trials (sorted by the first objective; * marks {marked})</h2>")
    parts.append(table_html(study))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(study.study_name)}"
            f"</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def write_page(study: optuna.Study, storage: str, out: Path) -> Path:
    """Write `<out>/report.html` (atomically) and return its path."""
    text = page(study, storage)
    out.mkdir(parents=True, exist_ok=True)
    return outputs.write_text(out / PAGE_FILE, text)
