"""Figure builders: each returns a plotly Figure with the expected traces for a small input."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from factories import fitted, tabular

from modelgap.explanations import ExplanationComparison, compare_explanations, explain
from modelgap.figures import explanations as figs
from modelgap.figures.colors import CATEGORY_COLOR, DEPLOYED_COLOR, DISAGREE_COLOR, REPO_COLOR
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


def test_rank_slope_is_labelled_on_both_sides(comparison: ExplanationComparison) -> None:
    fig = figs.rank_slope(comparison.features)
    features = comparison.features
    assert len(fig.data) == 4  # kept lines, moved lines, repo ends, deployed ends: not one trace per feature
    assert list(fig.layout.xaxis.ticktext) == ["repo model", "deployed model"]  # repo first, as everywhere
    ends = {t.name: t for t in fig.data if t.mode == "markers+text"}
    assert list(ends) == ["repo", "deployed"]
    assert ends["repo"].marker.color == REPO_COLOR and ends["deployed"].marker.color == DEPLOYED_COLOR
    for (name, f), left, right, y_left, y_right, x_left, x_right in zip(
        features.iterrows(),
        ends["repo"].text,
        ends["deployed"].text,
        ends["repo"].y,
        ends["deployed"].y,
        ends["repo"].x,
        ends["deployed"].x,
        strict=True,
    ):
        assert (x_left, x_right) == (0, 1) and (y_left, y_right) == (f["repo_rank"], f["deployed_rank"])
        assert str(name) in left and str(name) in right  # named at both ends, with the rank on that side
        assert left.endswith(str(f["repo_rank"])) and right.startswith(str(f["deployed_rank"]))
    assert (ends["repo"].textposition, ends["deployed"].textposition) == ("middle left", "middle right")
    # one line per feature from its repo rank to its deployed rank, red when it moved 3+ places or flipped
    segments = {}
    for trace in (t for t in fig.data if t.mode == "lines"):
        xs, ys = list(trace.x), list(trace.y)
        assert len(xs) % 3 == 0 and xs[2::3] == [None] * (len(xs) // 3)
        for i in range(0, len(xs), 3):
            assert xs[i : i + 2] == [0, 1]
            segments[(ys[i], ys[i + 1])] = trace.line.color == DISAGREE_COLOR
    expected = {
        (int(f["repo_rank"]), int(f["deployed_rank"])): bool(f["sign_flip"]) or abs(int(f["rank_change"])) >= 3
        for _, f in features.iterrows()
    }
    assert segments == expected
    low, high = fig.layout.xaxis.range
    longest = max(len(str(n)) for n in comparison.features.index)
    assert high == pytest.approx(1 - low)  # equal room on both sides, growing with the longest name: none clipped
    assert -low >= 0.3 + 0.085 * (longest + 4)
    assert fig.layout.yaxis.autorange == "reversed"


def test_difference_distribution(comparison: ExplanationComparison) -> None:
    long = comparison.difference_long()
    fig = figs.difference_distribution(long)
    n_features = len(comparison.features)
    assert [t.type for t in fig.data] == ["box"] * n_features + ["scatter", "scatter"]
    numbers, categories = fig.data[-2], fig.data[-1]
    numeric = long[long["feature"] != "cat"]
    assert len(numbers.x) == len(numeric) == (n_features - 1) * comparison.n_rows
    np.testing.assert_allclose(numbers.marker.color, numeric["value_scaled"].to_numpy())
    assert numbers.marker.colorbar.title.text == "feature value"
    # the categorical column has no low or high value: one plain colour, no colour scale
    assert len(categories.x) == comparison.n_rows and categories.marker.color == CATEGORY_COLOR
    assert categories.marker.colorscale is None
    np.testing.assert_allclose(sorted(categories.x), sorted(long.loc[long["feature"] == "cat", "diff"]))
    np.testing.assert_allclose(
        sorted(fig.data[0].x), sorted(long.loc[long["feature"] == long["feature"].iloc[0], "diff"])
    )


def test_row_views(comparison: ExplanationComparison) -> None:
    row = comparison.default_row
    frame, summary = comparison.row(row), comparison.row_summary(row)
    fig = figs.row_comparison(frame, summary, top_n=3)
    assert [t.name for t in fig.data] == ["deployed", "repo", "change (repo - deployed)"]
    assert fig.layout.legend.traceorder == "reversed"  # the legend reads repo, deployed
    np.testing.assert_allclose(fig.data[2].x, frame["change"].head(3).to_numpy()[::-1])
    water = figs.row_waterfalls(frame, summary, top_n=2)
    assert [t.type for t in water.data] == ["waterfall", "waterfall"]
    repo = water.data[0]
    assert repo.name == "repo" and list(repo.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert repo.x[0] == pytest.approx(summary["repo_base"]) and repo.x[-1] == pytest.approx(summary["repo_output"])
    assert sum(repo.x[:-1]) == pytest.approx(summary["repo_output"], abs=1e-5)  # base + contributions = output


def test_dependence_overlay(comparison: ExplanationComparison) -> None:
    dep = comparison.dependence("x1")
    fig = figs.dependence_overlay(dep, "x1")
    assert [t.name for t in fig.data] == ["repo", "deployed"]
    np.testing.assert_allclose(fig.data[0].y, dep["repo"].to_numpy())
    np.testing.assert_allclose(fig.data[0].x, dep["value"].to_numpy())
    cat = figs.dependence_overlay(comparison.dependence("cat"), "cat")
    assert set(cat.data[0].x) <= {"a", "b", "c"}


def test_the_two_waterfalls_of_a_row_share_one_x_scale(comparison: ExplanationComparison) -> None:
    row = comparison.default_row
    frame, summary = comparison.row(row), comparison.row_summary(row)
    fig = figs.row_waterfalls(frame, summary, top_n=3)
    # every running total of both waterfalls, computed here from the row's SHAP values
    shown = list(frame.head(3).index)
    ends = []
    for side in ("repo", "deployed"):
        steps = [summary[f"{side}_base"], *frame.loc[shown, side], frame[side].drop(index=shown).sum()]
        ends += [*np.cumsum(steps), summary[f"{side}_output"], 0.0]
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range and fig.layout.xaxis2.matches == "x"
    low, high = fig.layout.xaxis.range
    assert low < min(ends) and high > max(ends)
    assert high - low < 1.2 * (max(ends) - min(ends))  # fitted to the bars, not padded wide
    # the panels are named above them, and no legend competes with those names
    assert [a.text for a in fig.layout.annotations] == ["repo model", "deployed model"]
    assert not any(t.showlegend for t in fig.data) and fig.layout.showlegend is False


def test_importance_legend_reads_repo_first(comparison: ExplanationComparison) -> None:
    fig = figs.importance_bars(comparison.features)
    assert fig.layout.legend.traceorder == "reversed" and [t.name for t in fig.data][::-1] == ["repo", "deployed"]
    assert fig.layout.legend.y == 1.0 and fig.layout.legend.yanchor == "bottom"  # under the title, over the plot
