"""Differences between two explanations: ranks, rank correlation, top-k, sign flips, rows, dependence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_mlflow, save_skops, tabular
from scipy import stats

from modelgap.explanations import choose_output_space, compare_explanations, explain
from modelgap.model import ModelMetadata
from modelgap.sources import load_model
from modelgap.sources.native import from_native


def _frame(n: int = 500, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.uniform(-1, 1, n), "b": rng.uniform(-1, 1, n), "c": rng.uniform(-1, 1, n)})


def _gbm(X: pd.DataFrame, y: pd.Series):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import GradientBoostingRegressor

    return from_native(GradientBoostingRegressor(n_estimators=40, random_state=0).fit(X, y), "gbm", ModelMetadata())


def test_identical_models_through_two_routes(tmp_path: Path) -> None:
    pipe, df, _ = fitted("pipeline", "binary")
    via_skops = load_model(str(save_skops(pipe, tmp_path / "model.skops")))
    via_mlflow = load_model(str(save_mlflow(pipe, tmp_path / "mlflow_model", df)))
    assert via_skops.source.endswith(".skops") and via_mlflow.metadata.flavor == "sklearn"
    output = choose_output_space(via_skops, via_mlflow)
    rows = df.iloc[:100]
    a = explain(via_skops, rows, output=output, background=df.iloc[300:400])
    b = explain(via_mlflow, rows, output=output, background=df.iloc[300:400])
    for t in a.targets:
        pd.testing.assert_frame_equal(a.values[t], b.values[t])
    c = compare_explanations(a, b)
    assert c.rank_correlation == pytest.approx(1.0)
    assert c.top_k_overlap == 1.0 and c.sign_flips == []
    assert (c.differences.to_numpy() == 0).all()
    assert (c.features["repo_rank"] == c.features["deployed_rank"]).all()


def test_xgboost_alone_and_inside_a_pipeline_explain_the_same() -> None:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    est, X, _ = fitted("xgboost", "binary")
    wrapped = Pipeline([("id", FunctionTransformer(feature_names_out="one-to-one").fit(X)), ("m", est)])
    a = explain(from_native(est, "a", ModelMetadata()), X.iloc[:60], output="log_odds", background=None)
    b = explain(from_native(wrapped, "b", ModelMetadata()), X.iloc[:60], output="log_odds", background=None)
    np.testing.assert_allclose(a.values["1"].to_numpy(), b.values["1"].to_numpy(), atol=1e-6)
    assert compare_explanations(a, b).rank_correlation == pytest.approx(1.0)


def test_a_model_relying_on_a_and_one_relying_on_b_are_ranked_accordingly() -> None:
    X = _frame()
    repo = _gbm(X, 3 * X["a"] + 0.3 * X["c"])
    deployed = _gbm(X, 3 * X["b"] + 0.3 * X["c"])
    rows = X.iloc[:200]
    c = compare_explanations(
        explain(repo, rows, output="value", background=None),
        explain(deployed, rows, output="value", background=None),
        top_k=1,
    )
    f = c.features
    assert f.loc["a", "repo_rank"] == 1 and f.loc["b", "deployed_rank"] == 1
    assert f.loc["a", "deployed_rank"] > 1 and f.loc["b", "repo_rank"] > 1
    assert c.top_k_repo == ["a"] and c.top_k_deployed == ["b"] and c.top_k_overlap == 0.0
    # Spearman over the union of features, computed independently from the two importance vectors
    imp_r = c.repo_values.abs().mean()
    imp_d = c.deployed_values.abs().mean()
    assert c.rank_correlation == pytest.approx(stats.spearmanr(imp_r, imp_d).statistic)
    assert c.rank_correlation < 0.5
    np.testing.assert_allclose(f.loc[imp_r.index, "repo_importance"], imp_r)


def test_sign_flip_and_unused_features() -> None:
    X = _frame()
    X["d"] = np.random.default_rng(9).uniform(-1, 1, len(X))
    repo = _gbm(X[["a", "b", "d"]], 2 * X["a"] + X["b"])
    deployed = _gbm(X[["a", "b", "c"]], -2 * X["a"] + X["b"] + X["c"])
    rows = X.iloc[:200]
    c = compare_explanations(
        explain(repo, rows, output="value", background=None), explain(deployed, rows, output="value", background=None)
    )
    assert c.sign_flips == ["a"]
    assert c.features.loc["a", "repo_direction"] == 1 and c.features.loc["a", "deployed_direction"] == -1
    assert c.features.loc["c", "repo_importance"] == 0.0  # the repo model does not take c at all
    assert set(c.feature_names) == {"a", "b", "c", "d"}
    row = c.rows[0]
    side = c.row(row)
    assert list(side.columns) == ["value", "repo", "deployed", "change"]
    np.testing.assert_allclose(side["change"], side["repo"] - side["deployed"])
    assert side["change"].abs().is_monotonic_decreasing
    s = c.row_summary(row)
    assert s["output_change"] == pytest.approx(s["base_change"] + s["contribution_change"], abs=1e-6)
    assert s["repo_output"] == pytest.approx(float(repo.estimator.predict(X[["a", "b", "d"]].loc[[row]])[0]))
    dep = c.dependence("a")
    assert (
        np.corrcoef(dep["value"], dep["repo"])[0, 1] > 0.9 and np.corrcoef(dep["value"], dep["deployed"])[0, 1] < -0.9
    )
    long = c.difference_long(["a", "b"])
    assert len(long) == 2 * len(rows) and long["value_scaled"].between(0, 1).all()


def test_to_dict_has_the_design_keys_and_multiclass_classes() -> None:
    import json

    from modelgap.jsonsafe import json_safe

    pipe, _, _ = fitted("pipeline", "multiclass")
    xgb, _, _ = fitted("xgboost", "multiclass")
    repo, deployed = from_native(pipe, "p", ModelMetadata()), from_native(xgb, "x", ModelMetadata())
    output = choose_output_space(repo, deployed)
    assert output == "log_odds"
    rows = tabular(task="multiclass")[0].iloc[:80]
    c = compare_explanations(
        explain(repo, rows, output=output, background=None), explain(deployed, rows, output=output, background=None)
    )
    d = c.to_dict()
    for key in (
        "n_rows",
        "output",
        "method",
        "features",
        "rank_correlation",
        "top_k_overlap",
        "sign_flips",
        "additivity",
        "classes",
        "class",
        "per_class",
    ):
        assert key in d, key
    assert d["method"] == {"repo": "TreeExplainer", "deployed": "xgboost pred_contribs"}
    assert set(d["features"][0]) >= {"feature", "repo_importance", "deployed_importance", "repo_rank", "deployed_rank"}
    assert d["classes"] == [0, 1, 2] and d["class"] == 0
    assert set(d["additivity"]["repo"]) >= {"max_error", "failed"}
    json.dumps(json_safe(d), allow_nan=False)
    other = c.for_target("2")
    assert other.target == "2" and other.class_label == 2
    assert not other.repo_values.equals(c.repo_values)
    assert d["per_class"]["2"]["rank_correlation"] == other.rank_correlation
    assert any(line.startswith("Explanations") for line in c.summary_lines())
