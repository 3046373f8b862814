"""What the terminal shows at the end of a run: the named-colour table and the key metrics."""

from __future__ import annotations

from typing import Any

from excolor.metric_names import CONSOLE_METRICS, FAILED_SEEDS, N_SEEDS


def named_color_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'colour':<11} {'rgb':<17} {'mse before':>11} {'mse after':>11} {'rise':>10}"]
    for row in rows:
        rgb = f"({row['r']:.2f},{row['g']:.2f},{row['b']:.2f})"
        rise = row["mse_after"] - row["mse_before"]
        lines.append(f"{row['name']:<11} {rgb:<17} {row['mse_before']:>11.2e} {row['mse_after']:>11.2e} {rise:>10.2e}")
    return "\n".join(lines)


def metrics_table(metrics: dict[str, float]) -> str:
    shown = [key for key in CONSOLE_METRICS if key in metrics]
    lines = []
    for key in shown:
        spread = ""
        if f"{key}_min" in metrics:
            spread = f"   (range {metrics[f'{key}_min']:.3g} .. {metrics[f'{key}_max']:.3g})"
        lines.append(f"{key:<18} {metrics[key]:.4g}{spread}")
    if FAILED_SEEDS in metrics:
        lines.append(f"{FAILED_SEEDS:<18} {int(metrics[FAILED_SEEDS])} of {int(metrics[N_SEEDS])}")
    return "\n".join(lines)
