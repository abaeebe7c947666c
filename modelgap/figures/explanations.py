"""Figures for the explanations page: DataFrames from ExplanationComparison in, plotly Figures out.

Inputs: `features` = ExplanationComparison.features, `long` = .difference_long(), `row_frame` = .row(r),
`summary` = .row_summary(r), `dependence` = .dependence(feature). The repo model is always blue, the
deployed model always orange (modelgap.figures.colors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from modelgap.figures.colors import (
    CATEGORY_COLOR,
    DEPLOYED_COLOR,
    DISAGREE_COLOR,
    FEATURE_VALUE_SCALE,
    NEUTRAL_COLOR,
    REPO_COLOR,
    layout,
)
from modelgap.figures.sampling import bounded_positions

SIDES = (("repo", REPO_COLOR), ("deployed", DEPLOYED_COLOR))  # repo first, as everywhere
DIFF_POINTS = 900  # dots in the difference chart, over all its columns (the boxes use every row)
DEPENDENCE_POINTS = 400  # rows in the dependence chart (one dot per model each)


def _height(n: int, per: int = 28, minimum: int = 260) -> int:
    return max(minimum, 90 + per * n)


def importance_bars(
    features: pd.DataFrame, *, top_n: int = 15, output: str = "", title: str | None = None
) -> go.Figure:
    """Mean |SHAP| per feature, repo and deployed side by side; most important at the top."""
    top = features.head(top_n).iloc[::-1]
    names = [str(n) for n in top.index]
    fig = go.Figure(
        [
            go.Bar(
                y=names,
                x=top["deployed_importance"],
                name="deployed",
                orientation="h",
                marker_color=DEPLOYED_COLOR,
                hovertemplate="%{y}: %{x:.4g} (deployed)<extra></extra>",
            ),
            go.Bar(
                y=names,
                x=top["repo_importance"],
                name="repo",
                orientation="h",
                marker_color=REPO_COLOR,
                hovertemplate="%{y}: %{x:.4g} (repo)<extra></extra>",
            ),
        ]
    )
    unit = f" ({output})" if output else ""
    fig.update_layout(
        layout(title or "Feature importance: mean |SHAP|" + unit, height=_height(len(top), per=34)),
        barmode="group",
        legend_traceorder="reversed",  # repo first in the legend; its bar is the upper one of each pair
        xaxis_title="mean |SHAP|" + unit,
    )
    return fig


def rank_slope(features: pd.DataFrame, *, top_n: int = 15, big_change: int = 3) -> go.Figure:
    """Each feature's rank in the repo model (left) and the deployed model (right), named on both sides;
    big moves and sign flips in red.

    Four traces whatever the number of features (a browser draws each trace apart): the lines that moved a lot,
    the others, and the named ends on each side."""
    top = features.head(top_n)
    names = [str(n) for n in top.index]
    repo_ranks = [int(r) for r in top["repo_rank"]]
    deployed_ranks = [int(r) for r in top["deployed_rank"]]
    flips = top["sign_flip"] if "sign_flip" in top else pd.Series(False, index=top.index)
    moved = [bool(f) or abs(int(c)) >= big_change for f, c in zip(flips, top["rank_change"], strict=True)]
    longest = max((len(n) for n in names), default=4) + 4  # the name and its rank
    pad = min(3.0, 0.3 + 0.085 * longest)  # x-units beside each end: the labels stay inside the chart
    fig = go.Figure()
    for big, color, width in ((False, NEUTRAL_COLOR, 1.5), (True, DISAGREE_COLOR, 3.0)):
        x: list[float | None] = []
        y: list[float | None] = []
        for i, m in enumerate(moved):
            if m == big:
                x += [0, 1, None]  # one segment per feature; None breaks the line between them
                y += [repo_ranks[i], deployed_ranks[i], None]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name="moved a lot or flipped" if big else "rank kept or moved a little",
                line={"color": color, "width": width},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    hover = [f"{n}: rank {a} (repo), {b} (deployed)" for n, a, b in zip(names, repo_ranks, deployed_ranks, strict=True)]
    for side, x_end, ranks, color, position in (
        ("repo", 0, repo_ranks, REPO_COLOR, "middle left"),
        ("deployed", 1, deployed_ranks, DEPLOYED_COLOR, "middle right"),
    ):
        fig.add_trace(
            go.Scatter(
                x=[x_end] * len(names),
                y=ranks,
                mode="markers+text",
                name=side,
                text=[f"{n}  {r}" if side == "repo" else f"{r}  {n}" for n, r in zip(names, ranks, strict=True)],
                textposition=position,
                textfont={"size": 12},
                marker={"color": color, "size": 9},
                customdata=hover,
                showlegend=False,
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    fig.update_layout(
        layout("Importance rank in each model (1 = most important)", legend=False, height=_height(len(top))),
        yaxis={"autorange": "reversed", "visible": False},
        xaxis={
            "range": [-pad, 1 + pad],
            "tickvals": [0, 1],
            "ticktext": ["repo model", "deployed model"],
            "showgrid": False,
            "zeroline": False,
            "side": "top",
        },
        margin={"l": 4, "r": 4},
    )
    return fig


def difference_distribution(
    long: pd.DataFrame, *, features: list[str] | None = None, seed: int = 0, max_points: int = DIFF_POINTS
) -> go.Figure:
    """Per feature, SHAP(repo) - SHAP(deployed) over rows: a box, and the points: a numeric column's coloured from
    low to high value, a categorical column's in one colour (its levels have no low or high).

    The boxes use every row. Dots: at most `max_points` in all, shared out over the columns; beyond that, each
    column draws its rows with the largest |difference| and a seeded sample of the others (said in the title)."""
    order = features if features is not None else list(dict.fromkeys(long["feature"]))
    data = long[long["feature"].isin(order)]
    pos = {f: len(order) - 1 - i for i, f in enumerate(order)}  # first feature at the top
    y = data["feature"].map(pos).to_numpy(dtype=float)
    jitter = np.random.default_rng(seed).uniform(-0.25, 0.25, len(data))
    per_feature = max(1, max_points // max(1, len(order)))
    drawn = _drawn_dots(data, per_feature, seed)
    traces: list[go.BaseTraceType] = [
        go.Box(
            x=data.loc[data["feature"] == f, "diff"],
            y=np.full(int((data["feature"] == f).sum()), pos[f], dtype=float),
            name=str(f),
            orientation="h",
            boxpoints=False,
            fillcolor="rgba(0,0,0,0)",
            line={"color": NEUTRAL_COLOR},
            width=0.7,
            showlegend=False,
            hoverinfo="skip",
        )
        for f in order
    ]
    numeric = data["feature"].map(_numeric_features(data)).fillna(False).astype(bool).to_numpy()
    for mask, coloured in ((numeric & drawn, True), (~numeric & drawn, False)):
        part = data[mask]
        if part.empty and not (coloured and data.empty):
            continue
        marker: dict[str, object] = {"size": 5, "opacity": 0.7}
        if coloured:  # numbers: low to high; categories have no order, so one colour (their level is in the hover)
            marker.update(
                color=part["value_scaled"],
                colorscale=FEATURE_VALUE_SCALE,
                cmin=0,
                cmax=1,
                colorbar={"title": "feature value", "tickvals": [0, 1], "ticktext": ["low", "high"]},
            )
        else:
            marker["color"] = CATEGORY_COLOR
        traces.append(
            go.Scatter(
                x=part["diff"],
                y=(y + jitter)[mask],
                mode="markers",
                name="rows" if coloured else "rows (categories)",
                marker=marker,
                customdata=np.stack(
                    [part["feature"].astype(str), part["row"].astype(str), part["value"].astype(str)], 1
                )
                if len(part)
                else None,
                hovertemplate="%{customdata[0]} = %{customdata[2]} (row %{customdata[1]}): %{x:.4g}<extra></extra>",
                showlegend=False,
            )
        )
    fig = go.Figure(traces)
    fig.add_vline(x=0, line={"color": "#444", "width": 1, "dash": "dot"})
    title = "SHAP(repo) - SHAP(deployed) per row; numeric columns coloured by their value"
    if not drawn.all():
        most = int(data.groupby("feature", sort=False).size().max())
        title += (
            f" (dots: {per_feature:,} of {most:,} rows per column, the most different and a random sample; "
            "boxes: every row)"
        )
    fig.update_layout(
        layout(title, legend=False, chars=90),
        xaxis_title="SHAP(repo) - SHAP(deployed)",
        yaxis={"tickvals": list(pos.values()), "ticktext": [str(f) for f in pos], "range": [-0.7, len(order) - 0.3]},
        height=_height(len(order), per=40) + 40,
    )
    return fig


def _drawn_dots(data: pd.DataFrame, per_feature: int, seed: int) -> np.ndarray:
    """Which rows of the long table get a dot: per feature, all of them or `per_feature` (largest |diff| first)."""
    drawn = np.zeros(len(data), dtype=bool)
    diffs = data["diff"].to_numpy(dtype=float)
    for positions in data.groupby("feature", sort=False).indices.values():
        picked = bounded_positions(len(positions), per_feature, scores=np.abs(diffs[positions]), seed=seed)
        drawn[positions[picked]] = True
    return drawn


def _numeric_features(data: pd.DataFrame) -> dict[str, bool]:
    """Which features have numbers for values (coloured low to high); others are categories."""
    out = {}
    for f, part in data.groupby("feature", sort=False):
        values = pd.Series(part["value"]).dropna()
        out[str(f)] = bool(len(values)) and bool(pd.to_numeric(values, errors="coerce").notna().all())
    return out


def row_comparison(row_frame: pd.DataFrame, summary: dict[str, float] | None = None, *, top_n: int = 12) -> go.Figure:
    """One row: both models' contributions side by side (left) and the per-feature change (right)."""
    top = row_frame.head(top_n).iloc[::-1]
    names = [str(n) for n in top.index]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.6, 0.4], horizontal_spacing=0.04)
    for side, color in SIDES[::-1]:  # the upper bar of a pair is the last trace: repo
        fig.add_trace(
            go.Bar(y=names, x=top[side], name=side, orientation="h", marker_color=color),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Bar(
            y=names,
            x=top["change"],
            name="change (repo - deployed)",
            orientation="h",
            marker_color=[DISAGREE_COLOR if v != 0 else NEUTRAL_COLOR for v in top["change"]],
        ),
        row=1,
        col=2,
    )
    title = "Why this row's output differs"
    if summary:
        title += (
            f": repo {summary['repo_output']:.4g} vs deployed {summary['deployed_output']:.4g}"
            f" (change {summary['output_change']:+.4g}, of which base {summary['base_change']:+.4g})"
        )
    fig.update_layout(
        layout(title, height=_height(len(top), per=34), chars=90),
        barmode="group",
        legend_traceorder="reversed",
        xaxis={"title": "SHAP"},
        xaxis2={"title": "repo - deployed"},
    )
    return fig


def row_waterfalls(row_frame: pd.DataFrame, summary: dict[str, float], *, top_n: int = 10) -> go.Figure:
    """One row as two waterfalls (repo, deployed) on the same x-scale: base value, largest contributions, the
    rest, output. Each panel is named above it; there is no legend to collide with those names."""
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        subplot_titles=("repo model", "deployed model"),
    )
    shown = list(row_frame.head(top_n).index)
    ends: list[float] = []
    for col, (side, color) in enumerate(SIDES, start=1):
        contrib = row_frame[side]
        rest = float(contrib.drop(index=shown).sum())
        labels = ["base", *[str(f) for f in shown], "other features", "output"]
        steps = [summary[f"{side}_base"], *contrib.loc[shown].tolist(), rest]
        values = [*steps, summary[f"{side}_output"]]
        ends += [float(v) for v in np.cumsum(steps)] + [0.0, float(summary[f"{side}_output"])]
        fig.add_trace(
            go.Waterfall(
                y=labels,
                x=values,
                orientation="h",
                name=side,
                measure=["absolute", *["relative"] * (len(shown) + 1), "total"],
                increasing={"marker": {"color": color}},
                decreasing={"marker": {"color": NEUTRAL_COLOR}},
                totals={"marker": {"color": color}},
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    low, high = min(ends), max(ends)
    pad = 0.05 * (high - low or 1.0)
    fig.update_xaxes(range=[low - pad, high + pad], matches="x")  # one scale: bars compare across the panels
    fig.update_yaxes(autorange="reversed")
    frame_layout = layout("Contributions from base value to output, on one scale", height=_height(top_n + 3, per=30))
    frame_layout["showlegend"] = False  # the legend's line under the title holds the panel names instead
    fig.update_layout(frame_layout)
    fig.update_annotations(yshift=4)  # the panel names, clear of the first bar
    return fig


def dependence_overlay(dependence: pd.DataFrame, feature: str, *, max_points: int = DEPENDENCE_POINTS) -> go.Figure:
    """A feature's value against both models' SHAP for it, on one chart. Beyond `max_points` rows, the rows where
    the two SHAP values differ most and a seeded sample of the others are drawn (said in the title)."""
    gap = (dependence["repo"] - dependence["deployed"]).abs().to_numpy(dtype=float)
    shown = dependence.iloc[bounded_positions(len(dependence), max_points, scores=gap)]
    fig = go.Figure(
        [
            go.Scatter(
                x=shown["value"],
                y=shown[side],
                mode="markers",
                name=side,
                marker={"color": color, "size": 6, "opacity": 0.6},
                customdata=np.asarray(shown.index).astype(str),
                hovertemplate=f"row %{{customdata}}: {feature} = %{{x}}, SHAP %{{y:.4g}} ({side})<extra></extra>",
            )
            for side, color in SIDES
        ]
    )
    fig.add_hline(y=0, line={"color": "#444", "width": 1, "dash": "dot"})
    title = f"SHAP for {feature} by its value"
    if len(shown) < len(dependence):
        title += f" ({len(shown):,} of {len(dependence):,} rows: the most different and a random sample)"
    fig.update_layout(layout(title, chars=90), xaxis_title=feature, yaxis_title="SHAP")
    return fig
