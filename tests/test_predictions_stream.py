"""Bounded memory: the pandas engine keeps compact per-row outputs and measures every row block by block.

Checked against independent computations: numpy and sklearn.metrics on whole arrays predicted by the models
directly (200k rows, several chunks), numpy's own sum/mean/std for the blockwise sums, and the full arrays for
the compact store's round trip. Also: the same numbers from any chunking (frame, CSV file, one chunk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular
from sklearn import metrics as skm

from modelgap.model import ModelMetadata
from modelgap.options import CompareOptions, PredictionTuning
from modelgap.predictions import blockwise, compare_metrics, compare_predictions
from modelgap.predictions.measures import default_tolerance
from modelgap.predictions.predict import SideOutput
from modelgap.predictions.rowstore import CompactOutputs, pack
from modelgap.sources.native import from_native

WHOLE_DATA = (  # the whole-data measures, which must not depend on how the rows are chunked
    *("n_rows", "n_disagreements", "disagreement_rate", "mean_abs_diff", "max_abs_diff", "top", "tolerance"),
    *("crosstab", "diff_histogram", "flips"),
)
N = 200_000
CHUNK = 30_000
EPS = float(np.finfo(np.float64).eps)


@pytest.mark.parametrize("limit", [None, 128, 1000, 4096])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pairwise_sum_is_numpys_sum_bit_for_bit(limit: int | None, dtype: type) -> None:
    rng = np.random.default_rng(7)
    for n in (0, 1, 7, 9, 130, 8193, 200_001, 2_500_003 if limit is None else 50_017):
        values = (rng.standard_exponential(n) * rng.choice([1e-6, 1.0, 1e6], n)).astype(dtype)
        total = blockwise.PairwiseSum(n, limit)
        start = 0
        while start < n:  # pieces of uneven lengths, as filtered chunks give them
            step = int(rng.integers(1, 90_000))
            total.add(values[start : start + step])
            start += step
        got = total.total()
        assert got == np.sum(values) and (n == 0 or got.dtype == values.dtype)
        if n:
            assert blockwise._mean(got, n) == np.mean(values)


def test_blockwise_default_tolerance_is_numpys_std_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    deployed = rng.normal(5, 3, 250_000)
    deployed[rng.choice(len(deployed), 50, replace=False)] = np.nan
    deployed[:3] = [np.inf, -np.inf, 1e9]
    store = CompactOutputs("regression", [], "values", keep_proba=False)
    for start in range(0, len(deployed), CHUNK):
        block = deployed[start : start + CHUNK]
        store.append(pack(SideOutput(values=block * 0.5), SideOutput(values=block), "regression", False, None))
    assert blockwise.default_tolerance(store) == default_tolerance(deployed)


def _side(rng: np.random.Generator, m: int, k: int, form: str) -> SideOutput:
    codes = rng.integers(-1, k, m).astype(np.int32)
    if form == "labels":
        return SideOutput(codes=codes)
    proba = rng.dirichlet(np.ones(k), m)
    if form == "p1":  # scikit-learn's binary form: column 0 is exactly 1 - column 1
        proba[:, 0] = 1 - proba[:, 1]
    elif form == "p0":
        proba[:, 1] = 1 - proba[:, 0]
    return SideOutput(codes=codes, proba=proba)


@pytest.mark.parametrize(
    ("k", "forms", "keep_proba"),
    [
        (2, ("p1", "p0"), True),
        (2, ("p1", "dense"), False),  # a binary side whose columns do not add up exactly keeps both
        (2, ("labels", "p1"), False),
        (4, ("dense", "dense"), True),
        (4, ("dense", "dense"), False),
        (4, ("dense", "labels"), False),
    ],
)
def test_compact_store_gives_back_every_array_exactly(k: int, forms: tuple[str, str], keep_proba: bool) -> None:
    rng = np.random.default_rng(k)
    sides: list[tuple[SideOutput, SideOutput]] = []
    targets = []
    store = CompactOutputs("binary" if k == 2 else "multiclass", list(range(k)), "probabilities", keep_proba)
    for m in (1000, 1, 2500):
        r, d = _side(rng, m, k, forms[0]), _side(rng, m, k, forms[1])
        target = rng.integers(-1, k, m).astype(np.int32)
        sides.append((r, d))
        targets.append(target)
        store.append(pack(r, d, store.task, keep_proba, target))
    rc = np.concatenate([r.codes for r, _ in sides])
    dc = np.concatenate([d.codes for _, d in sides])
    assert store.repo.dtype == np.int32 and np.array_equal(store.repo, rc) and np.array_equal(store.deployed, dc)
    np.testing.assert_array_equal(store.target, np.concatenate(targets))
    probas = [None if s.proba is None else np.concatenate([p[i].proba for p in sides]) for i, s in enumerate(sides[0])]
    pr, pd_ = probas
    if pr is not None and pd_ is not None:
        if k == 2:
            diff = pr[:, 1] - pd_[:, 1]
        else:
            delta = pr - pd_
            diff = delta[np.arange(len(delta)), np.argmax(np.abs(delta), axis=1)]
        np.testing.assert_array_equal(store.diff, diff)
        np.testing.assert_array_equal(store.abs_diff, np.abs(diff))
    else:
        assert np.isnan(store.diff).all()
        np.testing.assert_array_equal(store.abs_diff, (rc != dc).astype(float))
    for codes, proba, score in ((rc, pr, store.repo_score), (dc, pd_, store.deployed_score)):
        assert score is not None
        if proba is None:
            assert np.isnan(score).all()
            continue
        ok = (codes >= 0) & (codes < k)
        expected = (
            proba[:, 1] if k == 2 else np.where(ok, proba[np.arange(len(codes)), np.clip(codes, 0, k - 1)], np.nan)
        )
        np.testing.assert_array_equal(score, expected)
    if keep_proba:
        np.testing.assert_array_equal(store.repo_proba, pr)
        np.testing.assert_array_equal(store.deployed_proba, pd_)
    else:
        assert store.repo_proba is None and store.deployed_proba is None
    chosen = rng.choice(store.n_rows, 300, replace=False)  # any order, across chunks
    taken = store.take(chosen)
    np.testing.assert_array_equal(taken.repo, rc[chosen])
    np.testing.assert_array_equal(taken.abs_diff, store.abs_diff[chosen])
    assert sum(len(b.repo) for _, b in store.blocks()) == store.n_rows == len(rc)


CASES = {
    "binary": ("pipeline", "lightgbm", "y"),
    "binary-dense": ("rf", "gbm", "y"),  # random-forest probabilities are not exactly [1 - p, p]
    "multiclass": ("pipeline", "rf", "y"),
    "regression": ("pipeline", "ridge", "y"),
    "binary-no-target": ("pipeline", "lightgbm", None),
}


def _own(est: Any, X: pd.DataFrame, what: str) -> np.ndarray:
    cols = list(getattr(est, "feature_names_in_", ["x1", "x2", "x3"]))
    return np.asarray(getattr(est, what)(X[cols]))


def _expected(task: str, repo: Any, deployed: Any, X: pd.DataFrame, y: np.ndarray) -> dict[str, Any]:
    """The section's numbers from the models' own predictions on the whole frame (numpy, sklearn)."""
    out: dict[str, Any] = {}
    if task == "regression":
        r, d = _own(repo, X, "predict"), _own(deployed, X, "predict")
        diff = r - d
        out["tolerance"] = 0.01 * np.std(d)
        disagree = np.abs(diff) > out["tolerance"]
        out["metrics"] = {
            "mae": [skm.mean_absolute_error(y, p) for p in (r, d)],
            "rmse": [np.sqrt(skm.mean_squared_error(y, p)) for p in (r, d)],
            "r2": [skm.r2_score(y, p) for p in (r, d)],
        }
    else:
        pr, pd_ = _own(repo, X, "predict_proba"), _own(deployed, X, "predict_proba")
        lr, ld = np.argmax(pr, axis=1), np.argmax(pd_, axis=1)
        assert np.array_equal(lr, _own(repo, X, "predict")) and np.array_equal(ld, _own(deployed, X, "predict"))
        k = pr.shape[1]
        if k == 2:
            diff, scores = pr[:, 1] - pd_[:, 1], (pr[:, 1], pd_[:, 1])
        else:
            delta = pr - pd_
            diff = delta[np.arange(len(delta)), np.argmax(np.abs(delta), axis=1)]
            scores = (pr[np.arange(len(lr)), lr], pd_[np.arange(len(ld)), ld])
        disagree = lr != ld
        crosstab = np.zeros((k, k), dtype=int)
        np.add.at(crosstab, (lr, ld), 1)
        out["crosstab"] = crosstab.tolist()
        right_r, right_d = lr == y, ld == y
        out["flips"] = [int((right_d & ~right_r).sum()), int((~right_d & right_r).sum())]

        def nll(p: np.ndarray) -> float:
            return float(np.mean(-np.log(np.clip(p[np.arange(len(y)), y], EPS, 1 - EPS))))

        auc = (
            (lambda p: skm.roc_auc_score(y, p[:, 1]))
            if k == 2
            else (lambda p: skm.roc_auc_score(y, p, multi_class="ovr"))
        )
        f1 = {"average": "binary"} if k == 2 else {"average": "macro", "labels": list(range(k)), "zero_division": 0}
        out["metrics"] = {
            "accuracy": [skm.accuracy_score(y, lr), skm.accuracy_score(y, ld)],
            "roc_auc": [auc(pr), auc(pd_)],
            "log_loss": [nll(pr), nll(pd_)],
            "f1": [skm.f1_score(y, lr, **f1), skm.f1_score(y, ld, **f1)],
        }
        out["scores"] = scores
        out["labels"] = (lr, ld)
    abs_diff = np.abs(diff)
    order = np.lexsort((np.arange(len(abs_diff)), -abs_diff))[:20]
    out |= {
        "n_disagreements": int(disagree.sum()),
        "mean_abs_diff": float(np.mean(abs_diff)),
        "max_abs_diff": float(np.max(abs_diff)),
        "top": [int(i) for i in order if abs_diff[i] > 0],
        "abs_diff": abs_diff,
        "histogram": np.histogram(diff, bins=40),
    }
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_200k_rows_in_chunks_match_an_independent_computation(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = case.split("-")[0]
    repo_kind, deployed_kind, target = CASES[case]
    repo_est, deployed_est = fitted(repo_kind, task)[0], fitted(deployed_kind, task, seed=1)[0]
    X, y = tabular(n=N, seed=5, task=task)
    path = tmp_path / "rows.parquet"
    X.assign(y=y.to_numpy()).to_parquet(path, row_group_size=CHUNK)
    repo = from_native(repo_est, repo_kind, ModelMetadata())
    deployed = from_native(deployed_est, deployed_kind, ModelMetadata())
    monkeypatch.setattr(blockwise, "LEAF_ROWS", 4096)  # the means' summation tree has many leaves, as at 20M rows
    options = CompareOptions(target=target, top_n=20, predictions=PredictionTuning(chunk_rows=CHUNK))
    result, _ = compare_predictions(repo, deployed, data_path=path, options=options)
    got = result.to_dict()
    # per row: codes (1 byte each), the target's code, and one probability column per binary side
    assert isinstance(result.outputs, CompactOutputs)
    assert result.outputs.nbytes / N <= {"binary": 19, "binary-no-target": 18}.get(case, 100)
    want = _expected(task, repo_est, deployed_est, X, y.to_numpy())
    rel = pytest.approx  # the models' own whole-frame predictions may differ from chunked ones in the last bits
    assert got["n_rows"] == N and got["n_disagreements"] == want["n_disagreements"]
    assert got["mean_abs_diff"] == rel(want["mean_abs_diff"], rel=1e-12)
    assert got["max_abs_diff"] == rel(want["max_abs_diff"], rel=1e-12)
    assert [t["row"] for t in got["top"]] == want["top"]
    assert [t["abs_diff"] for t in got["top"]] == rel([want["abs_diff"][i] for i in want["top"]], rel=1e-12)
    counts, edges = want["histogram"]
    assert got["diff_histogram"]["counts"] == counts.tolist()
    assert got["diff_histogram"]["edges"] == rel(edges.tolist(), rel=1e-12, abs=1e-15)
    if task == "regression":
        assert got["tolerance"] == rel(want["tolerance"], rel=1e-12)
    else:
        assert got["crosstab"]["counts"] == want["crosstab"]
        top = want["top"][0]
        assert got["top"][0]["repo_score"] == rel(float(want["scores"][0][top]), rel=1e-12)
        assert got["top"][0]["repo"] == int(want["labels"][0][top])
        if target is not None:
            f = got["flips"]
            assert [f["negative_flips"], f["positive_flips"]] == want["flips"]
    if target is None:
        assert result.outputs.target is None and result.outputs.repo_proba is None
        return
    metrics = compare_metrics(result.outputs, n_resamples=20).to_dict()
    assert set(metrics) == set(want["metrics"])
    for name, (r, d) in want["metrics"].items():
        assert [metrics[name]["repo"], metrics[name]["deployed"]] == rel([r, d], rel=1e-9), name
    # the same numbers, bit for bit, from other chunkings: the whole frame in one chunk, and a CSV in 100k rows
    one = CompareOptions(target=target, top_n=20, predictions=PredictionTuning(chunk_rows=N))
    whole, _ = compare_predictions(repo, deployed, data=X.assign(y=y.to_numpy()), options=one)
    assert {k: whole.to_dict()[k] for k in WHOLE_DATA} == {k: got[k] for k in WHOLE_DATA}
    assert compare_metrics(whole.outputs, n_resamples=20).to_dict() == metrics


def test_a_csv_file_gives_the_numbers_of_the_frame(tmp_path: Path) -> None:
    X, y = tabular(n=N, seed=5)
    data = X.assign(y=y.to_numpy())
    path = tmp_path / "rows.csv"
    data.to_csv(path, index=False)
    repo = from_native(fitted("pipeline", "binary")[0], "repo", ModelMetadata())
    deployed = from_native(fitted("lightgbm", "binary", seed=1)[0], "deployed", ModelMetadata())
    options = CompareOptions(target="y", top_n=20)
    from_file, _ = compare_predictions(repo, deployed, data_path=path, options=options)
    from_frame, _ = compare_predictions(repo, deployed, data=data, options=options)
    assert from_file.to_dict()["flips"] == from_frame.to_dict()["flips"]
    assert (
        compare_metrics(from_file.outputs, n_resamples=50).to_dict()
        == compare_metrics(from_frame.outputs, n_resamples=50).to_dict()
    )


@pytest.mark.parametrize("k", [2, 3])
def test_block_metric_values_equal_the_whole_array_forms(k: int) -> None:
    """Accuracy, ROC AUC (heavy ties), log loss and F1 from 9 chunks equal the whole-array weighted forms (all
    weights 1) bit for bit, and sklearn.metrics to rounding."""
    from modelgap.predictions import metric_points
    from modelgap.predictions.bootstrap import weighted_auc

    rng = np.random.default_rng(k)
    store = CompactOutputs("binary" if k == 2 else "multiclass", list(range(k)), "probabilities", keep_proba=True)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for m in [7_000] * 8 + [333]:
        y = rng.integers(-1, k, m).astype(np.int32)
        probas = [np.round(rng.dirichlet(np.ones(k), m), 2) for _ in range(2)]  # rounded: many tied scores
        if k == 2:
            probas = [np.column_stack((1 - p[:, 1], p[:, 1])) for p in probas]
        codes = [np.argmax(p, axis=1).astype(np.int32) for p in probas]
        sides = [SideOutput(codes=c, proba=p) for c, p in zip(codes, probas, strict=True)]
        store.append(pack(sides[0], sides[1], store.task, True, y))
        parts.append((y, codes[0], codes[1], probas[0], probas[1]))
    y, rc, dc, pr, pd_ = (np.concatenate([p[i] for p in parts]) for i in range(5))
    known = y >= 0
    y, rc, dc, pr, pd_ = y[known].astype(np.int64), rc[known], dc[known], pr[known], pd_[known]
    n = len(y)
    got = metric_points.classification_points(store, n, with_proba=True)
    w = np.ones((1, n))
    for i, (pred, proba) in enumerate(((rc, pr), (dc, pd_))):
        right = np.asarray(pred == y, dtype=float)
        assert got["accuracy"][i] == float(((w @ right) / w.sum(axis=1))[0])
        if k == 2:
            auc = weighted_auc(w, proba[:, 1], y == 1)[0]
            assert got["roc_auc"][i] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), rel=1e-12)
        else:
            auc = np.mean([weighted_auc(w, proba[:, c], y == c)[0] for c in range(k)])
        assert got["roc_auc"][i] == auc
        nll = -np.log(np.clip(proba[np.arange(n), y], EPS, 1 - EPS))
        assert got["log_loss"][i] == float(((w @ nll) / w.sum(axis=1))[0])
        f1 = skm.f1_score(y, pred, **({"average": "binary"} if k == 2 else {"average": "macro", "zero_division": 0}))
        assert got["f1"][i] == pytest.approx(f1, rel=1e-12)
