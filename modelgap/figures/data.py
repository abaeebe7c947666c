"""Figures for the data page: two datasets' values (or a drift ranking) in, a plotly Figure out.

Which colour a dataset gets follows its role: the repo model's training data blue, the deployed model's
orange (as everywhere), the sample data grey. `color_for` maps a table key or label to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from modelgap.data.drift import PSI_THRESHOLDS
from modelgap.figures.colors import DEPLOYED_COLOR, DISAGREE_COLOR, NEUTRAL_COLOR, REPO_COLOR, layout

SEVERITY_COLORS = {"none": "#C9CDD2", "low": "#8FB3E8", "moderate": "#E8B10E", "high": DISAGREE_COLOR}
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


def color_for(name: str) -> str:
    """Blue for the repo side, orange for the deployed side, grey for anything else (the sample)."""
    lowered = name.lower()
    if lowered.startswith("repo"):
        return REPO_COLOR
    if lowered.startswith("deployed"):
        return DEPLOYED_COLOR
    return NEUTRAL_COLOR


def _finite(values: pd.Series) -> np.ndarray:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return x[np.isfinite(x)]


def numeric_overlay(
    reference: pd.Series,
    current: pd.Series,
    *,
    column: str,
    reference_label: str,
    current_label: str,
    bins: int = 30,
    clip_quantile: float = 0.005,
) -> go.Figure:
    """Overlaid histograms of one numeric column in two datasets, as shares of each dataset's rows, on shared
    bins. The outer `clip_quantile` tails are folded into the end bins so one outlier cannot squash the view."""
    ref, cur = _finite(reference), _finite(current)
    both = np.concatenate([ref, cur])
    fig = go.Figure()
    if both.size == 0:
        fig.update_layout(layout(f"{column}: no numeric values to show", legend=False, height=320))
        return fig
    low, high = np.quantile(both, [clip_quantile, 1 - clip_quantile])
    if high <= low:
        low, high = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(low, high, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    for values, label in ((ref, reference_label), (cur, current_label)):
        counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
        share = counts / max(values.size, 1)
        fig.add_trace(
            go.Bar(
                x=centers,
                y=share,
                width=float(edges[1] - edges[0]),
                name=f"{label} ({values.size:,} values)",
                marker_color=color_for(label),
                opacity=0.55,
                hovertemplate=f"{label}<br>{column} ≈ %{{x:.4g}}<br>%{{y:.1%}} of rows<extra></extra>",
            )
        )
    fig.update_layout(
        layout(f"{column}: {current_label} vs {reference_label}", height=360, legend_below=True),
        barmode="overlay",
        xaxis_title=column,
        yaxis_title="share of rows",
        yaxis_tickformat=".0%",
        bargap=0,
    )
    return fig


def category_shares(values: pd.Series) -> pd.Series:
    """Share of rows per level, missing values as their own level."""
    s = values.astype(object).where(values.notna(), MISSING_LABEL).astype(str)
    return s.value_counts(normalize=True)


def category_bars(
    reference: pd.Series,
    current: pd.Series,
    *,
    column: str,
    reference_label: str,
    current_label: str,
    top_n: int = 20,
) -> go.Figure:
    """Grouped bars of each level's share of rows in two datasets; the `top_n` most common levels (over both)
    are shown, the rest pooled as "(other)". Levels found in only one dataset show a zero bar on the other."""
    ref, cur = category_shares(reference), category_shares(current)
    levels = (ref.add(cur, fill_value=0.0)).sort_values(ascending=False, kind="stable").index
    shown = list(levels[:top_n])
    fig = go.Figure()
    for shares, label in ((ref, reference_label), (cur, current_label)):
        y = [float(shares.get(level, 0.0)) for level in shown]
        x = list(shown)
        if len(levels) > top_n:
            x.append(OTHER_LABEL)
            y.append(float(shares.drop(shown, errors="ignore").sum()))
        fig.add_trace(
            go.Bar(
                x=x,
                y=y,
                name=label,
                marker_color=color_for(label),
                hovertemplate=f"{label}<br>{column} = %{{x}}<br>%{{y:.1%}} of rows<extra></extra>",
            )
        )
    fig.update_layout(
        layout(f"{column}: {current_label} vs {reference_label}", height=360, legend_below=True),
        barmode="group",
        xaxis_title=column,
        yaxis_title="share of rows",
        yaxis_tickformat=".0%",
    )
    return fig


def drift_ranking(
    columns: list[dict[str, Any]],
    *,
    title: str = "Drift per column (PSI)",
    top_n: int = 20,
    thresholds: tuple[float, float] = (PSI_THRESHOLDS[1], PSI_THRESHOLDS[2]),
) -> go.Figure:
    """Horizontal bars of each column's PSI, most drifted at the top, coloured by severity, with the
    moderate / high thresholds drawn. `columns` are DatasetDrift.to_dict()["columns"] records."""
    rows = [c for c in columns if c.get("psi") is not None][:top_n]
    rows = rows[::-1]  # plotly draws the first bar at the bottom
    fig = go.Figure(
        go.Bar(
            y=[str(c["column"]) for c in rows],
            x=[float(c["psi"]) for c in rows],
            orientation="h",
            marker_color=[SEVERITY_COLORS.get(str(c.get("severity")), NEUTRAL_COLOR) for c in rows],
            customdata=[[c.get("severity"), c.get("kind")] for c in rows],
            hovertemplate="%{y}: PSI %{x:.3f} (%{customdata[0]}, %{customdata[1]})<extra></extra>",
            showlegend=False,
        )
    )
    for value, name in zip(thresholds, ("moderate", "high"), strict=True):
        fig.add_vline(
            x=value,
            line_dash="dot",
            line_color=SEVERITY_COLORS[name],
            annotation_text=f"{name} ≥ {value:g}",
            annotation_position="top",
        )
    # the thresholds' labels sit above the plot (annotation_position "top"): room for them under the title
    fig.update_layout(layout(title, legend=True, height=max(260, 90 + 28 * len(rows))), xaxis_title="PSI")
    return fig
