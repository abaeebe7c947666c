"""Explanations on the Spark engine (SHAP per partition with mapInPandas, importance aggregated in Spark) against
the pandas engine on the same data and models, and against shap's own TreeExplainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests import factories as fx
from tests.engine_parity import differences

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


def _both_engines(repo: Any, dep: Any, path: Path, **options: Any) -> tuple[Any, Any]:
    """The explanations section from the pandas engine and from the Spark engine."""
    from modelgap.comparison import CompareOptions, run_comparison

    out = []
    for engine in ("pandas", "spark"):
        comparison = run_comparison(repo, dep, data_path=path, options=CompareOptions(engine=engine, **options))
        assert "explanations" not in comparison.errors, comparison.errors
        out.append(comparison.sections["explanations"])
    return out[0], out[1]


def _assert_same(a: Any, b: Any) -> None:
    """Same rows, same values within 1e-9, same derived statistics; notes aside (Spark adds its own)."""
    pd.testing.assert_frame_equal(a.X, b.X)
    for target in a.targets:
        ca, cb = a.for_target(target), b.for_target(target)
        np.testing.assert_allclose(cb.repo_values.to_numpy(), ca.repo_values.to_numpy(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(cb.deployed_values.to_numpy(), ca.deployed_values.to_numpy(), rtol=0, atol=1e-9)
        for column in ("repo_importance", "deployed_importance"):
            np.testing.assert_allclose(cb.features[column], ca.features[column], rtol=0, atol=1e-9)
        assert list(cb.features.index) == list(ca.features.index)
        assert cb.sign_flips == ca.sign_flips and cb.top_k_overlap == ca.top_k_overlap
    da, db = a.to_dict(), b.to_dict()
    assert any("importance aggregated in Spark" in n for n in db["notes"])
    # the whole section, every key (tests/engine_parity.py lists what may differ, and why)
    problems = differences(da, db, "explanations")
    assert not problems, "\n".join(problems)


def test_tree_shap_on_spark_equals_pandas_and_native_shap(spark: Any, tmp_path: Path) -> None:
    import shap

    from modelgap.sources import load_model

    m1, _, _ = fx.fitted("gbm", "binary")
    m2, _, _ = fx.fitted("gbm", "binary", seed=1)
    repo = load_model(str(fx.save_skops(m1, tmp_path / "repo.skops")))
    dep = load_model(str(fx.save_skops(m2, tmp_path / "dep.skops")))
    df, y = fx.tabular(n=700, seed=4)
    path = tmp_path / "data.parquet"
    df.assign(y=y).to_parquet(path, row_group_size=250)
    a, b = _both_engines(repo, dep, path, target="y", shap_rows=90, top_n=10)
    _assert_same(a, b)
    assert b.n_rows == 90
    # independent: shap's own TreeExplainer on the same rows, and numpy's mean |SHAP|
    X = b.X[["x1", "x2", "x3"]]
    sides = ((m1, b.repo_values, "repo_importance"), (m2, b.deployed_values, "deployed_importance"))
    for model, values, column in sides:
        native = np.asarray(shap.TreeExplainer(model).shap_values(X))
        native = native[..., 1] if native.ndim == 3 else native
        np.testing.assert_allclose(values[["x1", "x2", "x3"]].to_numpy(), native, rtol=0, atol=1e-9)
        # the importance is the mean over the uniform random rows only (the largest disagreements are apart)
        random = b.X.index.get_indexer(b.statistics_rows)
        assert 0 < len(random) < b.n_rows and (random >= 0).all()
        expected = np.abs(native[random]).mean(axis=0)
        np.testing.assert_allclose(b.features.loc[["x1", "x2", "x3"], column].to_numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_pipeline_shap_on_spark_equals_pandas(spark: Any, tmp_path: Path, task: str) -> None:
    from modelgap.sources import load_model

    m1, _, _ = fx.fitted("pipeline", task)
    m2, _, _ = fx.fitted("pipeline", task, seed=1)
    repo = load_model(str(fx.save_skops(m1, tmp_path / "repo.skops")))
    dep = load_model(str(fx.save_skops(m2, tmp_path / "dep.skops")))
    df, y = fx.tabular(n=500, seed=6, task=task)
    path = tmp_path / "data.parquet"
    df.assign(y=y).to_parquet(path, row_group_size=200)
    a, b = _both_engines(repo, dep, path, target="y", shap_rows=70, top_n=10)
    _assert_same(a, b)
    assert len(b.targets) == (3 if task == "multiclass" else 1)


def test_model_agnostic_shap_on_spark_keeps_the_budget_and_the_seeds(spark: Any, tmp_path: Path) -> None:
    """A model with no exact explainer: the row budget (12 of 33 rows) spans two parts, and the second part's
    chunks get the seeds they get on the pandas engine, so the values are equal."""
    from sklearn.neighbors import KNeighborsRegressor

    from modelgap.sources import load_model

    m1, _, _ = fx.fitted("pipeline", "regression", model=KNeighborsRegressor(n_neighbors=5))
    m2, _, _ = fx.fitted("pipeline", "regression", seed=1, model=KNeighborsRegressor(n_neighbors=9))
    repo = load_model(str(fx.save_skops(m1, tmp_path / "repo.skops")))
    dep = load_model(str(fx.save_skops(m2, tmp_path / "dep.skops")))
    df, y = fx.tabular(n=300, seed=8, task="regression")
    path = tmp_path / "data.parquet"
    df.assign(y=y).to_parquet(path)
    from modelgap.options import ExplanationTuning

    tuning = ExplanationTuning(agnostic_rows=12)
    a, b = _both_engines(repo, dep, path, target="y", shap_rows=33, top_n=5, explanations=tuning)
    assert b.method["repo"] == "permutation (model-agnostic)"
    assert b.n_rows == 12
    _assert_same(a, b)
    assert [n for n in b.repo.notes if "row budget" in n] == [n for n in a.repo.notes if "row budget" in n]
    assert b.additivity["repo"].failed is False


def test_parts_are_whole_agnostic_chunks() -> None:
    from modelgap.explanations.agnostic import AgnosticSettings
    from modelgap.spark.explanations import _parts

    for n in (1, 4, 5, 33, 1000, 1001):
        for cores in (1, 2, 8):
            rows, parts = _parts(n, cores, AgnosticSettings(chunk_rows=5))
            assert rows % 5 == 0 and (parts - 1) * rows < n <= parts * rows
