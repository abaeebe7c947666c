"""A model that lists no input columns (an endpoint without paired metadata) is explained on the data's columns
without the label column: the target must never show up as a feature the model "uses"."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from factories import fitted, save_skops

from modelgap import load_model
from modelgap.comparison import CompareOptions, run_comparison
from modelgap.options import ExplanationTuning


def test_a_model_without_input_columns_is_not_explained_on_the_target(tmp_path: Path) -> None:
    repo_est, X, y = fitted("gbm")
    deployed_est, _, _ = fitted("gbm", max_depth=2)
    data = X.assign(y=y).head(200)
    data.to_csv(tmp_path / "data.csv", index=False)
    repo = load_model(str(save_skops(repo_est, tmp_path / "repo.skops")))
    loaded = load_model(str(save_skops(deployed_est, tmp_path / "deployed.skops")))
    bare = dataclasses.replace(loaded, features=[], estimator=None)  # what a bare scoring endpoint gives
    assert bare.feature_names == []

    options = CompareOptions(target="y", shap_rows=10, explanations=ExplanationTuning(agnostic_rows=10))
    comparison = run_comparison(repo, bare, data_path=tmp_path / "data.csv", options=options)

    assert "explanations" not in comparison.errors, comparison.errors
    result = comparison.sections["explanations"]
    assert result.deployed.features == ["x1", "x2", "x3"]
    assert "y" not in result.feature_names
    rows = result.X.index
    expected = deployed_est.predict_proba(data.loc[rows, ["x1", "x2", "x3"]])[:, 1]  # the estimator itself
    reconstructed = result.deployed_base + result.deployed_values.loc[rows].sum(axis=1).to_numpy()
    np.testing.assert_allclose(reconstructed, expected, atol=1e-6)
