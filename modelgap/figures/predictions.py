"""Figures for the Predictions page: arrays and DataFrames in, plotly Figures out (no Streamlit here).

Inputs come from `PredictionComparison`: `crosstab` (repo label x deployed label counts), the signed
differences repo - deployed (`outputs.diff`, or per class from the two probability matrices), and the two
models' regression values. Histograms are binned here with numpy so a million rows cost a few dozen bars,
not a million points sent to the browser. The repo model is always blue, the deployed model orange; the
slice chart is `modelgap.figures.report.slices_figure` (reused, not repeated here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from modelgap.figures.colors import DEPLOYED_COLOR, DISAGREE_COLOR, NEUTRAL_COLOR, REPO_COLOR, layout

HISTOGRAM_BINS = 40
SCATTER_POINTS = 4000  # at most this many points in the scatter (a seeded uniform subset beyond it)
CLASS_COLORS = ["#2F5BEA", "#F08C2E", "#1E8E3E", "#8E44AD", "#D64545", "#00838F", "#6D4C41", "#C2185B"]


def row_percent(crosstab: pd.DataFrame) -> np.ndarray:
    """Each cell as a share of its row (repo label) total, in percent; 0 for an empty row."""
    counts = crosstab.to_numpy(dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, 100 * counts / totals, 0.0)


def crosstab_heatmap(crosstab: pd.DataFrame) -> go.Figure:
    """Repo label (rows) x deployed label (columns): counts with the row percentage; off-diagonal = disagree."""
    counts = crosstab.to_numpy(dtype=np.int64)
    pct = row_percent(crosstab)
    repo_labels = [str(v) for v in crosstab.index]
    deployed_labels = [str(v) for v in crosstab.columns]
    text = [[f"{counts[i, j]:,}<br>{pct[i, j]:.1f}%" for j in range(counts.shape[1])] for i in range(counts.shape[0])]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=deployed_labels,
            y=repo_labels,
            text=text,
            texttemplate="%{text}",
            customdata=pct,
            colorscale=[[0.0, "#F4F6FB"], [1.0, REPO_COLOR]],
            showscale=False,
            hovertemplate="repo %{y}, deployed %{x}: %{z:,} rows (%{customdata:.1f}% of repo %{y})<extra></extra>",
        )
    )
    fig.update_layout(
        layout(
            "Predicted labels: repo model (rows) against deployed model (columns)",
            legend=False,
            height=max(300, 140 + 70 * len(repo_labels)),
        ),
        xaxis={"title": "deployed model's label", "type": "category", "side": "bottom"},
        yaxis={"title": "repo model's label", "type": "category", "autorange": "reversed"},
    )
    return fig


def _bins(arrays: list[np.ndarray], bins: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    finite = [a[np.isfinite(a)] for a in arrays]
    values = np.concatenate(finite) if finite else np.empty(0)
    low = float(values.min()) if lo is None and len(values) else (lo if lo is not None else 0.0)
    high = float(values.max()) if hi is None and len(values) else (hi if hi is not None else 1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def _hist_bars(values: np.ndarray, edges: np.ndarray, name: str, color: str, opacity: float = 1.0) -> go.Bar:
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(finite, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    return go.Bar(
        x=centres,
        y=counts,
        width=float(edges[1] - edges[0]),
        name=name,
        marker_color=color,
        opacity=opacity,
        customdata=np.column_stack([edges[:-1], edges[1:]]),
        hovertemplate=f"{name}: %{{y:,}} rows with a difference from %{{customdata[0]:.4g}} to "
        "%{customdata[1]:.4g}<extra></extra>",
    )


def probability_diff_histogram(diffs: Mapping[str, np.ndarray], *, bins: int = HISTOGRAM_BINS) -> go.Figure:
    """How much the predicted probability moved, repo minus deployed: one set of bars per class.

    `diffs` maps a class name to its per-row differences (binary: one entry, the positive class).
    Positive: the repo model gives that class a higher probability than the deployed model.
    """
    edges = _bins([np.asarray(v, dtype=float) for v in diffs.values()], bins)
    several = len(diffs) > 1
    traces = [
        _hist_bars(
            np.asarray(v, dtype=float),
            edges,
            f"class {name}",
            CLASS_COLORS[i % len(CLASS_COLORS)] if several else DISAGREE_COLOR,
            0.55 if several else 1.0,
        )
        for i, (name, v) in enumerate(diffs.items())
    ]
    fig = go.Figure(traces)
    fig.add_vline(x=0, line_color=NEUTRAL_COLOR, line_dash="dash")
    title = "How much the predicted probability changed, repo minus deployed"
    if not several and diffs:
        title += f" (class {next(iter(diffs))})"
    fig.update_layout(
        layout(title, legend=several, height=360),
        barmode="overlay",
        bargap=0,
        xaxis_title="repo probability minus deployed probability",
        yaxis_title="rows",
    )
    return fig


def value_diff_histogram(diff: np.ndarray, tolerance: float | None, *, bins: int = HISTOGRAM_BINS) -> go.Figure:
    """Regression: how far apart the two predictions are (repo - deployed), with the tolerance marked."""
    values = np.asarray(diff, dtype=float)
    edges = _bins([values], bins)
    fig = go.Figure(_hist_bars(values, edges, "rows", DISAGREE_COLOR))
    fig.add_vline(x=0, line_color=NEUTRAL_COLOR)
    if tolerance:
        for x in (-tolerance, tolerance):
            fig.add_vline(x=x, line_color=NEUTRAL_COLOR, line_dash="dash")
        fig.add_annotation(x=tolerance, y=1, yref="paper", text="tolerance", showarrow=False, xanchor="left")
    fig.update_layout(
        layout("How far apart the predictions are, repo minus deployed", legend=False, height=360),
        bargap=0,
        xaxis_title="repo prediction minus deployed prediction",
        yaxis_title="rows",
    )
    return fig


def regression_scatter(
    repo: np.ndarray,
    deployed: np.ndarray,
    tolerance: float | None,
    *,
    rows: np.ndarray | None = None,
    max_points: int = SCATTER_POINTS,
    seed: int = 0,
) -> go.Figure:
    """Repo prediction against deployed prediction per row; on the y = x line they agree, inside the band they
    are within the tolerance. Beyond `max_points` rows a seeded uniform subset is drawn (said in the title)."""
    r, d = np.asarray(repo, dtype=float), np.asarray(deployed, dtype=float)
    ids = np.arange(len(r)) if rows is None else np.asarray(rows)
    ok = np.flatnonzero(np.isfinite(r) & np.isfinite(d))
    shown = ok
    if len(ok) > max_points:
        shown = np.sort(np.random.default_rng(seed).choice(ok, max_points, replace=False))
    tol = float(tolerance or 0.0)
    outside = np.abs(r[shown] - d[shown]) > tol
    fig = go.Figure()
    if len(ok):
        low = float(min(r[ok].min(), d[ok].min()))
        high = float(max(r[ok].max(), d[ok].max()))
        if tol > 0:
            fig.add_trace(
                go.Scatter(
                    x=[low, high, high, low],
                    y=[low + tol, high + tol, high - tol, low - tol],
                    fill="toself",
                    fillcolor="rgba(154,160,166,0.25)",
                    line={"width": 0},
                    name=f"within the tolerance (±{tol:.4g})",
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=[low, high], y=[low, high], mode="lines", line={"color": NEUTRAL_COLOR}, name="same prediction"
            )
        )
    for mask, name, color in ((~outside, "agree", REPO_COLOR), (outside, "disagree", DISAGREE_COLOR)):
        picked = shown[mask]
        fig.add_trace(
            go.Scattergl(
                x=d[picked],
                y=r[picked],
                mode="markers",
                marker={"color": color, "size": 5, "opacity": 0.6},
                name=name,
                customdata=ids[picked],
                hovertemplate="row %{customdata}: deployed %{x:.4g}, repo %{y:.4g}<extra></extra>",
            )
        )
    title = "Repo prediction against deployed prediction, one point per row"
    if len(shown) < len(ok):
        title += f" ({len(shown):,} of {len(ok):,} rows shown)"
    fig.update_layout(
        layout(title, height=460, legend_below=True),
        xaxis_title="deployed model's prediction",
        yaxis_title="repo model's prediction",
    )
    return fig


def row_probabilities(classes: list[Any], repo: np.ndarray, deployed: np.ndarray) -> go.Figure:
    """One row: each class's probability from both models, side by side."""
    names = [str(c) for c in classes]
    fig = go.Figure(
        [
            go.Bar(x=names, y=np.asarray(repo, dtype=float), name="repo", marker_color=REPO_COLOR),
            go.Bar(x=names, y=np.asarray(deployed, dtype=float), name="deployed", marker_color=DEPLOYED_COLOR),
        ]
    )
    fig.update_traces(hovertemplate="class %{x}: %{y:.3f}<extra>%{fullData.name}</extra>")
    fig.update_layout(
        layout("Predicted probability of each class for this row", height=320),
        barmode="group",
        xaxis={"title": "class", "type": "category"},
        yaxis={"title": "probability", "range": [0, 1]},
    )
    return fig
