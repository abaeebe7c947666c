"""Point charts draw a bounded number of points: every row up to the bound, beyond it the most different rows and a
seeded sample of the others; the statistics beside them (the boxes) still use every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelgap.figures import explanations as figs
from modelgap.figures.sampling import bounded_positions


def test_every_position_up_to_the_bound() -> None:
    np.testing.assert_array_equal(bounded_positions(5, 5), np.arange(5))
    np.testing.assert_array_equal(bounded_positions(3, 10, scores=np.array([3.0, 1.0, 2.0])), np.arange(3))


def test_beyond_the_bound_the_largest_scores_and_a_seeded_sample() -> None:
    scores = np.zeros(1000)
    scores[[7, 500, 999]] = [5.0, 9.0, np.inf]  # an infinite score is not a finite "largest" one
    scores[42] = np.nan
    picked = bounded_positions(1000, 50, scores=scores, extreme_share=0.04)  # 2 extremes, 48 sampled
    assert len(picked) == 50 and len(set(picked.tolist())) == 50 and list(picked) == sorted(picked)
    assert {500, 7} <= set(picked.tolist())
    np.testing.assert_array_equal(picked, bounded_positions(1000, 50, scores=scores, extreme_share=0.04))
    assert not np.array_equal(picked, bounded_positions(1000, 50, scores=scores, extreme_share=0.04, seed=1))


def _long(n_rows: int, features: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    parts = [
        pd.DataFrame(
            {
                "row": np.arange(n_rows),
                "feature": f,
                "diff": rng.normal(size=n_rows),
                "value": rng.uniform(size=n_rows),
                "value_scaled": rng.uniform(size=n_rows),
            }
        )
        for f in features
    ]
    return pd.concat(parts, ignore_index=True)


def test_difference_chart_bounds_its_dots_and_keeps_every_row_in_the_boxes() -> None:
    features = ["a", "b", "c"]
    long = _long(1000, features)
    fig = figs.difference_distribution(long, features=features, max_points=300)
    boxes, dots = fig.data[:3], fig.data[3]
    for box, f in zip(boxes, features, strict=True):  # each box: every row of its column
        np.testing.assert_allclose(sorted(box.x), sorted(long.loc[long["feature"] == f, "diff"]))
    assert len(dots.x) == 300  # 100 per column
    for f in features:  # each column's 20 largest |diff| are drawn
        part = long[long["feature"] == f]
        largest = part.loc[part["diff"].abs().nlargest(20).index]
        drawn = {tuple(t) for t in np.asarray(dots.customdata).tolist() if t[0] == f}
        assert len(drawn) == 100
        assert {(f, str(r), str(v)) for r, v in zip(largest["row"], largest["value"], strict=True)} <= drawn
    assert "100 of 1,000 rows per column" in fig.layout.title.text.replace("<br>", " ")
    small = figs.difference_distribution(long, features=features, max_points=3000)
    assert len(small.data[3].x) == 3000 and "rows per column" not in small.layout.title.text


def test_dependence_chart_bounds_its_rows_keeping_the_most_different() -> None:
    rng = np.random.default_rng(5)
    dep = pd.DataFrame(
        {"value": rng.uniform(size=900), "repo": rng.normal(size=900), "deployed": rng.normal(size=900)},
        index=pd.RangeIndex(100, 1000),
    )
    fig = figs.dependence_overlay(dep, "x", max_points=200)
    repo, deployed = fig.data
    assert len(repo.x) == len(deployed.x) == 200
    assert list(repo.customdata) == list(deployed.customdata)  # the same rows for both models
    gap = (dep["repo"] - dep["deployed"]).abs()
    assert {str(r) for r in gap.nlargest(40).index} <= set(repo.customdata)
    rows = [int(r) for r in repo.customdata]
    np.testing.assert_allclose(repo.y, dep.loc[rows, "repo"].to_numpy())
    np.testing.assert_allclose(deployed.y, dep.loc[rows, "deployed"].to_numpy())
    assert "200 of 900 rows" in fig.layout.title.text.replace("<br>", " ")


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n: int) -> None:
    assert len(bounded_positions(n, 0 if n == 0 else 1)) == n
