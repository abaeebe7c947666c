"""The Spark engine (local[2]) against the pandas engine on the same data and models: exact counts and rates,
means within 1e-9, the same slices, top rows, sample and metrics; and a CLI run whose JSON keeps the contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests import factories as fx
from tests.contract import assert_contract
from tests.engine_parity import differences

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


def _pair(tmp: Path, task: str) -> tuple[Any, Any, Path]:
    from modelgap.sources import load_model

    m1, _, _ = fx.fitted("pipeline", task)
    m2, _, _ = fx.fitted("pipeline", task, seed=1)
    repo, dep = fx.save_skops(m1, tmp / "repo.skops"), fx.save_skops(m2, tmp / "dep.skops")
    df, y = fx.tabular(n=800, seed=5, task=task)
    path = tmp / "data.parquet"
    df.assign(y=y).to_parquet(path, row_group_size=300)
    return load_model(str(repo)), load_model(str(dep)), path


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_spark_predictions_equal_pandas(spark: Any, tmp_path: Path, task: str) -> None:
    from modelgap.comparison import CompareOptions
    from modelgap.predictions import compare_metrics, compare_predictions
    from modelgap.spark.predictions import compare_predictions_spark

    repo, dep, path = _pair(tmp_path, task)
    options = CompareOptions(target="y", top_n=10)
    a, sample_a = compare_predictions(repo, dep, data_path=path, options=options)
    b, sample_b = compare_predictions_spark(repo, dep, spark=spark, data_path=str(path), options=options)
    # the whole section, every key (tests/engine_parity.py lists what may differ, and why)
    problems = differences(a.to_dict(), b.to_dict(), "predictions")
    assert not problems, "\n".join(problems)
    assert b.mean_abs_diff == pytest.approx(a.mean_abs_diff, abs=1e-9) and b.max_abs_diff == a.max_abs_diff
    assert a.to_dict()["slices"] and a.to_dict()["top"]  # the comparison above covers non-empty lists
    pd.testing.assert_frame_equal(sample_a, sample_b)
    pd.testing.assert_frame_equal(a.rows, b.rows)
    # independent check of the headline numbers: numpy on both models' own predictions
    data = pd.read_parquet(path)
    X = data.drop(columns=["y"])
    if task == "regression":
        diff = np.abs(repo.predict_values(X) - dep.predict_values(X))
        assert b.max_abs_diff == pytest.approx(diff.max(), abs=1e-12)
        assert b.n_disagreements == int((diff > 0.01 * np.std(dep.predict_values(X))).sum())
    else:
        assert b.n_disagreements == int((repo.predict_labels(X) != dep.predict_labels(X)).sum())
    ma, mb = compare_metrics(a.outputs), compare_metrics(b.outputs)
    for name, value in ma.metrics.items():
        assert mb[name].delta == pytest.approx(value.delta, abs=1e-12)
        assert (mb[name].ci_low, mb[name].ci_high) == (value.ci_low, value.ci_high)


def test_spark_sample_is_the_pandas_reservoir() -> None:
    from modelgap.spark.scoring import sample_keys

    expected = np.random.default_rng(7).random(5000)
    rows = np.array([4999, 0, 1, 2, 1000, 1001, 3000])
    assert np.array_equal(sample_keys(rows, 7), expected[rows])


def test_cli_engine_spark_writes_contract_json(spark: Any, tmp_path: Path) -> None:
    from modelgap.cli import main

    m1, _, _ = fx.fitted("pipeline", "binary")
    m2, _, _ = fx.fitted("pipeline", "binary", seed=1)
    repo, dep = fx.save_skops(m1, tmp_path / "repo.skops"), fx.save_skops(m2, tmp_path / "dep.skops")
    df, y = fx.tabular(n=300, seed=3)
    data = tmp_path / "parts"
    data.mkdir()
    df.iloc[:150].assign(y=y.iloc[:150]).to_parquet(data / "a.parquet")
    df.iloc[150:].assign(y=y.iloc[150:]).to_parquet(data / "b.parquet")
    out = tmp_path / "report.json"
    argv = ["compare", "--repo", str(repo), "--deployed", str(dep), "--data", str(data), "--target", "y"]
    code = main([*argv, "--engine", "spark", "--no-shap", "--json", str(out), "--fail-on", "never", "--quiet"])
    assert code == 0
    report = json.loads(out.read_text())
    assert_contract(report, require=("predictions",))
    assert report["engine"] == "spark" and report["predictions"]["rows_read"] == 300
    labels = (m1.predict(df) != m2.predict(df)).sum()
    assert report["predictions"]["n_disagreements"] == int(labels)


def test_missing_table_is_one_line(spark: Any) -> None:
    from modelgap.errors import DataError
    from modelgap.spark.frames import load_rows

    with pytest.raises(DataError, match="does not exist"):
        load_rows(spark, data_path="no_such_db.no_such_table")


def test_executor_failure_surfaces_as_one_line(spark: Any, tmp_path: Path) -> None:
    """Text in a numeric column after the driver's 2,000-row head check fails inside an executor; the error
    comes back as the pandas engine's one-line SchemaMismatchError, not a JVM stack."""
    from modelgap.comparison import CompareOptions
    from modelgap.errors import SchemaMismatchError
    from modelgap.sources import load_model
    from modelgap.spark.predictions import compare_predictions_spark

    model, _, _ = fx.fitted("pipeline", "binary")
    source = load_model(str(fx.save_skops(model, tmp_path / "m.skops")))
    df, _ = fx.tabular(n=2500, seed=2)
    df = df.astype({"x2": object})
    df.loc[2400, "x2"] = "n/a"
    path = tmp_path / "bad.parquet"
    df.astype({"x2": str}).to_parquet(path)
    with pytest.raises(SchemaMismatchError) as info:
        compare_predictions_spark(source, source, spark=spark, data_path=str(path), options=CompareOptions())
    assert "'n/a'" in str(info.value) and "\n" not in str(info.value)


def test_the_side_that_cannot_be_pickled_is_named() -> None:
    """Each side's wrapper pickles the plan that holds both models: the error names the side at fault."""
    import threading
    from types import SimpleNamespace

    from modelgap.spark.wrap import _unpicklable

    fine = SimpleNamespace(side="repo", model=SimpleNamespace(source="repo.skops"))
    broken = SimpleNamespace(side="deployed", model=SimpleNamespace(source="http://x", lock=threading.Lock()))
    assert _unpicklable((fine, broken)) is broken  # type: ignore[arg-type]
    assert _unpicklable((fine, fine)) is None  # type: ignore[arg-type]


def test_slices_count_every_row_when_the_sample_is_capped(spark: Any, tmp_path: Path) -> None:
    """800 rows, a 300-row sample: each slice's rows and disagreements are counted over all 800 rows (numpy on
    the pipelines' own predictions), and every range of a column together holds all its values."""
    from modelgap.comparison import CompareOptions
    from modelgap.options import PredictionTuning
    from modelgap.spark.predictions import compare_predictions_spark

    repo, dep, path = _pair(tmp_path, "binary")
    options = CompareOptions(target="y", predictions=PredictionTuning(sample_rows=300))
    result, _ = compare_predictions_spark(repo, dep, spark=spark, data_path=str(path), options=options)
    assert result.row_cap is not None and result.row_cap.sample_capped
    data = pd.read_parquet(path)
    X = data.drop(columns=["y"])
    disagree = repo.predict_labels(X) != dep.predict_labels(X)
    overall = disagree.mean()
    assert result.slices
    for s in result.slices:
        col = X[s.column]
        if s.kind == "range":
            x = col.to_numpy(dtype=float)
            above = x >= s.low if s.closed_low else x > s.low
            mask = above & (x <= s.high)
        elif s.kind == "category":
            mask = col.isin(s.values).to_numpy()
        elif s.kind == "other":
            mask = (col.notna() & ~col.isin(s.excluded)).to_numpy()
        else:
            mask = col.isna().to_numpy()
        assert (s.n_rows, s.n_disagree) == (int(mask.sum()), int(disagree[mask].sum())), s.condition
        z = (disagree[mask].mean() - overall) / np.sqrt(overall * (1 - overall) / mask.sum())
        assert s.z == pytest.approx(z, abs=1e-9)
    for column in ("x1", "x2"):
        ranges = [s for s in result.slices if s.column == column and s.kind == "range"]
        assert ranges and sum(s.n_rows for s in ranges) == len(X)  # every value of the column, in one range
        assert min(s.low for s in ranges) == X[column].min() and max(s.high for s in ranges) == X[column].max()
