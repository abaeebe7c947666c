"""Pure figure builders of the data page: the plotted numbers against numpy/pandas on the same values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelgap.figures.colors import DEPLOYED_COLOR, NEUTRAL_COLOR, REPO_COLOR
from modelgap.figures.data import SEVERITY_COLORS, category_bars, color_for, drift_ranking, numeric_overlay


def test_numeric_overlay_plots_shares_on_shared_bins() -> None:
    rng = np.random.default_rng(0)
    ref = pd.Series(rng.normal(0, 1, 400))
    cur = pd.Series(np.concatenate([rng.normal(1, 1, 300), [np.nan, np.inf]]))
    fig = numeric_overlay(
        ref, cur, column="x", reference_label="deployed training data", current_label="repo training data",
        bins=12, clip_quantile=0.0,
    )  # fmt: skip
    finite_cur = cur[np.isfinite(cur)].to_numpy()
    both = np.concatenate([ref.to_numpy(), finite_cur])
    edges = np.linspace(both.min(), both.max(), 13)
    for trace, values in zip(fig.data, (ref.to_numpy(), finite_cur), strict=True):
        expected = np.histogram(values, bins=edges)[0] / len(values)
        np.testing.assert_allclose(trace.y, expected)
        np.testing.assert_allclose(trace.x, (edges[:-1] + edges[1:]) / 2)
    assert [t.marker.color for t in fig.data] == [DEPLOYED_COLOR, REPO_COLOR]
    assert fig.layout.barmode == "overlay"


def test_category_bars_show_each_levels_share_with_missing_and_other() -> None:
    ref = pd.Series(["a"] * 6 + ["b"] * 3 + [None])
    cur = pd.Series(["a"] * 2 + ["c"] * 6 + ["d"] * 2)
    fig = category_bars(ref, cur, column="k", reference_label="sample data", current_label="repo training data")
    for trace, values in zip(fig.data, (ref, cur), strict=True):
        counts = values.fillna("(missing)").value_counts(normalize=True)
        assert dict(zip(trace.x, trace.y, strict=True)) == pytest.approx({k: counts.get(k, 0.0) for k in trace.x})
    assert set(fig.data[0].x) == {"a", "b", "c", "d", "(missing)"}
    pooled = category_bars(ref, cur, column="k", reference_label="r", current_label="c", top_n=2)
    assert list(pooled.data[1].x) == ["a", "c", "(other)"] and pooled.data[1].y[-1] == pytest.approx(0.2)
    assert fig.data[0].marker.color == NEUTRAL_COLOR and fig.data[1].marker.color == REPO_COLOR


def test_drift_ranking_puts_the_most_drifted_column_on_top() -> None:
    columns = [
        {"column": "income", "psi": 0.4, "severity": "high", "kind": "numeric"},
        {"column": "region", "psi": 0.12, "severity": "moderate", "kind": "categorical"},
        {"column": "age", "psi": 0.001, "severity": "none", "kind": "numeric"},
        {"column": "notes", "psi": None, "severity": "none", "kind": "identifier"},
    ]
    fig = drift_ranking(columns)
    bars = fig.data[0]
    assert list(bars.y) == ["age", "region", "income"]  # plotly draws the first bar at the bottom
    assert list(bars.x) == [0.001, 0.12, 0.4]
    assert list(bars.marker.color) == [SEVERITY_COLORS["none"], SEVERITY_COLORS["moderate"], SEVERITY_COLORS["high"]]
    assert [s.x0 for s in fig.layout.shapes] == [0.1, 0.25]


def test_colors_follow_the_models_sides() -> None:
    assert color_for("repo training data") == REPO_COLOR
    assert color_for("deployed_training") == DEPLOYED_COLOR
    assert color_for("sample data") == NEUTRAL_COLOR
