"""Figures for the shareable report, built from the JSON form of a comparison (pure: dicts in, Figures out).

Each builder takes one section of `comparison_to_dict(...)` and returns None when the section has too
little to draw, so a report shows only the charts its data supports. Repo is blue, deployed orange.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from modelgap import words
from modelgap.figures.colors import (
    BETTER_COLOR,
    DEPLOYED_COLOR,
    DISAGREE_COLOR,
    NEUTRAL_COLOR,
    REPO_COLOR,
    layout,
)

LABEL_ROOM_PX = 18  # room above the plot for a reference line's label, clear of the bars


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _height(n: int, per: int = 30, minimum: int = 260) -> int:
    return max(minimum, 110 + per * n)


def top_rows_figure(predictions: Mapping[str, Any], *, top_n: int = 15) -> go.Figure | None:
    """The rows where the two models differ most: abs diff per row (largest at the top)."""
    top = [r for r in predictions.get("top") or [] if isinstance(r, Mapping) and _num(r.get("abs_diff")) is not None]
    if not top:
        return None
    top = sorted(top, key=lambda r: -float(r["abs_diff"]))[:top_n][::-1]
    labels = [f"row {r.get('row')}" for r in top]
    regression = predictions.get("task") == "regression"
    what = "|repo - deployed|" if regression else "largest class-probability difference"
    hover = [f"row {r.get('row')}: repo {r.get('repo')}, deployed {r.get('deployed')}" for r in top]
    fig = go.Figure(
        go.Bar(
            x=[float(r["abs_diff"]) for r in top],
            y=labels,
            orientation="h",
            marker_color=DISAGREE_COLOR,
            customdata=hover,
            hovertemplate="%{customdata}<br>difference %{x:.4g}<extra></extra>",
            name="difference",
        )
    )
    fig.update_layout(
        layout(f"Rows where the models differ most ({what})", legend=False, height=_height(len(top), per=24)),
        xaxis_title=what,
    )
    return fig


def slices_figure(predictions: Mapping[str, Any], *, top_n: int = 10, min_rows: int = 30) -> go.Figure | None:
    """Disagreement rate of the worst slices (column = value), with the overall rate as a reference line."""
    from modelgap.readiness.checks_predictions import slice_records

    records = [r for r in slice_records(predictions.get("slices")) if r["size"] is None or r["size"] >= min_rows]
    if not records:
        return None
    records = sorted(records, key=lambda r: -r["rate"])[:top_n][::-1]
    labels = [words.slice_text(r["column"], r["label"]) for r in records]
    sizes = [f"{int(r['size']):,} rows" if r["size"] is not None else "size unknown" for r in records]
    fig = go.Figure(
        go.Bar(
            x=[100 * r["rate"] for r in records],
            y=labels,
            orientation="h",
            marker_color=DISAGREE_COLOR,
            customdata=sizes,
            hovertemplate="%{y}: %{x:.2f}% disagree (%{customdata})<extra></extra>",
        )
    )
    fig.update_layout(
        layout("Where they disagree: the worst slices of the data", legend=False, height=_height(len(records), per=26)),
        xaxis_title="rows that disagree (%)",
    )
    overall = _num(predictions.get("disagreement_rate"))
    if overall is not None:  # the line spans the bars; its label sits above the plot, never over a bar
        fig.add_vline(x=100 * overall, line_dash="dash", line_color=NEUTRAL_COLOR)
        fig.add_annotation(
            x=100 * overall,
            y=1.0,
            xref="x",
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            text=f"overall {100 * overall:.1f}%",
            font={"color": NEUTRAL_COLOR},
            name="overall",
        )
        fig.update_layout(margin={"t": fig.layout.margin.t + LABEL_ROOM_PX})
    return fig


def changed_features_figure(explanations: Mapping[str, Any], *, top_n: int = 10) -> go.Figure | None:
    """Mean |SHAP| of the features whose importance changed most, repo and deployed side by side."""
    rows = []
    for f in explanations.get("features") or []:
        if not isinstance(f, Mapping):
            continue
        r, d = _num(f.get("repo_importance")), _num(f.get("deployed_importance"))
        if r is not None and d is not None:
            rows.append((str(f.get("feature")), r, d))
    if not rows:
        return None
    rows = sorted(rows, key=lambda t: -abs(t[1] - t[2]))[:top_n][::-1]
    names = [t[0] for t in rows]
    output = explanations.get("output")
    unit = f" ({output})" if isinstance(output, str) and output else ""
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=[t[2] for t in rows],
                name="deployed",
                orientation="h",
                marker_color=DEPLOYED_COLOR,
                hovertemplate="%{y}: %{x:.4g} (deployed)<extra></extra>",
            ),
            go.Bar(
                y=names,
                x=[t[1] for t in rows],
                name="repo",
                orientation="h",
                marker_color=REPO_COLOR,
                hovertemplate="%{y}: %{x:.4g} (repo)<extra></extra>",
            ),
        ]
    )
    fig.update_layout(
        layout("Features whose importance changed most (mean |SHAP|)", height=_height(len(rows), per=34)),
        barmode="group",
        legend_traceorder="reversed",  # repo first, as everywhere; its bar is the upper one of each pair
        xaxis_title="mean |SHAP|" + unit,
    )
    return fig


def metric_deltas_figure(metrics: Mapping[str, Any]) -> go.Figure | None:
    """Each metric's change (repo minus deployed) with its 95% interval, read by the metric's direction.

    A change is "better" when it moves the metric the good way (accuracy up, log loss down), "worse" the other
    way, and "no clear change" when its interval contains zero: each point is coloured and labelled so, and
    each metric says which direction is better.
    """
    names, deltas, lo_err, hi_err, readings = [], [], [], [], []
    for name, m in metrics.items():
        if not isinstance(m, Mapping):
            continue
        delta = _num(m.get("delta"))
        if delta is None:
            continue
        lo, hi = _num(m.get("ci_low")), _num(m.get("ci_high"))
        up = words.higher_is_better(str(name))
        way = "" if up is None else (" (higher is better)" if up else " (lower is better)")
        names.append(words.metric_name(str(name)) + way)
        deltas.append(delta)
        lo_err.append(delta - lo if lo is not None else 0.0)
        hi_err.append(hi - delta if hi is not None else 0.0)
        readings.append(words.change_reading(str(name), delta, lo, hi))
    if not names:
        return None
    colors = {"better": BETTER_COLOR, "worse": DISAGREE_COLOR}
    fig = go.Figure(
        go.Scatter(
            x=deltas[::-1],
            y=names[::-1],
            mode="markers+text",
            text=readings[::-1],
            textposition="top center",
            textfont={"color": [colors.get(r, NEUTRAL_COLOR) for r in readings[::-1]]},
            marker={"color": [colors.get(r, NEUTRAL_COLOR) for r in readings[::-1]], "size": 11},
            error_x={"type": "data", "symmetric": False, "array": hi_err[::-1], "arrayminus": lo_err[::-1]},
            customdata=readings[::-1],
            hovertemplate="%{y}: %{x:+.4g} (repo - deployed): %{customdata}<extra></extra>",
            cliponaxis=False,  # the top row's "better" / "worse" stays whole
        )
    )
    fig.add_vline(x=0, line_color=NEUTRAL_COLOR)
    fig.update_layout(
        layout(
            "Metric changes, repo minus deployed, with 95% intervals: better or worse by each metric's direction",
            legend=False,
            height=_height(len(names), per=48),
        ),
        xaxis_title="change (repo minus deployed)",
        yaxis={"automargin": True, "range": [-0.5, len(names) - 0.1]},  # room above the top row for its reading
    )
    return fig
