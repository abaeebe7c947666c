"""Every prediction measure and metric against an independent numpy / sklearn.metrics computation on the same
predictions, for binary, multiclass and regression pairs from different libraries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular

from modelgap.comparison import CompareOptions
from modelgap.model import ModelMetadata
from modelgap.predictions import PredictionComparison, compare_metrics, compare_predictions
from modelgap.predictions.bootstrap import weighted_auc
from modelgap.sources.native import from_native

PAIRS = {
    "binary": ("pipeline", "xgboost"),
    "multiclass": ("lightgbm", "rf"),
    "regression": ("xgboost", "lightgbm"),
}


class Case:
    def __init__(self, task: str) -> None:
        repo_kind, deployed_kind = PAIRS[task]
        self.task = task
        self.repo_est = fitted(repo_kind, task)[0]
        self.deployed_est = fitted(deployed_kind, task, seed=1)[0]
        X, y = tabular(n=700, seed=11, task=task)
        self.data = X.assign(y=y.to_numpy())
        self.X, self.y = X, y.to_numpy()
        repo = from_native(self.repo_est, repo_kind, ModelMetadata())
        deployed = from_native(self.deployed_est, deployed_kind, ModelMetadata())
        self.result, self.sample = compare_predictions(
            repo, deployed, data=self.data, options=CompareOptions(target="y", top_n=15)
        )

    def own(self, est: Any, what: str) -> np.ndarray:
        cols = list(getattr(est, "feature_names_in_", ["x1", "x2", "x3"]))
        X = self.X if "cat" in cols else self.X[cols]
        return np.asarray(getattr(est, what)(X))


@pytest.fixture(scope="module", params=list(PAIRS))
def case(request: pytest.FixtureRequest) -> Case:
    return Case(request.param)


def test_headline_numbers_match_numpy(case: Case) -> None:
    r = case.result
    assert isinstance(r, PredictionComparison) and r.n_rows == len(case.X) and r.task == case.task
    if case.task == "regression":
        pr, pd_ = case.own(case.repo_est, "predict"), case.own(case.deployed_est, "predict")
        diff = pr - pd_
        tol = 0.01 * np.std(pd_)
        assert r.tolerance == pytest.approx(tol, rel=1e-9) and r.tolerance_is_default
        disagree = np.abs(diff) > tol
        assert r.crosstab is None and r.flips is None
    else:
        lr, ld = case.own(case.repo_est, "predict"), case.own(case.deployed_est, "predict")
        Pr, Pd = case.own(case.repo_est, "predict_proba"), case.own(case.deployed_est, "predict_proba")
        disagree = lr != ld
        delta = Pr - Pd
        if case.task == "binary":
            diff = delta[:, 1]
        else:
            diff = delta[np.arange(len(delta)), np.abs(delta).argmax(axis=1)]
            assert np.allclose(np.abs(diff), np.abs(delta).max(axis=1))
        expected = pd.crosstab(pd.Series(lr, name="repo"), pd.Series(ld, name="deployed"))
        expected = expected.reindex(index=r.classes, columns=r.classes, fill_value=0)
        assert (r.crosstab.to_numpy() == expected.to_numpy()).all()
        right_r, right_d = lr == case.y, ld == case.y
        assert r.flips is not None
        assert r.flips["negative_flips"] == int((right_d & ~right_r).sum())
        assert r.flips["positive_flips"] == int((~right_d & right_r).sum())
        assert r.flips["negative_flip_rate"] == pytest.approx((right_d & ~right_r).mean())
        assert r.flips["backward_trust_compatibility"] == pytest.approx((right_d & right_r).sum() / right_d.sum())
    assert r.n_disagreements == int(disagree.sum())
    assert r.disagreement_rate == pytest.approx(disagree.mean())
    assert r.mean_abs_diff == pytest.approx(np.abs(diff).mean(), rel=1e-9)
    assert r.max_abs_diff == pytest.approx(np.abs(diff).max(), rel=1e-9)
    counts, edges = np.histogram(diff, bins=40)
    assert r.diff_histogram is not None
    assert (r.diff_histogram.counts == counts).all() and np.allclose(r.diff_histogram.edges, edges)


def test_top_rows_and_row_table_match_numpy(case: Case) -> None:
    r = case.result
    if case.task == "regression":
        pr, pd_ = case.own(case.repo_est, "predict"), case.own(case.deployed_est, "predict")
        abs_diff = np.abs(pr - pd_)
    else:
        Pr, Pd = case.own(case.repo_est, "predict_proba"), case.own(case.deployed_est, "predict_proba")
        # Binary: of the positive class (xgboost's float32 class-0 column may differ in the 8th digit).
        abs_diff = np.abs(Pr[:, 1] - Pd[:, 1]) if case.task == "binary" else np.abs(Pr - Pd).max(axis=1)
    order = np.argsort(-abs_diff, kind="stable")[:15]
    assert [t["row"] for t in r.top] == order.tolist()
    assert np.allclose([t["abs_diff"] for t in r.top], abs_diff[order])
    rows = r.rows
    assert list(rows.index) == list(range(len(case.X))) and rows.index.name == "row"
    assert np.allclose(rows["abs_diff"].to_numpy(), abs_diff)
    assert rows["disagrees"].sum() == r.n_disagreements
    if case.task != "regression":
        labels = case.own(case.repo_est, "predict")
        assert (rows["repo"].to_numpy() == labels).all()
        Pr = case.own(case.repo_est, "predict_proba")
        expected_score = Pr[:, 1] if case.task == "binary" else Pr[np.arange(len(Pr)), Pr.argmax(axis=1)]
        assert np.allclose(rows["repo_score"].to_numpy(), expected_score)
        top = r.top[0]
        assert top["repo"] == labels[top["row"]] and top["repo_score"] == pytest.approx(expected_score[top["row"]])
    # The sample: input rows by 0-based position, target kept.
    assert list(case.sample.index) == list(range(len(case.X))) and "y" in case.sample.columns
    assert (case.sample["y"].to_numpy() == case.y).all()


def test_metrics_match_sklearn(case: Case) -> None:
    from sklearn import metrics as skm

    m = compare_metrics(case.result.outputs, n_resamples=50)
    d = m.to_dict()
    for entry in d.values():
        assert set(entry) == {"repo", "deployed", "delta", "ci_low", "ci_high"}
    for side, est in (("repo", case.repo_est), ("deployed", case.deployed_est)):
        if case.task == "regression":
            p = case.own(est, "predict")
            expected = {
                "mae": skm.mean_absolute_error(case.y, p),
                "rmse": np.sqrt(skm.mean_squared_error(case.y, p)),
                "r2": skm.r2_score(case.y, p),
            }
        else:
            labels, P = case.own(est, "predict"), case.own(est, "predict_proba")
            binary = case.task == "binary"
            expected = {
                "accuracy": skm.accuracy_score(case.y, labels),
                "roc_auc": skm.roc_auc_score(case.y, P[:, 1])
                if binary
                else skm.roc_auc_score(case.y, P, multi_class="ovr", average="macro"),
                "log_loss": skm.log_loss(case.y, P, labels=est.classes_),
                "f1": skm.f1_score(case.y, labels)
                if binary
                else skm.f1_score(case.y, labels, average="macro", labels=est.classes_),
            }
        assert list(d) == list(expected)
        for name, value in expected.items():
            # rel 1e-6: xgboost gives float32 probabilities, which sklearn may handle in float32
            assert d[name][side] == pytest.approx(value, rel=1e-6, abs=1e-12), (name, side)
    for name, entry in d.items():
        assert entry["delta"] == pytest.approx(entry["repo"] - entry["deployed"], abs=1e-12), name


def test_paired_bootstrap_matches_an_independent_loop() -> None:
    """Same seed logic as modelgap.predictions.bootstrap: rng.integers(0, n, size=(B, n)), percentile interval."""
    from sklearn import metrics as skm

    c = Case("binary")
    n_boot = 120
    m = compare_metrics(c.result.outputs, seed=7, n_resamples=n_boot)
    y = c.y
    labels = {s: c.own(e, "predict") for s, e in (("r", c.repo_est), ("d", c.deployed_est))}
    full = {s: c.own(e, "predict_proba").astype(float) for s, e in (("r", c.repo_est), ("d", c.deployed_est))}
    proba = {s: p[:, 1] for s, p in full.items()}
    fns = {
        "accuracy": lambda s, i: skm.accuracy_score(y[i], labels[s][i]),
        "roc_auc": lambda s, i: skm.roc_auc_score(y[i], proba[s][i]),
        "log_loss": lambda s, i: skm.log_loss(y[i], full[s][i], labels=[0, 1]),
        "f1": lambda s, i: skm.f1_score(y[i], labels[s][i], zero_division=0),
    }
    idx = np.random.default_rng(7).integers(0, len(y), size=(n_boot, len(y)))
    for name, fn in fns.items():
        deltas = np.array([fn("r", i) - fn("d", i) for i in idx])
        lo, hi = np.percentile(deltas, [2.5, 97.5])
        got = m[name]
        assert got.ci_low == pytest.approx(lo, rel=1e-9, abs=1e-12), name
        assert got.ci_high == pytest.approx(hi, rel=1e-9, abs=1e-12), name
        assert got.ci_low <= got.delta <= got.ci_high, name


def test_scaled_bootstrap_on_a_subset_brackets_the_delta_with_a_similar_width() -> None:
    c = Case("binary")
    full = compare_metrics(c.result.outputs, n_resamples=400)
    # The m-out-of-n path: resample 300 of the 700 rows, scale the deviations by sqrt(300/700).
    sub = compare_metrics(c.result.outputs, n_resamples=400, bootstrap_rows=300)
    assert sub.resample_rows == 300 and any("m-out-of-n" in n for n in sub.notes)
    for name, f in full.metrics.items():
        s = sub.metrics[name]
        assert s.delta == f.delta
        assert s.ci_low is not None and s.ci_high is not None and f.ci_low is not None and f.ci_high is not None
        assert s.ci_low < s.delta < s.ci_high, name
        width, ref = s.ci_high - s.ci_low, f.ci_high - f.ci_low
        assert 0.5 * ref < width < 2.0 * ref, (name, width, ref)


def test_weighted_auc_equals_sklearn_with_sample_weights_and_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    scores = np.round(rng.uniform(size=300), 1)  # many ties
    positive = rng.uniform(size=300) < 0.4
    weights = rng.integers(0, 4, size=(5, 300)).astype(float)
    got = weighted_auc(weights, scores, positive)
    for w, value in zip(weights, got, strict=True):
        assert value == pytest.approx(roc_auc_score(positive, scores, sample_weight=w), rel=1e-12)


def test_json_has_the_contract_keys(case: Case) -> None:
    import json

    d = case.result.to_dict()
    json.dumps(d, allow_nan=False)
    for key in ("n_rows", "task", "disagreement_rate", "n_disagreements", "mean_abs_diff", "max_abs_diff", "top"):
        assert key in d
    for entry in d["top"]:
        assert {"row", "repo", "deployed", "abs_diff"} <= set(entry)
    assert d["row_cap"]["rows_compared"] == len(case.X) and d["row_cap"]["sample_capped"] is False
    assert case.result.summary_lines()[0].startswith("Predictions (700 rows")


def test_metrics_leave_out_unusable_labels_and_say_so() -> None:
    from sklearn import metrics as skm

    c = Case("binary")
    data = c.data.astype({"y": float})
    data.loc[[0, 1, 2], "y"] = 7.0  # a label neither model knows
    data.loc[[3, 4], "y"] = np.nan
    repo = from_native(c.repo_est, "repo", ModelMetadata())
    deployed = from_native(c.deployed_est, "deployed", ModelMetadata())
    result, _ = compare_predictions(repo, deployed, data=data, options=CompareOptions(target="y"))
    m = compare_metrics(result.outputs, n_resamples=20)
    assert m.n_rows == len(data) - 5 and m.n_excluded == 5
    assert any("5 rows" in n and "left out" in n for n in m.notes)
    keep = np.arange(5, len(data))
    labels = c.own(c.repo_est, "predict")
    assert m["accuracy"].repo == pytest.approx(skm.accuracy_score(c.y[keep], labels[keep]))
    assert result.flips is not None and result.flips["n_rows"] == len(data) - 5


def test_remeasure_applies_a_new_tolerance_without_predicting_again() -> None:
    from modelgap.predictions import remeasure

    c = Case("regression")
    abs_diff = c.result.rows["abs_diff"].to_numpy()
    tolerance = float(np.quantile(abs_diff, 0.8))
    again = remeasure(c.result, c.sample, tolerance=tolerance)
    assert again.tolerance == tolerance and not again.tolerance_is_default
    assert again.n_disagreements == int((abs_diff > tolerance).sum())
    assert (again.rows["disagrees"].to_numpy() == (abs_diff > tolerance)).all()
    assert not any(n.startswith("Tolerance ") for n in again.notes)
    assert again.outputs is c.result.outputs and again.row_cap == c.result.row_cap
    assert sum(s.n_disagree for s in again.slices if s.column == "x3") == again.n_disagreements
