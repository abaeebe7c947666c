"""The Predictions page's figures: what they draw is checked against numpy on the same arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_skops, tabular

from modelgap import load_model
from modelgap.figures import predictions as figs
from modelgap.figures.colors import DEPLOYED_COLOR, DISAGREE_COLOR, REPO_COLOR
from modelgap.predictions import compare_predictions


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """A real multiclass pair compared on fresh rows: (section result, repo labels, deployed labels, proba diff)."""
    folder = tmp_path_factory.mktemp("figs")
    a, _, _ = fitted("rf", "multiclass")
    b, _, _ = fitted("logreg", "multiclass")
    repo = load_model(str(save_skops(a, folder / "a.skops")))
    deployed = load_model(str(save_skops(b, folder / "b.skops")))
    df, y = tabular(n=300, seed=3, task="multiclass")
    X = df[["x1", "x2", "x3"]]
    result, _ = compare_predictions(repo, deployed, data=X.assign(y=y), options=_options("y"))
    return result, a.predict(X), b.predict(X), a.predict_proba(X) - b.predict_proba(X)


def _options(target: str | None) -> Any:
    from modelgap.comparison import CompareOptions

    return CompareOptions(target=target)


def test_crosstab_counts_and_row_percentages(multiclass: Any) -> None:
    result, a, b, _ = multiclass
    fig = figs.crosstab_heatmap(result.crosstab)
    heat = fig.data[0]
    labels = sorted(set(a) | set(b))
    counts = np.array([[np.sum((a == r) & (b == d)) for d in labels] for r in labels])
    np.testing.assert_array_equal(np.asarray(heat.z), counts)
    assert list(heat.y) == [str(v) for v in labels] and list(heat.x) == [str(v) for v in labels]
    share = 100 * counts / counts.sum(axis=1, keepdims=True)
    for i in range(len(labels)):
        for j in range(len(labels)):
            assert heat.text[i][j] == f"{counts[i, j]:,}<br>{share[i, j]:.1f}%"
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_row_percent_of_an_empty_row_is_zero() -> None:
    frame = pd.DataFrame([[0, 0], [3, 1]], index=["a", "b"], columns=["a", "b"])
    np.testing.assert_allclose(figs.row_percent(frame), [[0, 0], [75, 25]])


def test_probability_histogram_per_class(multiclass: Any) -> None:
    result, _, _, delta = multiclass
    classes = [str(c) for c in result.classes]
    fig = figs.probability_diff_histogram({c: delta[:, i] for i, c in enumerate(classes)}, bins=20)
    assert [t.name for t in fig.data] == [f"class {c}" for c in classes]
    edges = np.linspace(delta.min(), delta.max(), 21)
    for i, trace in enumerate(fig.data):
        expected, _ = np.histogram(delta[:, i], bins=edges)
        np.testing.assert_array_equal(np.asarray(trace.y), expected)
        assert sum(trace.y) == len(delta)
    assert fig.layout.barmode == "overlay" and fig.layout.showlegend


def test_binary_probability_histogram_is_one_red_series() -> None:
    diff = np.random.default_rng(0).normal(0, 0.05, 500)
    diff[:3] = np.nan  # rows without a probability are left out, not counted as zero
    fig = figs.probability_diff_histogram({"1": diff})
    assert len(fig.data) == 1 and fig.data[0].marker.color == DISAGREE_COLOR
    assert sum(fig.data[0].y) == 497
    assert "(class 1)" in fig.layout.title.text


def test_value_histogram_marks_the_tolerance() -> None:
    diff = np.random.default_rng(1).normal(0, 1, 800)
    fig = figs.value_diff_histogram(diff, 0.25)
    assert sum(fig.data[0].y) == 800
    lines = sorted(s.x0 for s in fig.layout.shapes)
    assert lines == [-0.25, 0, 0.25]
    no_tol = figs.value_diff_histogram(diff, None)
    assert [s.x0 for s in no_tol.layout.shapes] == [0]


def test_regression_scatter_points_band_and_disagreements() -> None:
    rng = np.random.default_rng(2)
    deployed = rng.normal(10, 3, 600)
    repo = deployed + rng.normal(0, 0.5, 600)
    repo[5] = np.nan  # a row without a value is not drawn
    tol = 0.4
    fig = figs.regression_scatter(repo, deployed, tol, rows=np.arange(100, 700))
    by_name = {t.name: t for t in fig.data}
    ok = np.isfinite(repo)
    outside = ok & (np.abs(repo - deployed) > tol)
    assert len(by_name["disagree"].x) == outside.sum()
    assert len(by_name["agree"].x) == (ok & ~outside).sum()
    np.testing.assert_array_equal(np.sort(by_name["disagree"].customdata), np.flatnonzero(outside) + 100)
    assert by_name["agree"].marker.color == REPO_COLOR and by_name["disagree"].marker.color == DISAGREE_COLOR
    line = by_name["same prediction"]
    assert list(line.x) == list(line.y)  # the y = x line
    band = next(t for t in fig.data if t.fill == "toself")
    np.testing.assert_allclose(np.asarray(band.y) - np.asarray(band.x), [tol, tol, -tol, -tol])
    assert "shown" not in fig.layout.title.text


def test_regression_scatter_caps_the_points() -> None:
    x = np.arange(1000, dtype=float)
    fig = figs.regression_scatter(x + 1, x, None, max_points=100)
    drawn = sum(len(t.x) for t in fig.data if t.mode == "markers")
    assert drawn == 100 and "(100 of 1,000 rows shown)" in fig.layout.title.text.replace("<br>", " ")
    assert not [t for t in fig.data if t.fill == "toself"]  # no band without a tolerance


def test_row_probabilities_uses_the_model_colours() -> None:
    fig = figs.row_probabilities(["a", "b", "c"], np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.3, 0.1]))
    assert [(t.name, t.marker.color) for t in fig.data] == [("repo", REPO_COLOR), ("deployed", DEPLOYED_COLOR)]
    np.testing.assert_allclose(fig.data[0].y, [0.2, 0.5, 0.3])
