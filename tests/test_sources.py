"""The resolver on every local form (MLflow dir, .skops, .joblib/.pkl), against real models saved here.

Expected values come from the native model objects and from hashlib / the files themselves, never from
modelgap: predictions from `model.predict*`, params from `get_params(deep=True)`, hashes from hashlib.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import yaml
from factories import fitted, reference_params, save_labels_pyfunc, save_mlflow, save_skops

from modelgap.errors import SourceError, UntrustedModelError
from modelgap.sources import load_model

CASES = [
    ("pipeline", "binary"),
    ("pipeline", "multiclass"),
    ("pipeline", "regression"),
    ("gbm", "binary"),
    ("gbm", "regression"),
    ("rf", "multiclass"),
    ("rf", "regression"),
    ("logreg", "binary"),
    ("logreg", "multiclass"),
    ("ridge", "regression"),
    ("xgboost", "binary"),
    ("xgboost", "multiclass"),
    ("xgboost", "regression"),
    ("lightgbm", "binary"),
    ("lightgbm", "multiclass"),
    ("lightgbm", "regression"),
]
FORMS = ["skops", "joblib", "mlflow"]
SIGNATURE_KINDS = {"x1": "number", "x2": "number", "x3": "integer", "cat": "string"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """Every (kind, task) model, fitted once and saved in every local form."""
    root = tmp_path_factory.mktemp("local-forms")
    out: dict[tuple[str, str], Any] = {}
    for kind, task in CASES:
        model, X, y = fitted(kind, task)
        base = root / f"{kind}-{task}"
        paths = {
            "skops": save_skops(model, base.with_suffix(".skops")),
            "joblib": base.with_suffix(".joblib"),
            "mlflow": save_mlflow(model, base, X),
        }
        joblib.dump(model, paths["joblib"])
        out[(kind, task)] = (model, X, y, paths)
    return out


def _check_xgboost_params(
    model: Any, params: dict[str, Any], unknown: list[str], expected: dict[str, Any], *, config_lost: bool
) -> None:
    """Pickle/skops keep xgboost's training config; its own format (MLflow's xgboost flavor) does not."""
    config = json.loads(model.get_booster().save_config())["learner"]
    assert set(params) | set(unknown) == set(expected)
    assert not set(params) & set(unknown)
    assert params["n_estimators"] == 30 == model.get_booster().num_boosted_rounds()
    assert params["objective"] == config["objective"]["name"]
    assert params["base_score"] == pytest.approx(json.loads(config["learner_model_param"]["base_score"]))
    if config_lost:
        # Only what the model format records is known; the rest is unknown, not a library default.
        assert {"max_depth", "learning_rate", "subsample", "n_jobs", "missing"} <= set(unknown)
        return
    assert unknown == []
    for name, value in expected.items():
        if value is not None:
            assert params[name] == value, name  # what the user set
    # Left at None (library default), the value the booster was trained with is shown.
    trained = config["gradient_booster"]["tree_train_param"]
    assert expected["learning_rate"] is None
    assert params["learning_rate"] == pytest.approx(float(trained["eta"]), rel=1e-6)
    assert params["max_depth"] == int(trained["max_depth"]) == 3


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("kind", "task"), CASES)
def test_local_form_matches_native_model(store: dict[tuple[str, str], Any], kind: str, task: str, form: str) -> None:
    model, X, y, paths = store[(kind, task)]
    loaded = load_model(str(paths[form]))

    assert loaded.task == task
    if task == "regression":
        assert loaded.classes == []
        np.testing.assert_array_equal(loaded.predict_values(X), model.predict(X).astype(float))
    else:
        assert loaded.classes == sorted(pd.unique(y).tolist())
        assert loaded.classes == [c.item() if hasattr(c, "item") else c for c in model.classes_]
        np.testing.assert_array_equal(loaded.predict_labels(X), model.predict(X))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
        assert loaded.predict_proba(X).shape == (len(X), len(loaded.classes))

    assert loaded.feature_names == list(X.columns)
    if form == "mlflow":
        assert {f.name: f.dtype for f in loaded.features} == {c: SIGNATURE_KINDS[c] for c in X.columns}

    expected = reference_params(model)
    assert loaded.params is not None
    json.dumps(loaded.params, allow_nan=False)  # JSON-safe
    if kind == "xgboost":
        _check_xgboost_params(model, loaded.params, loaded.unknown_params, expected, config_lost=form == "mlflow")
    else:
        assert loaded.unknown_params == []
        assert set(loaded.params) == set(expected)
        for name, value in expected.items():
            assert loaded.params[name] == value, name

    meta = loaded.metadata
    assert meta.model_class == f"{type(model).__module__}.{type(model).__qualname__}"
    native_flavor = {"xgboost": "xgboost", "lightgbm": "lightgbm"}.get(kind, "sklearn")
    assert meta.flavor == {"skops": "skops", "joblib": "joblib", "mlflow": native_flavor}[form]
    if form == "mlflow":
        assert len(meta.sha256 or "") == 64
        mlmodel = yaml.safe_load((paths[form] / "MLmodel").read_text())
        assert meta.python_version == mlmodel["flavors"]["python_function"]["python_version"]
        assert meta.library_versions["mlflow"] == mlmodel["mlflow_version"]
        if native_flavor == "sklearn":
            assert meta.library_versions["scikit-learn"] == mlmodel["flavors"]["sklearn"]["sklearn_version"]
        else:
            pins = dict(
                line.split("==") for line in (paths[form] / "requirements.txt").read_text().splitlines() if "==" in line
            )
            assert meta.library_versions[kind] == pins[kind]
    else:
        assert meta.sha256 == hashlib.sha256(paths[form].read_bytes()).hexdigest()
        import sklearn

        assert meta.library_versions["scikit-learn"] == sklearn.__version__
        assert meta.python_version == platform.python_version()
        assert meta.runs_code == (form == "joblib")


@pytest.mark.parametrize("kind", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_raw_booster_in_native_flavor(tmp_path: Path, kind: str, task: str) -> None:
    """A Booster logged without its sklearn wrapper: task from the objective, features from the booster."""
    wrapper, X, y = fitted(kind, task)
    booster = wrapper.get_booster() if kind == "xgboost" else wrapper.booster_
    loaded = load_model(str(save_mlflow(booster, tmp_path / "booster", X)))

    if kind == "xgboost":
        import xgboost

        raw = booster.predict(xgboost.DMatrix(X))
    else:
        raw = booster.predict(X)
    assert loaded.task == task
    assert loaded.feature_names == list(X.columns)
    assert loaded.metadata.model_class == f"{type(booster).__module__}.{type(booster).__qualname__}"
    if task == "regression":
        np.testing.assert_allclose(loaded.predict_values(X), raw)
        return
    assert loaded.classes == sorted(pd.unique(y).tolist())
    expected = np.column_stack([1 - raw, raw]) if task == "binary" else raw
    np.testing.assert_allclose(loaded.predict_proba(X), expected)
    # The sklearn wrapper of the same booster is the reference for labels.
    np.testing.assert_array_equal(loaded.predict_labels(X), wrapper.predict(X))


def test_mlflow_versions_come_from_the_model_files(store: dict[tuple[str, str], Any], tmp_path: Path) -> None:
    """Pins in requirements.txt win over the running environment."""
    *_, paths = store[("logreg", "binary")]
    copy = Path(shutil.copytree(paths["mlflow"], tmp_path / "pinned"))
    (copy / "requirements.txt").write_text("mlflow==2.9.0\nnumpy==1.26.4\nscikit-learn==1.4.2\n")
    meta = load_model(str(copy)).metadata
    assert meta.library_versions["numpy"] == "1.26.4"
    assert meta.library_versions["scikit-learn"] == "1.4.2"
    assert meta.library_versions["mlflow"] == "2.9.0"


def test_other_sklearn_version_loads_with_a_prominent_warning(
    store: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    import sklearn

    model, X, _, paths = store[("pipeline", "binary")]
    copy = Path(shutil.copytree(paths["mlflow"], tmp_path / "old-sklearn"))
    mlmodel = yaml.safe_load((copy / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"]["sklearn_version"] = "1.3.2"
    (copy / "MLmodel").write_text(yaml.safe_dump(mlmodel))

    loaded = load_model(str(copy))
    np.testing.assert_array_equal(loaded.predict_labels(X), model.predict(X))
    assert loaded.metadata.library_versions["scikit-learn"] == "1.3.2"
    [warning] = [w for w in loaded.metadata.warnings if "1.3.2" in w]
    assert sklearn.__version__ in warning
    assert "unverified" in warning


def test_labels_only_pyfunc_says_it_has_no_probabilities(tmp_path: Path) -> None:
    model, X, _ = fitted("rf", "binary")
    path = save_labels_pyfunc(model, tmp_path / "labels-only", X)
    loaded = load_model(str(path))
    assert loaded.metadata.flavor == "python_function"
    assert loaded.metadata.runs_code
    assert not loaded.has_proba
    assert loaded.is_classifier
    np.testing.assert_array_equal(loaded.predict_labels(X), model.predict(X))
    with pytest.raises(SourceError, match="labels only"):
        loaded.predict_proba(X)
    assert any("labels only" in w for w in loaded.metadata.warnings)
    # A pyfunc is cloudpickled code: refused where code-bearing models are not allowed.
    with pytest.raises(UntrustedModelError, match=r"run code when loaded|runs any code"):
        load_model(str(path), allow_pickle=False)


def test_labels_only_pyfunc_takes_task_and_classes_from_mlmodel_metadata(tmp_path: Path) -> None:
    model, X, _ = fitted("logreg", "multiclass")
    path = save_labels_pyfunc(model, tmp_path / "labelled", X, metadata={"task": "multiclass", "classes": [0, 1, 2]})
    loaded = load_model(str(path))
    assert (loaded.task, loaded.classes, loaded.has_proba) == ("multiclass", [0, 1, 2], False)


# --- security -------------------------------------------------------------------------------------------


def double(x: Any) -> Any:
    """A user function: skops would have to import and call this module's code to load it."""
    return x * 2


def _with_function(func: Any) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    model, _, _ = fitted("logreg", "binary")
    return Pipeline([("f", FunctionTransformer(func)), ("m", model)])  # never called: loading is refused


def test_skops_with_a_custom_function_is_refused(tmp_path: Path) -> None:
    path = save_skops(_with_function(double), tmp_path / "custom.skops")
    with pytest.raises(UntrustedModelError) as err:
        load_model(str(path))
    assert f"{double.__module__}.double" in str(err.value)
    assert str(path) in str(err.value)


def test_skops_with_a_builtin_function_is_refused(tmp_path: Path) -> None:
    path = save_skops(_with_function(eval), tmp_path / "eval.skops")
    with pytest.raises(UntrustedModelError, match=r"builtins\.eval"):
        load_model(str(path))


def test_skops_with_a_trusted_prefix_that_hides_an_os_function_is_refused(tmp_path: Path) -> None:
    """`sklearn.datasets._base.makedirs` is os.makedirs re-exported: a name prefix is not a trust decision."""
    import os

    import sklearn.datasets._base as base

    assert base.makedirs is os.makedirs  # the premise of this test
    honest = save_skops(_with_function(os.makedirs), tmp_path / "honest.skops")
    forged = tmp_path / "forged.skops"
    with zipfile.ZipFile(honest) as src, zipfile.ZipFile(forged, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "schema.json":
                assert b'"__module__": "os"' in data
                data = data.replace(b'"__module__": "os"', b'"__module__": "sklearn.datasets._base"')
            dst.writestr(item, data)
    assert "sklearn.datasets._base.makedirs" in sio.get_untrusted_types(file=forged)
    with pytest.raises(UntrustedModelError, match=r"sklearn\.datasets\._base\.makedirs"):
        load_model(str(forged))


def test_skops_holding_no_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dict.skops"
    sio.dump({"weights": [1, 2, 3]}, path)
    with pytest.raises(SourceError, match="not a model"):
        load_model(str(path))


def test_pickle_is_refused_when_not_allowed(store: dict[tuple[str, str], Any]) -> None:
    *_, paths = store[("gbm", "binary")]
    with pytest.raises(UntrustedModelError) as err:
        load_model(str(paths["joblib"]), allow_pickle=False)
    assert str(paths["joblib"]) in str(err.value)
    assert "runs any code it contains" in str(err.value)
    assert err.value.hint  # says what to use instead


def test_mlflow_dir_trusting_a_dangerous_type_itself_is_refused(tmp_path: Path) -> None:
    """MLmodel's skops_trusted_types is written by whoever logged the model: our allow-list decides."""
    import mlflow.sklearn

    model = _with_function(double)
    dangerous = sorted(sio.get_untrusted_types(data=sio.dumps(model)))
    assert f"{double.__module__}.double" in dangerous
    path = tmp_path / "self-trusting"
    mlflow.sklearn.save_model(model, str(path), pip_requirements=["scikit-learn"], skops_trusted_types=dangerous)
    assert yaml.safe_load((path / "MLmodel").read_text())["flavors"]["sklearn"]["skops_trusted_types"] == dangerous
    with pytest.raises(UntrustedModelError, match=rf"{double.__module__}\.double"):
        load_model(str(path))


def test_pickled_mlflow_dir_is_refused_when_not_allowed(tmp_path: Path) -> None:
    import mlflow.sklearn

    model, _, _ = fitted("ridge", "regression")
    path = tmp_path / "pickled"
    mlflow.sklearn.save_model(model, str(path), pip_requirements=["scikit-learn"], serialization_format="cloudpickle")
    with pytest.raises(UntrustedModelError, match=r"run code when loaded|runs any code"):
        load_model(str(path), allow_pickle=False)
    loaded = load_model(str(path))  # the CLI's default: the user's own file
    assert loaded.metadata.runs_code


# --- bad artifacts --------------------------------------------------------------------------------------


def _truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("empty.skops", "empty"),
        ("empty.joblib", "empty"),
        ("truncated.skops", "not a readable skops file"),
        ("truncated.joblib", "could not be unpickled"),
        ("garbage.pkl", "could not be unpickled"),
        ("text.joblib", "could not be unpickled"),
        ("lfs/model.skops", "Git LFS pointer"),
        ("plain-dir", "without an MLmodel"),
        ("model.onnx", "unknown model format"),
        ("missing.skops", "No model file"),
        ("mlflow-truncated", "not a readable skops file"),
        ("mlflow-bad-mlmodel", "MLmodel"),
    ],
)
def test_bad_artifact_is_a_source_error_naming_file_and_problem(
    store: dict[tuple[str, str], Any], tmp_path: Path, name: str, problem: str
) -> None:
    *_, paths = store[("gbm", "binary")]
    path = tmp_path / name
    if name.startswith("empty"):
        path.write_bytes(b"")
    elif name == "truncated.skops":
        _truncated(paths["skops"], path)
    elif name == "truncated.joblib":
        _truncated(paths["joblib"], path)
    elif name == "garbage.pkl":
        path.write_bytes(b"\x80\x04\x95\x00\x00")  # a pickle header, then nothing
    elif name == "text.joblib":
        path.write_text("this is not a model\n")
    elif name == "lfs/model.skops":
        path.parent.mkdir()
        path.write_text(
            "version https://git-lfs.github.com/spec/v1\n"
            "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
        )
    elif name == "plain-dir":
        path.mkdir()
        (path / "model.skops").write_bytes(paths["skops"].read_bytes())
    elif name == "model.onnx":
        path.write_bytes(b"\x08\x07onnx")
    elif name == "mlflow-truncated":
        shutil.copytree(paths["mlflow"], path)
        _truncated(paths["mlflow"] / "model.skops", path / "model.skops")
    elif name == "mlflow-bad-mlmodel":
        shutil.copytree(paths["mlflow"], path)
        (path / "MLmodel").write_text("just: [unbalanced\n")

    with pytest.raises(SourceError) as err:
        load_model(str(path))
    message = str(err.value)
    assert problem in message
    assert str(path) in message
    assert "\n" not in message


def test_unknown_source_form_is_refused() -> None:
    with pytest.raises(SourceError, match="Unknown model source form"):
        load_model("ftp://example.com/model.skops")
    with pytest.raises(SourceError, match="empty"):
        load_model("   ")


# --- artifact identity ----------------------------------------------------------------------------------


def test_mlflow_dir_hash_ignores_logging_bookkeeping_only(store: dict[tuple[str, str], Any], tmp_path: Path) -> None:
    """Same hash iff the model files are byte-identical; when and by which run it was logged does not count."""
    from modelgap.sources.hashing import sha256_of

    *_, paths = store[("logreg", "binary")]
    original = load_model(str(paths["mlflow"])).metadata.sha256
    assert original == sha256_of(paths["mlflow"])

    def variant(name: str) -> Path:
        return Path(shutil.copytree(paths["mlflow"], tmp_path / name))

    relogged = variant("relogged")
    mlmodel = yaml.safe_load((relogged / "MLmodel").read_text())
    mlmodel.update(run_id="0" * 32, model_uuid="1" * 32, utc_time_created="2020-01-01 00:00:00.000000")
    (relogged / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    (relogged / "registered_model_meta").write_text("model_name: x\nmodel_version: '3'\n")
    assert sha256_of(relogged) == original

    one_byte = variant("one-byte")
    data = bytearray((one_byte / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (one_byte / "model.skops").write_bytes(bytes(data))
    requirements = variant("requirements")
    (requirements / "requirements.txt").write_text("scikit-learn==1.0\n")
    signature = variant("signature")
    mlmodel = yaml.safe_load((signature / "MLmodel").read_text())
    mlmodel["signature"]["inputs"] = mlmodel["signature"]["inputs"].replace('"long"', '"double"')
    (signature / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    hashes = {sha256_of(p) for p in (one_byte, requirements, signature)} | {original}
    assert len(hashes) == 4
