"""McNemar's exact test and rank-biased overlap against hand computations (issue 14, item 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_mlflow
from scipy.stats import binomtest

from modelgap.comparison import CompareOptions, run_comparison
from modelgap.explanations.stats import RBO_P, rank_biased_overlap
from modelgap.predictions.measures import flip_measures, mcnemar_exact_p
from modelgap.sources import load_model


@pytest.mark.parametrize(("negative", "positive"), [(3, 12), (10, 10), (0, 7), (25, 4), (1, 0)])
def test_mcnemar_matches_scipys_binomial_test(negative: int, positive: int) -> None:
    expected = binomtest(negative, negative + positive, 0.5, alternative="two-sided").pvalue
    assert mcnemar_exact_p(negative, positive) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_worked_example_and_edge_case() -> None:
    # 2 discordant rows against 8: P(X <= 2 | n=10, 1/2) = (1 + 10 + 45) / 1024, doubled.
    assert mcnemar_exact_p(2, 8) == pytest.approx(2 * 56 / 1024)
    assert mcnemar_exact_p(0, 0) == 1.0
    flips = flip_measures(200, negative=2, positive=8, kept=150, deployed_right=152)
    assert flips["mcnemar_p_value"] == pytest.approx(2 * 56 / 1024)
    assert flips["accuracy_change"] == pytest.approx((8 - 2) / 200)


def _ranking(order: str) -> pd.Series:
    return pd.Series({f: float(len(order) - i) for i, f in enumerate(order)})


def test_rank_biased_overlap_worked_examples() -> None:
    p = RBO_P
    assert p == 0.9
    # [a b c d] vs [b a c d]: X = 0, 2, 3, 4 at depths 1..4.
    hand = 4 / 4 * p**4 + (1 - p) / p * (0 / 1 * p + 2 / 2 * p**2 + 3 / 3 * p**3 + 4 / 4 * p**4)
    assert rank_biased_overlap(_ranking("abcd"), _ranking("bacd")) == pytest.approx(hand)
    assert hand == pytest.approx(0.9)
    # Reversed: X = 0, 0, 2, 4.
    hand_rev = p**4 + (1 - p) / p * (2 / 3 * p**3 + p**4)
    assert rank_biased_overlap(_ranking("abcd"), _ranking("dcba")) == pytest.approx(hand_rev)
    assert rank_biased_overlap(_ranking("abcde"), _ranking("abcde")) == pytest.approx(1.0)


def test_rank_biased_overlap_weighs_the_top_more_than_spearman_does() -> None:
    base = _ranking("abcdefghij")
    top_swapped = _ranking("bacdefghij")
    bottom_swapped = _ranking("abcdefghji")
    # Spearman sees the same disorder in both; RBO punishes the swap at the top more.
    assert rank_biased_overlap(base, top_swapped) < rank_biased_overlap(base, bottom_swapped)


def test_the_report_carries_both(tmp_path: Path) -> None:
    model_a, X, y = fitted("gbm", "binary")
    model_b, _, _ = fitted("logreg", "binary")
    data = tmp_path / "data.csv"
    X.assign(label=y.to_numpy()).to_csv(data, index=False)
    repo = load_model(str(save_mlflow(model_a, tmp_path / "a", X)))
    deployed = load_model(str(save_mlflow(model_b, tmp_path / "b", X)))
    comparison = run_comparison(repo, deployed, data_path=data, options=CompareOptions(target="label", shap_rows=80))
    flips = comparison.sections["predictions"].to_dict()["flips"]
    right_r = model_a.predict(X) == y.to_numpy()
    right_d = model_b.predict(X) == y.to_numpy()
    negative, positive = int((right_d & ~right_r).sum()), int((right_r & ~right_d).sum())
    expected = binomtest(negative, negative + positive, 0.5).pvalue if negative + positive else 1.0
    assert flips["mcnemar_p_value"] == pytest.approx(expected)
    assert flips["accuracy_change"] == pytest.approx(right_r.mean() - right_d.mean())
    exp = comparison.sections["explanations"].to_dict()
    table = pd.DataFrame(exp["features"]).set_index("feature")
    assert exp["rank_biased_overlap"] == pytest.approx(
        rank_biased_overlap(table["repo_importance"], table["deployed_importance"])
    )
    assert 0.0 <= exp["rank_biased_overlap"] <= 1.0 and np.isfinite(exp["rank_biased_overlap"])


def test_the_reports_show_both(tmp_path: Path) -> None:
    from modelgap.report import comparison_to_dict, render_html, render_markdown
    from modelgap.report.content import num

    model_a, X, y = fitted("gbm", "binary")
    model_b, _, _ = fitted("logreg", "binary")
    data = tmp_path / "data.csv"
    X.assign(label=y.to_numpy()).to_csv(data, index=False)
    repo = load_model(str(save_mlflow(model_a, tmp_path / "a", X)))
    deployed = load_model(str(save_mlflow(model_b, tmp_path / "b", X)))
    comparison = run_comparison(repo, deployed, data_path=data, options=CompareOptions(target="label", shap_rows=60))
    report = comparison_to_dict(comparison)
    rbo = f"| {num(report['explanations']['rank_biased_overlap'], 3)} |"
    p_value = f"p = {report['predictions']['flips']['mcnemar_p_value']:.3g}"
    markdown, html = render_markdown(comparison), render_html(comparison)
    assert f"| Top-weighted order agreement (RBO) {rbo}" in markdown
    assert "Accuracy change (McNemar p)" in markdown and p_value in markdown
    assert "Top-weighted order agreement (RBO)" in html and "Accuracy change (McNemar p)" in html and p_value in html
