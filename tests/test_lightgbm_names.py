"""LightGBM renames `mean radius` to `mean_radius` when it trains; modelgap compares it on the original data
and reports SHAP per original column (issue 14, item 7)."""

from __future__ import annotations

import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer

from modelgap.comparison import CompareOptions, run_comparison
from modelgap.sources import load_model
from modelgap.sources.renames import lightgbm_name


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.Series, Path]:
    X, y = load_breast_cancer(as_frame=True, return_X_y=True)
    assert any(" " in c for c in X.columns)
    data = tmp_path_factory.mktemp("cancer") / "cancer.csv"
    X.assign(target=y).to_csv(data, index=False)
    return X, y, data


def _fit(X: pd.DataFrame, y: pd.Series, n: int) -> lgb.LGBMClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lgb.LGBMClassifier(n_estimators=n, num_leaves=7, verbose=-1, n_jobs=1).fit(X, y)


def test_lightgbm_keeps_only_renamed_names(cancer: tuple[pd.DataFrame, pd.Series, Path]) -> None:
    X, y, _ = cancer
    model = _fit(X, y, 5)
    assert list(model.booster_.feature_name()) == [lightgbm_name(c) for c in X.columns]
    assert "mean radius" not in list(model.booster_.feature_name())


def test_a_lightgbm_pair_compares_on_the_original_data_with_shap_per_original_column(
    cancer: tuple[pd.DataFrame, pd.Series, Path], tmp_path: Path
) -> None:
    X, y, data = cancer
    repo_est, deployed_est = _fit(X, y, 30), _fit(X, y, 10)
    sio.dump(repo_est, tmp_path / "repo.skops")
    deployed_est.booster_.save_model(str(tmp_path / "deployed.txt"))
    import mlflow.lightgbm

    mlflow.lightgbm.save_model(deployed_est.booster_, str(tmp_path / "deployed"), pip_requirements=["lightgbm"])
    repo = load_model(str(tmp_path / "repo.skops"))
    deployed = load_model(str(tmp_path / "deployed"))
    assert "mean_radius" in repo.feature_names  # what the artifacts say on their own
    comparison = run_comparison(repo, deployed, data_path=data, options=CompareOptions(target="target", shap_rows=60))
    assert "predictions" not in comparison.errors and "explanations" not in comparison.errors, comparison.errors
    assert any("LightGBM renamed" in n for n in comparison.notes)
    preds = comparison.sections["predictions"].to_dict()
    p_repo = repo_est.predict_proba(X)[:, 1]
    p_dep = deployed_est.booster_.predict(X)  # the booster: the positive-class probability
    assert preds["n_rows"] == len(X)
    assert preds["max_abs_diff"] == pytest.approx(float(np.max(np.abs(p_repo - p_dep))), abs=1e-9)
    features = {f["feature"] for f in comparison.sections["explanations"].to_dict()["features"]}
    assert features == set(X.columns)  # "mean radius", not "mean_radius"
    # The cached models themselves are untouched (the app shares them between sessions).
    assert "mean_radius" in repo.feature_names and "mean_radius" in deployed.feature_names
