"""The model-agnostic path on a real MLflow pyfunc model with a string categorical column."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from factories import pipeline, tabular

from modelgap.explanations import AgnosticSettings, ExplainSettings, choose_output_space, explain
from modelgap.model import LoadedModel
from modelgap.sources import load_model


class PipelineModel(mlflow.pyfunc.PythonModel):
    """A pyfunc wrapping a sklearn pipeline: modelgap only sees its predict function."""

    def __init__(self, pipe: object) -> None:
        self.pipe = pipe

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return self.pipe.predict(model_input)  # type: ignore[attr-defined]


def _save(pipe: object, X: pd.DataFrame, path: Path, metadata: dict[str, object]) -> LoadedModel:
    from mlflow.models import infer_signature

    mlflow.pyfunc.save_model(
        str(path),
        python_model=PipelineModel(pipe),
        signature=infer_signature(X, pipe.predict(X)),  # type: ignore[attr-defined]
        metadata=metadata,
        pip_requirements=["scikit-learn"],
    )
    return load_model(str(path))


@pytest.fixture(scope="module")
def ridge_pyfunc(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedModel, object, pd.DataFrame]:
    from sklearn.linear_model import Ridge

    df, y = tabular(n=300, task="regression")
    pipe = pipeline("regression", estimator=Ridge(alpha=1.0)).fit(df, y)
    model = _save(pipe, df, tmp_path_factory.mktemp("pyfunc") / "ridge", {"task": "regression"})
    return model, pipe, df


def test_pyfunc_with_string_column_matches_the_closed_form(ridge_pyfunc) -> None:  # type: ignore[no-untyped-def]
    model, pipe, df = ridge_pyfunc
    assert model.estimator is None and model.pyfunc is not None  # a black box to modelgap
    assert any(f.name == "cat" and f.dtype == "string" for f in model.features)
    rows, background = df.iloc[:12], df.iloc[200:230]
    settings = ExplainSettings(agnostic=AgnosticSettings(max_rows=50, background_rows=30, permutations=1))
    exp = explain(model, rows, output="value", background=background, settings=settings)
    assert exp.method == "permutation (model-agnostic)"
    # Independent: a linear model on scaled + one-hot columns; interventional SHAP = coef * (t(x) - mean t(bg)),
    # summed over each input column's derived columns (names are `<step>__<column>[_<level>]`).
    pre, ridge = pipe[:-1], pipe[-1]
    phi = (pre.transform(rows) - pre.transform(background).mean(axis=0)) * ridge.coef_
    names = [n.split("__", 1)[1] for n in pre.get_feature_names_out()]
    for col in df.columns:
        members = [j for j, n in enumerate(names) if n == col or n.startswith(col + "_")]
        np.testing.assert_allclose(exp.values["value"][col].to_numpy(), phi[:, members].sum(axis=1), atol=1e-8)
    assert exp.base_values["value"] == pytest.approx(float(pipe.predict(background).mean()))
    np.testing.assert_allclose(exp.outputs["value"], pipe.predict(rows))
    assert not exp.additivity.failed


def test_row_budget_progress_and_stop(ridge_pyfunc) -> None:  # type: ignore[no-untyped-def]
    model, _, df = ridge_pyfunc
    settings = ExplainSettings(agnostic=AgnosticSettings(max_rows=10, background_rows=10, permutations=1, chunk_rows=3))
    calls: list[tuple[int, int]] = []
    exp = explain(
        model,
        df.iloc[:40],
        output="value",
        background=df.iloc[100:110],
        settings=settings,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert exp.n_rows == 10 and exp.n_requested == 40 and not exp.complete and not exp.stopped
    assert calls[0] == (0, 10) and calls[-1] == (10, 10)
    assert any("row budget" in n for n in exp.notes)

    stop_after_first = lambda: len(calls2) > 1  # noqa: E731 - stop once the first chunk has reported
    calls2: list[tuple[int, int]] = []
    partial = explain(
        model,
        df.iloc[:40],
        output="value",
        background=df.iloc[100:110],
        settings=settings,
        progress=lambda d, t: calls2.append((d, t)),
        should_stop=stop_after_first,
    )
    assert partial.stopped and partial.n_rows == 3
    assert list(partial.values["value"].index) == list(df.index[:3])
    np.testing.assert_allclose(partial.values["value"].to_numpy(), exp.values["value"].iloc[:3].to_numpy())
    assert not partial.additivity.failed


def test_labels_only_classifiers_are_explained_in_label_space(tmp_path: Path) -> None:
    df, y = tabular(n=300, task="binary")
    pipe = pipeline("binary").fit(df, y)
    model = _save(pipe, df, tmp_path / "labels", {"task": "binary", "classes": [0, 1]})
    assert not model.has_proba
    assert choose_output_space(model, model) == "label"
    settings = ExplainSettings(agnostic=AgnosticSettings(max_rows=10, background_rows=20, permutations=2))
    exp = explain(model, df.iloc[:10], output="label", background=df.iloc[100:120], settings=settings)
    assert exp.targets == ["1"]
    predicted = (pipe.predict(df.iloc[:10]) == 1).astype(float)
    np.testing.assert_allclose(exp.base_values["1"] + exp.values["1"].sum(axis=1), predicted, atol=1e-9)
    assert exp.base_values["1"] == pytest.approx(float((pipe.predict(df.iloc[100:120]) == 1).mean()))
