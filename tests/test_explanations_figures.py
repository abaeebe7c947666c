"""Figure builders: each returns a plotly Figure with the expected traces for a small input."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from factories import fitted, tabular

from modelgap.explanations import ExplanationComparison, compare_explanations, explain
from modelgap.figures import explanations as figs
from modelgap.figures.colors import DEPLOYED_COLOR, REPO_COLOR
from modelgap.model import ModelMetadata
from modelgap.sources.native import from_native


@pytest.fixture(scope="module")
def comparison() -> ExplanationComparison:
    repo = from_native(fitted("pipeline", "binary")[0], "pipe", ModelMetadata())
    deployed = from_native(fitted("xgboost", "binary")[0], "xgb", ModelMetadata())
    rows = tabular(n=300, seed=4)[0].iloc[:40]
    return compare_explanations(
        explain(repo, rows, output="log_odds", background=None),
        explain(deployed, rows, output="log_odds", background=None),
    )


def test_importance_bars(comparison: ExplanationComparison) -> None:
    fig = figs.importance_bars(comparison.features, top_n=3, output="log_odds")
    assert isinstance(fig, go.Figure)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"repo", "deployed"} and all(t.type == "bar" for t in fig.data)
    assert by_name["repo"].marker.color == REPO_COLOR and by_name["deployed"].marker.color == DEPLOYED_COLOR
    top3 = comparison.features.head(3)
    assert list(by_name["repo"].y) == [str(f) for f in top3.index[::-1]]
    np.testing.assert_allclose(by_name["repo"].x, top3["repo_importance"].to_numpy()[::-1])


def test_rank_slope(comparison: ExplanationComparison) -> None:
    fig = figs.rank_slope(comparison.features)
    assert len(fig.data) == len(comparison.features)
    first = fig.data[0]
    f = comparison.features.iloc[0]
    assert first.name == str(comparison.features.index[0])
    assert list(first.y) == [f["deployed_rank"], f["repo_rank"]] and list(first.x) == ["deployed", "repo"]
    assert fig.layout.yaxis.autorange == "reversed"


def test_difference_distribution(comparison: ExplanationComparison) -> None:
    long = comparison.difference_long()
    fig = figs.difference_distribution(long)
    n_features = len(comparison.features)
    assert [t.type for t in fig.data] == ["box"] * n_features + ["scatter"]
    points = fig.data[-1]
    assert len(points.x) == n_features * comparison.n_rows
    np.testing.assert_allclose(points.marker.color, long["value_scaled"].to_numpy())
    np.testing.assert_allclose(
        sorted(fig.data[0].x), sorted(long.loc[long["feature"] == long["feature"].iloc[0], "diff"])
    )


def test_row_views(comparison: ExplanationComparison) -> None:
    row = comparison.default_row
    frame, summary = comparison.row(row), comparison.row_summary(row)
    fig = figs.row_comparison(frame, summary, top_n=3)
    assert [t.name for t in fig.data] == ["deployed", "repo", "change"]
    np.testing.assert_allclose(fig.data[2].x, frame["change"].head(3).to_numpy()[::-1])
    water = figs.row_waterfalls(frame, summary, top_n=2)
    assert [t.type for t in water.data] == ["waterfall", "waterfall"]
    repo = water.data[1]
    assert repo.name == "repo" and list(repo.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert repo.x[0] == pytest.approx(summary["repo_base"]) and repo.x[-1] == pytest.approx(summary["repo_output"])
    assert sum(repo.x[:-1]) == pytest.approx(summary["repo_output"], abs=1e-5)  # base + contributions = output


def test_dependence_overlay(comparison: ExplanationComparison) -> None:
    dep = comparison.dependence("x1")
    fig = figs.dependence_overlay(dep, "x1")
    assert [t.name for t in fig.data] == ["deployed", "repo"]
    np.testing.assert_allclose(fig.data[1].y, dep["repo"].to_numpy())
    np.testing.assert_allclose(fig.data[0].x, dep["value"].to_numpy())
    cat = figs.dependence_overlay(comparison.dependence("cat"), "cat")
    assert set(cat.data[0].x) <= {"a", "b", "c"}
