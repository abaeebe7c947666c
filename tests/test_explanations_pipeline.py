"""Pipelines: derived-feature contributions summed back to the input column they came from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular

from modelgap.explanations import explain
from modelgap.explanations.mapping import MappingError, input_sources, split_pipeline
from modelgap.model import ModelMetadata
from modelgap.sources.native import from_native


def _source_of(derived: str, inputs: list[str]) -> str:
    """Independent of the code under test: ColumnTransformer names are `<step>__<column>[_<category>]`."""
    tail = derived.split("__", 1)[1]
    return max((c for c in inputs if tail == c or tail.startswith(c + "_")), key=len)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_one_hot_pipeline_sums_derived_columns_back(task: str) -> None:
    import shap

    pipe, df, _ = fitted("pipeline", task)
    rows = df.iloc[:60]
    exp = explain(
        from_native(pipe, "pipe", ModelMetadata()),
        rows,
        output="log_odds" if task == "binary" else "value",
        background=None,
    )
    pre, est = pipe[:-1], pipe[-1]
    Xt = pre.transform(rows).astype(np.float32)
    derived = list(pre.get_feature_names_out())
    direct = np.asarray(shap.TreeExplainer(est).shap_values(Xt))  # (n, d): binary GBM and regressor, one output
    inputs = list(df.columns)
    target = exp.targets[0]
    for col in inputs:
        members = [j for j, d in enumerate(derived) if _source_of(d, inputs) == col]
        assert members, col
        np.testing.assert_allclose(exp.values[target][col].to_numpy(), direct[:, members].sum(axis=1), atol=1e-9)
    own = pipe.decision_function(rows) if task == "binary" else pipe.predict(rows)
    np.testing.assert_allclose(exp.base_values[target] + exp.values[target].sum(axis=1), own, atol=1e-6)
    assert not exp.additivity.failed
    assert exp.values[target]["cat"].abs().sum() > 0  # the one-hot columns carry weight


def test_mapping_of_column_transformer_forms() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = tabular(n=200, task="regression")
    df["unused"] = 1.0
    df.loc[::7, "x2"] = np.nan
    pre = ColumnTransformer(
        [
            ("num", Pipeline([("imp", SimpleImputer(add_indicator=True)), ("sc", StandardScaler())]), ["x2", "x3"]),
            ("cat", OneHotEncoder(drop="first"), ["cat"]),
            ("skip", "drop", ["unused"]),
        ],
        remainder="passthrough",
    )
    pipe = Pipeline([("pre", pre), ("m", Ridge())]).fit(df, y)
    parts, _ = split_pipeline(pipe)
    names = list(df.columns)
    sources = [names[i] for i in input_sources(parts, names)]
    # x2, x3 scaled, then x2's missing indicator; cat minus the dropped level; x1 passed through as remainder
    assert sources == ["x2", "x3", "x2", "cat", "cat", "x1"]
    exp = explain(from_native(pipe, "p", ModelMetadata()), df.iloc[:30], output="value", background=df.iloc[100:])
    assert exp.method == "linear (closed form)"
    assert (exp.values["value"]["unused"] == 0).all()
    assert not exp.additivity.failed


def test_derived_features_mixing_columns_fall_back_to_the_agnostic_path() -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures

    df, y = tabular(n=200, task="regression")
    X = df[["x1", "x2"]]
    pipe = Pipeline([("poly", PolynomialFeatures(2, include_bias=False)), ("m", Ridge())]).fit(X, y)
    with pytest.raises(MappingError):
        input_sources(split_pipeline(pipe)[0], ["x1", "x2"])
    from modelgap.explanations import AgnosticSettings, ExplainSettings

    settings = ExplainSettings(agnostic=AgnosticSettings(max_rows=8, background_rows=20))
    exp = explain(
        from_native(pipe, "p", ModelMetadata()), X.iloc[:8], output="value", background=X.iloc[50:70], settings=settings
    )
    assert exp.method == "permutation (model-agnostic)"
    assert any("x1 x2" in n or "cannot be summed back" in n for n in exp.notes), exp.notes
    assert not exp.additivity.failed


def test_pipeline_output_via_pandas_set_output() -> None:
    pipe, df, _ = fitted("pipeline", "binary")
    pipe = pipe.set_output(transform="pandas")
    exp = explain(from_native(pipe, "p", ModelMetadata()), df.iloc[:20], output="log_odds", background=None)
    assert list(exp.values[exp.targets[0]].columns) == list(df.columns)
    assert not exp.additivity.failed
    assert isinstance(exp.values[exp.targets[0]], pd.DataFrame)
