"""Spark metrics over every row: with the sample capped (500 of 3,000 rows), every point value equals sklearn /
numpy on ALL labelled rows (both models' own predictions), rows without a usable label are left out and
counted, and the intervals are the sample's paired bootstrap moved onto the all-row change; without a cap the
section is exactly the pandas engine's."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.tree import DecisionTreeClassifier

from tests import factories as fx

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

N_ROWS = 3000
SAMPLE = 500
TASKS = ("binary", "multiclass", "regression")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any, Path]]:
    """Per task: (repo, deployed, parquet path). Classifiers: a gradient-boosting pipeline (smooth scores) vs
    a depth-3 tree pipeline (few scores: many ties). Labels: 4% missing; classifiers also 1% unknown (label 7)."""
    from modelgap.sources import load_model

    out = {}
    for task in TASKS:
        tmp = tmp_path_factory.mktemp(task)
        m1, _, _ = fx.fitted("pipeline", task)
        if task == "regression":
            m2, _, _ = fx.fitted("pipeline", task, seed=1)
        else:
            df0, y0 = fx.tabular(seed=1, task=task)
            m2 = fx.pipeline(task, DecisionTreeClassifier(max_depth=3, random_state=0)).fit(df0, y0)
        repo, dep = fx.save_skops(m1, tmp / "repo.skops"), fx.save_skops(m2, tmp / "dep.skops")
        df, y = fx.tabular(n=N_ROWS, seed=5, task=task)
        rng = np.random.default_rng(11)
        if task == "regression":
            target = y.astype(float).mask(rng.random(N_ROWS) < 0.04)
        else:
            target = y.astype("Int64").mask(rng.random(N_ROWS) < 0.04)
            target[rng.random(N_ROWS) < 0.01] = 7
        path = tmp / "data.parquet"
        df.assign(y=target).to_parquet(path, row_group_size=700)
        out[task] = (load_model(str(repo)), load_model(str(dep)), path)
    return out


def _expected(repo: Any, dep: Any, path: Path, task: str) -> tuple[dict[str, tuple[float, float]], int]:
    """Both models' metrics on every labelled row: sklearn / numpy on each model's own predictions."""
    data = pd.read_parquet(path)
    X = data.drop(columns=["y"])
    if task == "regression":
        keep = data["y"].notna().to_numpy()
        y = data["y"].to_numpy(dtype=float)[keep]
        out: dict[str, list[float]] = {"mae": [], "rmse": [], "r2": []}
        for model in (repo, dep):
            err = model.predict_values(X)[keep] - y
            out["mae"].append(float(np.mean(np.abs(err))))
            out["rmse"].append(float(np.sqrt(np.mean(err**2))))
            out["r2"].append(float(1 - np.sum(err**2) / np.sum((y - y.mean()) ** 2)))
        return {k: (v[0], v[1]) for k, v in out.items()}, int(keep.sum())
    labels = list(repo.classes)
    keep = data["y"].isin(labels).to_numpy()
    y = data["y"].to_numpy()[keep].astype(int)
    out = {"accuracy": [], "roc_auc": [], "log_loss": [], "f1": []}
    for model in (repo, dep):
        pred = model.predict_labels(X)[keep].astype(int)
        proba = model.predict_proba(X)[keep]
        out["accuracy"].append(skm.accuracy_score(y, pred))
        if task == "binary":
            out["roc_auc"].append(skm.roc_auc_score(y, proba[:, 1]))
            out["f1"].append(skm.f1_score(y, pred, pos_label=1))
        else:
            out["roc_auc"].append(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels))
            out["f1"].append(skm.f1_score(y, pred, average="macro", labels=labels, zero_division=0))
        out["log_loss"].append(skm.log_loss(y, proba, labels=labels))
    return {k: (float(v[0]), float(v[1])) for k, v in out.items()}, int(keep.sum())


@pytest.mark.parametrize("task", TASKS)
def test_capped_point_values_cover_every_row(spark: Any, pairs: dict[str, Any], task: str) -> None:
    from modelgap.comparison import CompareOptions, Comparison
    from modelgap.options import PredictionTuning
    from modelgap.params import compare_parameters
    from modelgap.predictions import compare_metrics, compare_predictions
    from modelgap.spark.metrics import build_metrics_spark
    from modelgap.spark.predictions import compare_predictions_spark

    repo, dep, path = pairs[task]
    options = CompareOptions(target="y", predictions=PredictionTuning(sample_rows=SAMPLE))
    result, _ = compare_predictions_spark(repo, dep, spark=spark, data_path=str(path), options=options)
    assert result.row_cap is not None and result.row_cap.sample_capped and len(result.uniform_rows) == SAMPLE
    comparison = Comparison(repo, dep, options, compare_parameters(repo, dep), data_path=str(path))
    comparison.sections["predictions"] = result
    build_metrics_spark(comparison, lambda _m, _f: None)
    metrics = comparison.sections["metrics"]

    expected, n_labelled = _expected(repo, dep, path, task)
    assert list(metrics.metrics) == list(expected)
    assert metrics.n_rows == n_labelled and metrics.n_excluded == N_ROWS - n_labelled > 0
    assert any(f"{N_ROWS - n_labelled:,} rows with" in note for note in metrics.notes)
    for name, (r, d) in expected.items():
        m = metrics[name]
        assert m.repo == pytest.approx(r, abs=1e-9), name
        assert m.deployed == pytest.approx(d, abs=1e-9), name
        assert m.delta == pytest.approx(r - d, abs=1e-9), name
        assert m.ci_low is not None and m.ci_high is not None
        assert math.isfinite(m.ci_low) and math.isfinite(m.ci_high)
        assert m.ci_low <= m.delta <= m.ci_high, name
    assert set(metrics.to_dict()[next(iter(expected))]) == {"repo", "deployed", "delta", "ci_low", "ci_high"}

    # The intervals: the uniform sample's own paired bootstrap (pandas engine on those rows), its deviations
    # from the sample's change scaled by sqrt(sample's labelled rows / all labelled rows).
    rows = pd.read_parquet(path).iloc[result.uniform_rows.to_numpy()].reset_index(drop=True)
    on_sample, _ = compare_predictions(repo, dep, data=rows, options=CompareOptions(target="y"))
    own = compare_metrics(on_sample.outputs)
    scale = math.sqrt(own.n_rows / n_labelled)
    for name, m in metrics.metrics.items():
        s = own[name]
        assert s.ci_low is not None and s.ci_high is not None
        assert m.ci_low == pytest.approx(m.delta + (s.ci_low - s.delta) * scale, abs=1e-9), name
        assert m.ci_high == pytest.approx(m.delta + (s.ci_high - s.delta) * scale, abs=1e-9), name
    assert any(f"all {n_labelled:,} labelled rows" in note and f"{SAMPLE:,}-row" in note for note in comparison.notes)


def test_uncapped_equals_pandas_engine(spark: Any, pairs: dict[str, Any]) -> None:
    """Without a cap the builder is the pandas engine's: the same numbers, intervals and notes, no Spark note.
    (One task: tests/test_spark.py shows the collected outputs equal the pandas engine's for all three.)"""
    from modelgap.comparison import CompareOptions, Comparison
    from modelgap.params import compare_parameters
    from modelgap.predictions import compare_metrics, compare_predictions
    from modelgap.spark.metrics import build_metrics_spark
    from modelgap.spark.predictions import compare_predictions_spark

    repo, dep, path = pairs["multiclass"]
    options = CompareOptions(target="y", seed=3)
    result, _ = compare_predictions_spark(repo, dep, spark=spark, data_path=str(path), options=options)
    assert result.row_cap is not None and not result.row_cap.sample_capped
    assert getattr(result, "whole_metrics", None) is None
    comparison = Comparison(repo, dep, options, compare_parameters(repo, dep), data_path=str(path))
    comparison.sections["predictions"] = result
    build_metrics_spark(comparison, lambda _m, _f: None)
    ours = comparison.sections["metrics"]
    pandas_result, _ = compare_predictions(repo, dep, data_path=path, options=options)
    theirs = compare_metrics(pandas_result.outputs, seed=3)
    assert ours.to_dict() == theirs.to_dict()
    assert (ours.n_rows, ours.n_excluded, ours.notes) == (theirs.n_rows, theirs.n_excluded, theirs.notes)
    assert ours.n_excluded > 0 and not any("Spark engine" in n for n in comparison.notes)


def test_auc_partition_sums_match_sklearn() -> None:
    """The range-partitioned Mann-Whitney sum (no Spark): scores with many ties, split into 3 partitions and
    several batches, give sklearn's roc_auc_score; rows out of order fail loudly instead of miscounting."""
    from modelgap.spark.metrics import _combine, _partition_sums

    rng = np.random.default_rng(4)
    scores = np.round(rng.random(2000), 2)  # about 100 distinct scores: ties everywhere
    y = (rng.random(2000) < scores).astype(int)
    grouped = (
        pd.DataFrame({"score": scores, "pos": y, "neg": 1 - y})
        .groupby("score", as_index=False)
        .sum()
        .assign(side=0, cls=1)[["side", "cls", "score", "pos", "neg"]]
    )
    ranges = [grouped.iloc[:30], grouped.iloc[30:70], grouped.iloc[70:]]  # three partitions of increasing scores
    parts = []
    for part in ranges[::-1]:  # partitions come back in any order
        batches = [part.iloc[:10], part.iloc[10:11], part.iloc[11:]]  # a partition arrives in several batches
        parts += list(_partition_sums(iter(batches)))
    assert _combine(pd.concat(parts, ignore_index=True)) == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)
    with pytest.raises(RuntimeError, match="out of order"):
        list(_partition_sums(iter([grouped.iloc[20:40], grouped.iloc[:20]])))
