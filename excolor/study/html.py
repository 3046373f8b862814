"""`excolor-report --html`: one self-contained page that a browser opens from disk, offline.

For one study: the Pareto front coloured as the PNG (front red, dominated grey, hover for the trial and its
parameters), Optuna's parallel coordinates (dark = best, whatever the direction; parameter names short),
importances and history per objective, and the trial table (click a header to sort). For several studies:
their fronts overlaid, one colour each, a summary with each front's hypervolume, and every study's table.
plotly.js is inlined once, in the first figure; the others reuse it.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import optuna

from excolor.run import outputs
from excolor.run.config import short_name
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
from excolor.study.records import front_numbers, objective_names
from excolor.study.storage import shown_url

PAGE_FILE = "report.html"
COMPARE_FILE = "compare.html"
FRONT_COLOUR, DOMINATED_COLOUR = "#d62728", "#9a9a9a"   # as the PNG (matplotlib's tab:red, grey 0.6)
STUDY_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


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
        if len(names) == 2:
            shown.append(("Pareto front: red, dominated trials grey (hover a point: trial and parameters)",
                          fronts_figure([(study.study_name, study)], single=True)))
        elif len(names) > 2:
            shown.append(("Pareto front (hover a point: trial number and parameters)",
                          vis.plot_pareto_front(study, target_names=[axis_label(study, i) for i in range(len(names))])))
        for i in range(len(names)):
            label = axis_label(study, i)
            shown.append((f"Parallel coordinates: {label} (dark = best)", parallel_figure(study, i)))
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


def parallel_figure(study: optuna.Study, i: int) -> Any:
    """Every complete trial as a line through its parameters (short names; log10 of a log-sampled one) and
    objective i, coloured by that objective with the best trials dark, whatever its direction. (Optuna's own
    figure colours dark = low for a custom target and cuts long parameter names.)"""
    import plotly.graph_objects as go

    complete = complete_trials(study)
    values = [t.values[i] for t in complete]
    names = sorted({p for t in complete for p in t.params})
    dimensions = []
    for name in names:
        log = any(getattr(t.distributions.get(name), "log", False) for t in complete)
        column = [t.params.get(name) for t in complete]
        if any(v is None or not isinstance(v, (int, float)) for v in column):
            continue  # categorical or absent in some trials: not an axis
        dimensions.append({"label": ("log10 " if log else "") + short_name(name),
                           "values": [math.log10(v) if log and v > 0 else v for v in column]})
    dimensions.append({"label": axis_label(study, i), "values": values})
    line = {"color": values, "colorscale": "Blues", "reversescale": directions(study)[i] == "minimize",
            "showscale": True}
    return go.Figure(go.Parcoords(line=line, dimensions=dimensions))


def hover(study_label: str, trial: optuna.trial.FrozenTrial) -> str:
    params = "<br>".join(f"{short_name(k)}: {v:.3g}" if isinstance(v, float) else f"{short_name(k)}: {v}"
                         for k, v in trial.params.items())
    return f"{html.escape(study_label)} trial {trial.number}<br>{params}"


def fronts_figure(studies: list[tuple[str, optuna.Study]], single: bool = False) -> Any:
    """Objective 0 against 1: each study's front a line with markers, its dominated trials faint; one study
    in the PNG's colours (front red, dominated grey), several in one colour each."""
    import plotly.graph_objects as go

    figure = go.Figure()
    everything: list[optuna.trial.FrozenTrial] = []
    for index, (label, study) in enumerate(studies):
        complete = complete_trials(study)
        everything += complete
        front = front_numbers(study)
        best = sorted((t for t in complete if t.number in front), key=lambda t: t.values[0])
        others = [t for t in complete if t.number not in front]
        colour = FRONT_COLOUR if single else STUDY_COLOURS[index % len(STUDY_COLOURS)]
        figure.add_scatter(x=[t.values[0] for t in others], y=[t.values[1] for t in others], mode="markers",
                           name=f"{label}: dominated ({len(others)})", hovertext=[hover(label, t) for t in others],
                           hoverinfo="text+x+y", marker={"color": DOMINATED_COLOUR if single else colour,
                                                         "opacity": 1 if single else 0.3, "size": 7})
        figure.add_scatter(x=[t.values[0] for t in best], y=[t.values[1] for t in best], mode="lines+markers",
                           name=f"{label}: front ({len(best)})", hovertext=[hover(label, t) for t in best],
                           hoverinfo="text+x+y", marker={"color": colour, "size": 9}, line={"color": colour})
    study = studies[0][1]
    figure.update_layout(xaxis_title=axis_label(study, 0), yaxis_title=axis_label(study, 1))
    for axis, i in (("xaxis", 0), ("yaxis", 1)):
        if spans_decades([t.values[i] for t in everything]):
            figure.update_layout({axis: {"type": "log"}})
    return figure


def rows_html(header: list[str], body: list[list[str]]) -> str:
    """A table that sorts by a column when its header is clicked (numbers as numbers)."""
    head = "".join(f"<th onclick=\"sortBy(this)\">{html.escape(h)}</th>" for h in header)
    lines = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{lines}\n</tbody>\n</table>"


def table_html(study: optuna.Study) -> str:
    return rows_html(*trial_table.rows(study))


STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;font-size:12px;margin-bottom:1em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee;position:sticky;top:0;cursor:pointer}th:hover{background:#ddd}"""
SORT_SCRIPT = """<script>
function sortBy(th){const table=th.closest('table'),body=table.tBodies[0],col=th.cellIndex;
const up=th.dataset.dir!=='asc';th.dataset.dir=up?'asc':'desc';
const key=r=>{const t=r.cells[col].textContent.replace('*','').trim(),n=parseFloat(t);return isNaN(n)?t:n};
[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);
if(typeof x==='number'&&typeof y==='number')return up?x-y:y-x;return up?String(x).localeCompare(y):String(y).localeCompare(x)})
.forEach(r=>body.appendChild(r))}
</script>"""


def html_page(title: str, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style>{SORT_SCRIPT}</head>\n<body>\n{body}\n</body></html>\n")


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
    parts.append(f"<h2>Trials (* marks {marked}; click a header to sort)</h2>")
    parts.append(table_html(study))
    return html_page(study.study_name, parts)


def write_page(study: optuna.Study, storage: str, out: Path) -> Path:
    """Write `<out>/report.html` (atomically) and return its path."""
    text = page(study, storage)
    out.mkdir(parents=True, exist_ok=True)
    return outputs.write_text(out / PAGE_FILE, text)


def compare_page(studies: list[tuple[str, optuna.Study]], header: list[str], summary: list[list[Any]],
                 storages: list[str]) -> str:
    """Several studies: the summary (front, hypervolume, best values), the fronts overlaid, each study's table."""
    names = objective_names(studies[0][1])
    title = " vs ".join(label for label, _ in studies)
    parts = [f"<h1>{html.escape(title)}</h1>",
             "<p>" + html.escape("; ".join(f"{label}: {shown_url(url)}" for (label, _), url in zip(studies, storages)))
             + "</p>", "<h2>Summary (hypervolume against one reference point: the worst value of any compared "
             "trial per objective)</h2>", rows_html(header, [[trial_table.cell_text(c) for c in r] for r in summary])]
    if len(names) >= 2:
        with quiet_optuna():
            figure = fronts_figure(studies)
        figure.update_layout(height=560)
        parts += ["<h2>Pareto fronts: one colour per study (faint: dominated trials)</h2>",
                  figure.to_html(full_html=False, include_plotlyjs=True)]
    for label, study in studies:
        parts += [f"<h2>{html.escape(label)}: trials (* marks the Pareto front; click a header to sort)</h2>",
                  table_html(study)]
    return html_page(title, parts)


def write_compare_page(compared: list[Any], header: list[str], summary: list[list[Any]], storages: list[str],
                       out: Path) -> Path:
    """Write `<out>/compare.html` for `compared` (excolor.study.compare.Compared) and return its path."""
    text = compare_page([(c.label, c.study) for c in compared], header, summary, storages)
    out.mkdir(parents=True, exist_ok=True)
    return outputs.write_text(out / COMPARE_FILE, text)
