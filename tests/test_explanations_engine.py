"""The explanation engine against independent computations: native contributions, closed forms, shap itself."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular

from modelgap.explanations import AgnosticSettings, ExplainSettings, explain
from modelgap.explanations.outputs import choose_output_space, raw_space
from modelgap.explanations.shapes import normalize_contribs, normalize_shap
from modelgap.model import LoadedModel, ModelMetadata
from modelgap.sources.native import from_native


def loaded(est: Any, name: str = "model") -> LoadedModel:
    return from_native(est, name, ModelMetadata())


def test_xgboost_matches_pred_contribs_binary_and_multiclass() -> None:
    import xgboost

    for task in ("binary", "multiclass"):
        est, X, _ = fitted("xgboost", task)
        rows = X.iloc[:80]
        exp = explain(loaded(est), rows, output="log_odds", background=None)
        phi = est.get_booster().predict(xgboost.DMatrix(rows), pred_contribs=True)
        if task == "binary":
            expected = {str(est.classes_[1]): phi[:, :-1]}
        else:
            expected = {str(c): phi[:, i, :-1] for i, c in enumerate(est.classes_)}
        assert exp.method == "xgboost pred_contribs"
        assert exp.targets == list(expected)
        for target, want in expected.items():
            np.testing.assert_allclose(exp.values[target].to_numpy(), want, rtol=1e-6, atol=1e-7)
            assert list(exp.values[target].columns) == ["x1", "x2", "x3"]
            assert list(exp.values[target].index) == list(rows.index)
        assert not exp.additivity.failed


def test_lightgbm_matches_pred_contrib_binary_and_multiclass() -> None:
    for task in ("binary", "multiclass"):
        est, X, _ = fitted("lightgbm", task)
        rows = X.iloc[:80]
        exp = explain(loaded(est), rows, output="log_odds", background=None)
        phi = est.booster_.predict(rows, pred_contrib=True)
        k = len(est.classes_) if task == "multiclass" else 1
        phi = phi.reshape(len(rows), k, rows.shape[1] + 1)
        targets = [str(est.classes_[1])] if task == "binary" else [str(c) for c in est.classes_]
        assert exp.method == "lightgbm pred_contrib"
        for i, target in enumerate(targets):
            np.testing.assert_allclose(exp.values[target].to_numpy(), phi[:, i, :-1], rtol=1e-9, atol=1e-12)
            assert exp.base_values[target] == pytest.approx(phi[0, i, -1])
        assert not exp.additivity.failed


def test_linear_regression_closed_form_with_independent_features() -> None:
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(0, 1, 400), "b": rng.uniform(-2, 2, 400), "c": rng.normal(5, 3, 400)})
    y = 3 * X["a"] - 2 * X["b"] + 0.5 * X["c"] + rng.normal(0, 0.1, 400)
    est = LinearRegression().fit(X, y)
    rows, background = X.iloc[:50], X.iloc[100:300]
    exp = explain(loaded(est), rows, output="value", background=background)
    expected = est.coef_ * (rows.to_numpy() - background.to_numpy().mean(axis=0))
    np.testing.assert_allclose(exp.values["value"].to_numpy(), expected, rtol=1e-10, atol=1e-12)
    assert exp.base_values["value"] == pytest.approx(float(est.predict(background).mean()))
    assert exp.method == "linear (closed form)"
    np.testing.assert_allclose(exp.outputs["value"].to_numpy(), est.predict(rows))


def test_logistic_regression_log_odds_closed_form_multiclass() -> None:
    est, X, _ = fitted("logreg", "multiclass")
    rows, background = X.iloc[:40], X.iloc[200:400]
    exp = explain(loaded(est), rows, output="log_odds", background=background)
    centred = rows.to_numpy(dtype=float) - background.to_numpy(dtype=float).mean(axis=0)
    for i, c in enumerate(est.classes_):
        np.testing.assert_allclose(exp.values[str(c)].to_numpy(), centred * est.coef_[i], rtol=1e-10, atol=1e-12)
    recon = {t: exp.base_values[t] + exp.values[t].sum(axis=1) for t in exp.targets}
    np.testing.assert_allclose(np.column_stack(list(recon.values())), est.decision_function(rows), atol=1e-9)


@pytest.mark.parametrize(
    ("kind", "task", "output"),
    [
        ("gbm", "binary", "log_odds"),
        ("gbm", "binary", "probability"),
        ("gbm", "multiclass", "log_odds"),
        ("gbm", "regression", "value"),
        ("rf", "binary", "probability"),
        ("rf", "multiclass", "probability"),
        ("rf", "regression", "value"),
        ("xgboost", "binary", "probability"),
        ("xgboost", "regression", "value"),
        ("lightgbm", "binary", "probability"),
        ("lightgbm", "regression", "value"),
        ("logreg", "binary", "log_odds"),
        ("ridge", "regression", "value"),
        ("pipeline", "binary", "log_odds"),
        ("pipeline", "multiclass", "log_odds"),
        ("pipeline", "regression", "value"),
    ],
)
def test_additivity_against_the_models_own_output(kind: str, task: str, output: str) -> None:
    est, X, _ = fitted(kind, task)
    if kind == "pipeline":
        X = tabular(task=task)[0]
    rows, background = X.iloc[:60], X.iloc[300:400]
    exp = explain(loaded(est), rows, output=output, background=background)
    assert exp.method != "permutation (model-agnostic)", exp.notes
    if output == "probability":
        own = est.predict_proba(rows)
        own = own[:, 1:] if task == "binary" else own
    elif output == "value":
        own = est.predict(rows).reshape(-1, 1)
    else:
        own = est.decision_function(rows).reshape(len(rows), -1)
    recon = np.column_stack([exp.base_values[t] + exp.values[t].sum(axis=1).to_numpy() for t in exp.targets])
    np.testing.assert_allclose(recon, own, atol=1e-5)
    assert not exp.additivity.failed
    assert exp.additivity.max_error < 1e-5


def test_sklearn_forest_matches_tree_explainer_per_class() -> None:
    import shap

    est, X, _ = fitted("rf", "multiclass")
    rows = X.iloc[:30]
    exp = explain(loaded(est), rows, output="probability", background=None)
    direct = np.asarray(shap.TreeExplainer(est).shap_values(rows.to_numpy(dtype=np.float32)))  # (n, f, k)
    for i, c in enumerate(est.classes_):
        np.testing.assert_allclose(exp.values[str(c)].to_numpy(), direct[:, :, i], atol=1e-10)


def test_gbm_multiclass_per_class_trees_add_up_to_decision_function() -> None:
    est, X, _ = fitted("gbm", "multiclass")
    rows = X.iloc[:50]
    exp = explain(loaded(est), rows, output="log_odds", background=None)
    raw = est.decision_function(rows)
    assert exp.targets == [str(c) for c in est.classes_]
    for i, t in enumerate(exp.targets):
        np.testing.assert_allclose(exp.base_values[t] + exp.values[t].sum(axis=1), raw[:, i], atol=1e-8)
    # the class-c explanation only moves with the class-c trees: x1 raises the top class, lowers the bottom
    assert np.corrcoef(rows["x1"], exp.values[exp.targets[-1]]["x1"])[0, 1] > 0.5
    assert np.corrcoef(rows["x1"], exp.values[exp.targets[0]]["x1"])[0, 1] < -0.5


def test_additivity_failure_is_reported_not_hidden() -> None:
    from modelgap.explanations.result import check_additivity

    est, X, _ = fitted("xgboost", "regression")
    exp = explain(loaded(est), X.iloc[:40], output="value", background=None)
    assert not exp.additivity.failed
    shifted = {t: o + 0.5 for t, o in exp.outputs.items()}
    add = check_additivity(exp.values, exp.base_values, shifted)
    assert add.failed and add.max_error == pytest.approx(0.5, rel=1e-3)


def test_early_stopped_xgboost_is_explained_with_the_trees_it_predicts_with() -> None:
    import xgboost

    df, y = tabular(n=600, task="regression")
    X = df[["x1", "x2", "x3"]]
    est = xgboost.XGBRegressor(n_estimators=300, learning_rate=0.3, early_stopping_rounds=3, n_jobs=1)
    est.fit(X.iloc[:400], y.iloc[:400], eval_set=[(X.iloc[400:], y.iloc[400:])], verbose=False)
    assert est.best_iteration < est.get_booster().num_boosted_rounds() - 1
    exp = explain(loaded(est), X.iloc[:50], output="value", background=None)
    assert not exp.additivity.failed
    np.testing.assert_allclose(exp.outputs["value"], est.predict(X.iloc[:50]), rtol=1e-6)


def test_output_space_choice() -> None:
    gbm = loaded(fitted("gbm")[0])
    xgb = loaded(fitted("xgboost")[0])
    rf = loaded(fitted("rf")[0])
    logreg = loaded(fitted("logreg")[0])
    reg = loaded(fitted("ridge", "regression")[0])
    assert raw_space(gbm) == raw_space(xgb) == raw_space(logreg) == "log_odds"
    assert raw_space(rf) == "probability"
    assert choose_output_space(gbm, xgb) == "log_odds"
    assert choose_output_space(gbm, rf) == "probability"
    assert choose_output_space(reg, loaded(fitted("rf", "regression")[0])) == "value"
    from modelgap.errors import IncompatibleModelsError

    with pytest.raises(IncompatibleModelsError):
        choose_output_space(gbm, reg)


def test_shape_normalisation_handles_every_form() -> None:
    n, f = 4, 3
    a = np.arange(n * f, dtype=float).reshape(n, f)
    v, b = normalize_shap(a, 0.5, n, f)
    assert v.shape == (n, f, 1) and b.shape == (n, 1) and (b == 0.5).all()
    v, b = normalize_shap([a, -a], [1.0, 2.0], n, f)  # pre-0.45 list of arrays
    assert v.shape == (n, f, 2) and (v[:, :, 1] == -a).all() and (b[:, 1] == 2.0).all()
    v, b = normalize_shap(np.stack([a, -a], axis=-1), np.array([[1.0, 2.0]] * n), n, f)
    assert v.shape == (n, f, 2) and b.shape == (n, 2)
    phi = np.concatenate([a, np.full((n, 1), 9.0)], axis=1)
    v, b = normalize_contribs(np.concatenate([phi, phi * 2], axis=1), n, f)  # lightgbm multiclass layout
    assert v.shape == (n, f, 2) and (v[:, :, 1] == 2 * a).all() and (b[:, 1] == 18.0).all()
    v, b = normalize_contribs(np.stack([phi, phi * 3], axis=1), n, f)  # xgboost multiclass layout
    assert (v[:, :, 1] == 3 * a).all() and (b[:, 0] == 9.0).all()
    with pytest.raises(ValueError):
        normalize_shap(np.zeros((n, f + 1)), 0.0, n, f)


def test_hist_gradient_boosting_exact_in_log_odds_and_checked_in_probability() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    df, y = tabular(n=400)
    X = df[["x1", "x2", "x3"]]
    model = loaded(HistGradientBoostingClassifier(max_iter=20).fit(X, y))
    exact = explain(model, X.iloc[:50], output="log_odds", background=None)
    assert exact.method == "TreeExplainer" and not exact.additivity.failed
    np.testing.assert_allclose(
        exact.base_values["1"] + exact.values["1"].sum(axis=1), model.estimator.decision_function(X.iloc[:50])
    )
    # shap's interventional Tree SHAP does not add up for this model: probability goes model-agnostic
    settings = ExplainSettings(agnostic=AgnosticSettings(max_rows=5, background_rows=20, permutations=1))
    proba = explain(model, X.iloc[:5], output="probability", background=X.iloc[200:220], settings=settings)
    assert proba.method == "permutation (model-agnostic)" and not proba.additivity.failed
    np.testing.assert_allclose(proba.outputs["1"], model.estimator.predict_proba(X.iloc[:5])[:, 1])


def test_a_forest_has_no_log_odds_output() -> None:
    from modelgap.errors import ModelgapError

    est, X, _ = fitted("rf")
    with pytest.raises(ModelgapError, match="no log-odds"):
        explain(loaded(est), X.iloc[:5], output="log_odds", background=None)


def test_two_worker_processes_give_the_serial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import shap

    import modelgap.explanations.chunks as chunks

    est, _, _ = fitted("rf")
    X = pd.DataFrame(np.random.default_rng(2).uniform(0, 10, (700, 3)), columns=["x1", "x2", "x3"])
    model = loaded(est)
    serial = explain(model, X, output="probability", background=None, settings=ExplainSettings(parallel=False))
    monkeypatch.setattr(chunks, "MIN_CHUNK_SECONDS", 0.0)  # small shared chunks: both processes take some
    # As in the app: Streamlit installs a module of its own as __main__, with app.py as its file; the helper
    # re-imports app.py as __mp_main__, which its guard keeps from running the app
    streamlit_main = types.ModuleType("__main__")
    streamlit_main.__file__ = str(Path(__file__).resolve().parent.parent / "app.py")
    monkeypatch.setitem(sys.modules, "__main__", streamlit_main)
    parallel = explain(model, X, output="probability", background=None, settings=ExplainSettings(workers=2))
    assert any("worker processes" in n for n in parallel.notes), parallel.notes
    assert not any("worker processes" in n for n in serial.notes)
    pd.testing.assert_frame_equal(parallel.values["1"], serial.values["1"])
    direct = np.asarray(shap.TreeExplainer(est).shap_values(X.to_numpy(dtype=np.float32)))[:, :, 1]
    np.testing.assert_allclose(parallel.values["1"].to_numpy(), direct, atol=1e-10)
    seen: list[int] = []
    stopped = explain(
        model,
        X,
        output="probability",
        background=None,
        progress=lambda d, t: seen.append(d),
        should_stop=lambda: len(seen) > 1,
        settings=ExplainSettings(workers=2),
    )
    # stopped after the probe's first piece (the explainer already on its way to the helper)
    assert stopped.stopped and stopped.n_rows == chunks.PROBE_ROWS and not stopped.additivity.failed
    # stopped while the helper works: the rows kept run from the first one, with the serial values
    late = explain(
        model,
        X,
        output="probability",
        background=None,
        progress=lambda d, t: seen.append(d),
        should_stop=lambda: seen[-1] > 400,
        settings=ExplainSettings(workers=2),
    )
    assert late.stopped and 400 < late.n_rows < 700
    assert list(late.values["1"].index) == list(X.index[: late.n_rows])
    pd.testing.assert_frame_equal(late.values["1"], serial.values["1"].iloc[: late.n_rows])


@pytest.mark.parametrize("kind", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_native_contributions_on_two_threads_equal_shaps_tree_explainer(kind: str, task: str) -> None:
    import json

    import shap

    est, X, _ = fitted(kind, task)  # trained with n_jobs=1: two threads need a private booster copy
    one = explain(loaded(est), X, output="log_odds", background=None, settings=ExplainSettings(workers=1))
    two = explain(loaded(est), X, output="log_odds", background=None, settings=ExplainSettings(workers=2))
    explainer = shap.TreeExplainer(est)
    direct, base = normalize_shap(explainer.shap_values(X), explainer.expected_value, len(X), X.shape[1])
    for i, target in enumerate(two.targets):
        pd.testing.assert_frame_equal(two.values[target], one.values[target])
        scale = max(1.0, float(np.abs(direct[:, :, i]).max()))
        np.testing.assert_allclose(two.values[target].to_numpy(), direct[:, :, i], atol=1e-5 * scale, rtol=0)
        assert two.base_values[target] == pytest.approx(float(base[0, i]), abs=1e-5)
    assert not two.additivity.failed
    if kind == "xgboost":  # the caller's booster keeps its own thread count
        config = json.loads(est.get_booster().save_config())
        assert config["learner"]["generic_param"]["nthread"] == "1"


def test_native_contributions_switch_to_two_threads_after_the_first_chunk() -> None:
    from modelgap.explanations.chunks import run_chunks

    calls: list[tuple[int, int]] = []  # (threads, rows) per call

    class Contribs:
        def __init__(self, threads: int = 0) -> None:
            self.threads = threads

        def with_threads(self, threads: int) -> Contribs:
            return Contribs(threads)

        def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            calls.append((self.threads, len(rows)))
            return rows[:, :, None] * 2.0, np.zeros((len(rows), 1))

    X = np.arange(3000.0).reshape(1000, 3)
    res = run_chunks(Contribs(), X, size=100, split="threads", workers=2)
    assert calls[0] == (0, 100) and {t for t, _ in calls[1:]} == {2}
    assert res.parallel and res.workers == 2 and res.n_done == 1000
    np.testing.assert_array_equal(res.values[:, :, 0], X * 2.0)
    calls.clear()
    res = run_chunks(Contribs(), X, size=100, split="threads", workers=1)
    assert {t for t, _ in calls} == {0} and not res.parallel and res.n_done == 1000
