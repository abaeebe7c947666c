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
    BASE_LAYOUT,
    DEPLOYED_COLOR,
    DISAGREE_COLOR,
    FEATURE_VALUE_SCALE,
    NEUTRAL_COLOR,
    REPO_COLOR,
)


def _height(n: int, per: int = 28, minimum: int = 260) -> int:
    return max(minimum, 90 + per * n)


def importance_bars(features: pd.DataFrame, *, top_n: int = 15, output: str = "") -> go.Figure:
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
        BASE_LAYOUT,
        barmode="group",
        title="Feature importance: mean |SHAP|" + unit,
        xaxis_title="mean |SHAP|" + unit,
        height=_height(len(top), per=34),
    )
    return fig


def rank_slope(features: pd.DataFrame, *, top_n: int = 15, big_change: int = 3) -> go.Figure:
    """Each feature's rank in the deployed model (left) and the repo model (right); big moves in red."""
    top = features.head(top_n)
    fig = go.Figure()
    for name, r in top.iterrows():
        moved = bool(r.get("sign_flip", False)) or abs(int(r["rank_change"])) >= big_change
        fig.add_trace(
            go.Scatter(
                x=["deployed", "repo"],
                y=[int(r["deployed_rank"]), int(r["repo_rank"])],
                mode="lines+markers+text",
                name=str(name),
                text=["", str(name)],
                textposition="middle right",
                line={"color": DISAGREE_COLOR if moved else NEUTRAL_COLOR, "width": 3 if moved else 1.5},
                marker={"color": [DEPLOYED_COLOR, REPO_COLOR], "size": 9},
                showlegend=False,
                hovertemplate=f"{name}: rank %{{y}} (%{{x}})<extra></extra>",
            )
        )
    fig.update_layout(
        BASE_LAYOUT,
        title="Rank change (1 = most important)",
        yaxis={"autorange": "reversed", "title": "rank", "dtick": 1},
        xaxis={"range": [-0.3, 1.8]},
        height=_height(len(top)),
    )
    return fig


def difference_distribution(long: pd.DataFrame, *, features: list[str] | None = None, seed: int = 0) -> go.Figure:
    """Per feature, SHAP(repo) - SHAP(deployed) over rows: a box, and the points coloured by feature value."""
    order = features if features is not None else list(dict.fromkeys(long["feature"]))
    data = long[long["feature"].isin(order)]
    pos = {f: len(order) - 1 - i for i, f in enumerate(order)}  # first feature at the top
    y = data["feature"].map(pos).to_numpy(dtype=float)
    jitter = np.random.default_rng(seed).uniform(-0.25, 0.25, len(data))
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
    traces.append(
        go.Scatter(
            x=data["diff"],
            y=y + jitter,
            mode="markers",
            name="rows",
            marker={
                "color": data["value_scaled"],
                "colorscale": FEATURE_VALUE_SCALE,
                "cmin": 0,
                "cmax": 1,
                "size": 5,
                "opacity": 0.7,
                "colorbar": {"title": "feature value", "tickvals": [0, 1], "ticktext": ["low", "high"]},
            },
            customdata=np.stack([data["feature"].astype(str), data["row"].astype(str), data["value"].astype(str)], 1)
            if len(data)
            else None,
            hovertemplate="%{customdata[0]} = %{customdata[2]} (row %{customdata[1]}): %{x:.4g}<extra></extra>",
            showlegend=False,
        )
    )
    fig = go.Figure(traces)
    fig.add_vline(x=0, line={"color": "#444", "width": 1, "dash": "dot"})
    fig.update_layout(
        BASE_LAYOUT,
        title="SHAP(repo) - SHAP(deployed) per row",
        xaxis_title="SHAP(repo) - SHAP(deployed)",
        yaxis={"tickvals": list(pos.values()), "ticktext": [str(f) for f in pos], "range": [-0.7, len(order) - 0.3]},
        height=_height(len(order), per=40),
    )
    return fig


def row_comparison(row_frame: pd.DataFrame, summary: dict[str, float] | None = None, *, top_n: int = 12) -> go.Figure:
    """One row: both models' contributions side by side (left) and the per-feature change (right)."""
    top = row_frame.head(top_n).iloc[::-1]
    names = [str(n) for n in top.index]
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, column_widths=[0.6, 0.4], subplot_titles=("SHAP", "repo - deployed")
    )
    for side, color in (("deployed", DEPLOYED_COLOR), ("repo", REPO_COLOR)):
        fig.add_trace(
            go.Bar(y=names, x=top[side], name=side, orientation="h", marker_color=color),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Bar(
            y=names,
            x=top["change"],
            name="change",
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
    fig.update_layout(BASE_LAYOUT, barmode="group", title=title, height=_height(len(top), per=34))
    return fig


def row_waterfalls(row_frame: pd.DataFrame, summary: dict[str, float], *, top_n: int = 10) -> go.Figure:
    """One row as two waterfalls (deployed, repo): base value, largest contributions, the rest, output."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("deployed", "repo"))
    shown = list(row_frame.head(top_n).index)
    for col, (side, color) in enumerate((("deployed", DEPLOYED_COLOR), ("repo", REPO_COLOR)), start=1):
        contrib = row_frame[side]
        rest = float(contrib.drop(index=shown).sum())
        labels = ["base", *[str(f) for f in shown], "other features", "output"]
        values = [summary[f"{side}_base"], *contrib.loc[shown].tolist(), rest, summary[f"{side}_output"]]
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
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(BASE_LAYOUT, title="Contributions from base value to output", height=_height(top_n + 3, per=30))
    return fig


def dependence_overlay(dependence: pd.DataFrame, feature: str) -> go.Figure:
    """A feature's value against both models' SHAP for it, on one chart."""
    fig = go.Figure(
        [
            go.Scatter(
                x=dependence["value"],
                y=dependence[side],
                mode="markers",
                name=side,
                marker={"color": color, "size": 6, "opacity": 0.6},
                customdata=np.asarray(dependence.index).astype(str),
                hovertemplate=f"row %{{customdata}}: {feature} = %{{x}}, SHAP %{{y:.4g}} ({side})<extra></extra>",
            )
            for side, color in (("deployed", DEPLOYED_COLOR), ("repo", REPO_COLOR))
        ]
    )
    fig.add_hline(y=0, line={"color": "#444", "width": 1, "dash": "dot"})
    fig.update_layout(BASE_LAYOUT, title=f"SHAP for {feature} by its value", xaxis_title=feature, yaxis_title="SHAP")
    return fig
