"""MLflow model directories: native flavors first (for params and SHAP), pyfunc as the fallback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from modelgap.errors import SourceError, UntrustedModelError
from modelgap.model import FeatureSpec, LoadedModel, ModelMetadata, Task
from modelgap.sources.environment import versions_from_mlflow_dir
from modelgap.sources.hashing import sha256_of
from modelgap.sources.native import capture_version_warnings, from_native
from modelgap.sources.trust import trusted_types_for

_SIGNATURE_KINDS = {
    "double": "number",
    "float": "number",
    "long": "integer",
    "integer": "integer",
    "string": "string",
    "boolean": "boolean",
    "datetime": "datetime",
    "binary": "string",
}


def read_mlmodel(model_dir: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((model_dir / "MLmodel").read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{model_dir}/MLmodel is unreadable ({exc}).", "Re-log the model with MLflow.") from exc
    if not isinstance(data, dict) or "flavors" not in data:
        raise SourceError(f"{model_dir}/MLmodel has no flavors.", "Re-log the model with MLflow.")
    return data


def signature_features(mlmodel: dict[str, Any]) -> list[FeatureSpec]:
    inputs = (mlmodel.get("signature") or {}).get("inputs")
    if not inputs:
        return []
    try:
        cols = json.loads(inputs)
    except (TypeError, ValueError):
        return []
    return [
        FeatureSpec(str(c["name"]), _SIGNATURE_KINDS.get(str(c.get("type")), "unknown"))
        for c in cols
        if isinstance(c, dict) and "name" in c
    ]


def _output_kind(mlmodel: dict[str, Any]) -> str | None:
    outputs = (mlmodel.get("signature") or {}).get("outputs")
    if not outputs:
        return None
    try:
        spec = json.loads(outputs)[0]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    kind = spec.get("type")
    if kind == "tensor":
        kind = (spec.get("tensor-spec") or {}).get("dtype")
    return str(kind) if kind else None


def base_metadata(model_dir: Path, mlmodel: dict[str, Any], flavor: str) -> ModelMetadata:
    versions, python = versions_from_mlflow_dir(model_dir, mlmodel)
    pyfunc_conf = (mlmodel.get("flavors") or {}).get("python_function") or {}
    info = {
        "run_id": mlmodel.get("run_id"),
        "model_uuid": mlmodel.get("model_uuid"),
        "logged_model_id": mlmodel.get("model_id"),
        "utc_time_created": mlmodel.get("utc_time_created"),
        "mlflow_version": mlmodel.get("mlflow_version"),
    }
    metadata = ModelMetadata(
        flavor=flavor,
        sha256=sha256_of(model_dir),
        library_versions=versions,
        python_version=python,
        mlflow={k: v for k, v in info.items() if v is not None},
        location=str(model_dir),
    )
    if pyfunc_conf.get("code") or (model_dir / "code").is_dir():
        metadata.runs_code = True
        metadata.warnings.append("This MLflow model ships code (code/ or loader_module) that runs when it loads.")
    return metadata


def load_mlflow_dir(model_dir: Path, source: str, *, allow_pickle: bool) -> LoadedModel:
    mlmodel = read_mlmodel(model_dir)
    flavors = mlmodel["flavors"]
    features = signature_features(mlmodel)
    if "sklearn" in flavors:
        return _load_sklearn(model_dir, source, mlmodel, features, allow_pickle=allow_pickle)
    if "xgboost" in flavors:
        import mlflow.xgboost

        metadata = base_metadata(model_dir, mlmodel, "xgboost")
        with capture_version_warnings(metadata):
            obj = _guard(lambda: mlflow.xgboost.load_model(str(model_dir)), model_dir)
        # xgboost's own format keeps the trees, not the training params: those are unknown, not defaults.
        return from_native(obj, source, metadata, features, xgboost_config_lost=True)
    if "lightgbm" in flavors:
        conf = flavors["lightgbm"]
        metadata = base_metadata(model_dir, mlmodel, "lightgbm")
        if "sklearn" in str(conf.get("model_class", "")):
            _require_code_allowed(model_dir, allow_pickle, "a pickled lightgbm scikit-learn model")
            metadata.runs_code = True
        import mlflow.lightgbm

        with capture_version_warnings(metadata):
            obj = _guard(lambda: mlflow.lightgbm.load_model(str(model_dir)), model_dir)
        return from_native(obj, source, metadata, features)
    if "python_function" in flavors:
        return _load_pyfunc(model_dir, source, mlmodel, features, allow_pickle=allow_pickle)
    raise SourceError(
        f"{model_dir} has no flavor modelgap can load ({', '.join(flavors)}).",
        "Log the model with the sklearn, xgboost, lightgbm or python_function flavor.",
    )


def _load_sklearn(
    model_dir: Path, source: str, mlmodel: dict[str, Any], features: list[FeatureSpec], *, allow_pickle: bool
) -> LoadedModel:
    import mlflow.sklearn

    conf = mlmodel["flavors"]["sklearn"]
    metadata = base_metadata(model_dir, mlmodel, "sklearn")
    if conf.get("serialization_format") == "skops":
        # MLmodel's own skops_trusted_types is written by whoever logged the model: check against ours.
        trusted_types_for(model_dir / str(conf.get("pickled_model", "model.skops")))
    else:
        _require_code_allowed(model_dir, allow_pickle, f"a {conf.get('serialization_format', 'pickled')} sklearn model")
        metadata.runs_code = True
    with capture_version_warnings(metadata):
        obj = _guard(lambda: mlflow.sklearn.load_model(str(model_dir)), model_dir)
    saved = conf.get("sklearn_version")
    installed = _installed("scikit-learn")
    if saved and installed and saved != installed:
        note = f"Saved with scikit-learn {saved}, loaded with {installed}: results are unverified."
        if note not in metadata.warnings:
            metadata.warnings.append(note)
    return from_native(obj, source, metadata, features)


def _load_pyfunc(
    model_dir: Path, source: str, mlmodel: dict[str, Any], features: list[FeatureSpec], *, allow_pickle: bool
) -> LoadedModel:
    import mlflow.pyfunc

    _require_code_allowed(model_dir, allow_pickle, "a python_function model (cloudpickled code)")
    metadata = base_metadata(model_dir, mlmodel, "python_function")
    metadata.runs_code = True
    with capture_version_warnings(metadata):
        pyfunc = _guard(lambda: mlflow.pyfunc.load_model(str(model_dir)), model_dir)
    metadata.model_class = _pyfunc_class(pyfunc, mlmodel)
    extra = mlmodel.get("metadata") or {}
    task, classes = _pyfunc_task(mlmodel, extra)
    names = [f.name for f in features]

    def labels(df: pd.DataFrame) -> np.ndarray:
        out = pyfunc.predict(df[names] if names else df)
        if isinstance(out, pd.DataFrame):
            out = out.iloc[:, 0]
        return np.asarray(out).reshape(len(df))

    values = labels if task == "regression" else None
    if task != "regression":
        metadata.warnings.append("This pyfunc model returns labels only: probabilities cannot be compared.")
    return LoadedModel(
        source=source,
        task=task,
        classes=classes,
        features=features,
        params={},
        metadata=metadata,
        labels_fn=labels,
        proba_fn=None,
        values_fn=values,
        pyfunc=pyfunc,
    )


def _pyfunc_class(pyfunc: Any, mlmodel: dict[str, Any]) -> str:
    """The user's PythonModel class when there is one, else the flavor's loader module."""
    try:
        inner = pyfunc.unwrap_python_model()
    except Exception:  # noqa: BLE001 - only custom PythonModels can be unwrapped; others raise
        inner = None
    if inner is not None:
        cls = type(inner)
        return f"{cls.__module__}.{cls.__qualname__}"
    return str((mlmodel["flavors"]["python_function"] or {}).get("loader_module") or "pyfunc")


def _pyfunc_task(mlmodel: dict[str, Any], extra: dict[str, Any]) -> tuple[Task, list[Any]]:
    """A pyfunc says what it is through MLmodel metadata (task, classes), else through its output type."""
    classes = list(extra.get("classes") or [])
    task = extra.get("task")
    if task in ("binary", "multiclass", "regression"):
        return task, classes
    if classes:
        return ("binary" if len(classes) == 2 else "multiclass"), classes
    kind = _output_kind(mlmodel)
    if kind in ("double", "float", "float64", "float32"):
        return "regression", []
    return "multiclass", []


def _require_code_allowed(model_dir: Path, allow_pickle: bool, what: str) -> None:
    if not allow_pickle:
        raise UntrustedModelError(
            f"{model_dir} is {what}, and loading it runs arbitrary code.",
            "Use a skops-serialised MLflow model, or ask the operator to allow code-bearing models.",
        )


def _guard(load: Any, model_dir: Path) -> Any:
    try:
        return load()
    except (SourceError, UntrustedModelError):
        raise
    except Exception as exc:
        message = " ".join(str(exc).split())[:300]
        raise SourceError(
            f"{model_dir} could not be loaded ({type(exc).__name__}: {message}).",
            "The artifact is incomplete or was saved with incompatible libraries; re-log it.",
        ) from exc


def _installed(dist: str) -> str | None:
    from importlib import metadata as importlib_metadata

    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None
