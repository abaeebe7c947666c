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
from modelgap.sources.codecheck import NATIVE_FLAVORS, LoadPlan, code_risks, safe_plan
from modelgap.sources.environment import versions_from_mlflow_dir
from modelgap.sources.files import LFS_POINTER_PREFIX
from modelgap.sources.hashing import sha256_of
from modelgap.sources.native import capture_version_warnings, from_native
from modelgap.sources.origins import ALLOWED_DIRS_ENV, TRUSTED_TRACKING_URIS_ENV, Trust
from modelgap.sources.trust import trusted_types_for
from modelgap.values import one_line

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


def load_mlflow_dir(model_dir: Path, source: str, *, may_run_code: bool, trust: Trust | None = None) -> LoadedModel:
    """Load an MLflow model directory. Whether loading runs code is decided here, from MLmodel and the files,
    before any MLflow loader runs: a code-free model loads with modelgap's own loaders (MLflow's are never
    called, so nothing reaches sys.path); a code-bearing one loads only when its origin `may_run_code`."""
    mlmodel = read_mlmodel(model_dir)
    _refuse_lfs_pointers(model_dir)
    flavors = mlmodel["flavors"]
    features = signature_features(mlmodel)
    plan = safe_plan(model_dir, mlmodel)
    if plan is not None:
        return _load_safe(plan, model_dir, source, mlmodel, features)
    if not any(f in flavors for f in (*NATIVE_FLAVORS, "python_function")):
        raise SourceError(
            f"{model_dir} has no flavor modelgap can load ({', '.join(flavors)}).",
            "Log the model with the sklearn, xgboost, lightgbm or python_function flavor.",
        )
    risks = code_risks(model_dir, mlmodel) or ["its MLmodel asks for a loader modelgap cannot check"]
    if not may_run_code:
        raise UntrustedModelError(
            f"{model_dir} would run code when loaded: {risks[0]}. Such models load only from folders and "
            "registries the operator allowed.",
            "Log it with skops (serialization_format='skops'), xgboost's json or LightGBM's text format, or ask "
            f"the operator to allow its origin ({ALLOWED_DIRS_ENV} or {TRUSTED_TRACKING_URIS_ENV}).",
        )
    if trust is not None:
        trust.tell(f"{source} runs code when it loads ({risks[0]}); load only models you trust.")
    return _load_with_mlflow(model_dir, source, mlmodel, features)


def _refuse_lfs_pointers(model_dir: Path, limit: int = 200) -> None:
    """A model folder committed through Git LFS holds pointers, not data: say so before a loader chokes on one."""
    for i, path in enumerate(sorted(p for p in model_dir.rglob("*") if p.is_file())):
        if i >= limit:
            return
        if path.stat().st_size < 1024:
            with path.open("rb") as fh:
                if fh.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX:
                    raise SourceError(
                        f"{path} is a Git LFS pointer, not the file itself.",
                        "Run `git lfs pull` (or `git lfs fetch` for that revision) to get the real files.",
                    )


def _load_safe(
    plan: LoadPlan, model_dir: Path, source: str, mlmodel: dict[str, Any], features: list[FeatureSpec]
) -> LoadedModel:
    """skops with the allow-list, xgboost's own format, LightGBM's text format: no pickle, no import, no code/."""
    from modelgap.sources.files import check_readable_file

    check_readable_file(plan.data)
    metadata = base_metadata(model_dir, mlmodel, plan.flavor)
    with capture_version_warnings(metadata):
        if plan.kind == "skops":
            import skops.io as sio

            trusted = trusted_types_for(plan.data)
            obj = _guard(lambda: sio.load(plan.data, trusted=trusted), model_dir)
        elif plan.kind == "xgboost":
            obj = _guard(lambda: _load_xgboost(plan), model_dir)
        else:
            import lightgbm as lgb

            obj = _guard(lambda: lgb.Booster(model_file=str(plan.data)), model_dir)
    if plan.flavor == "sklearn":
        _note_sklearn_version(metadata, mlmodel)
    # xgboost's own format keeps the trees, not the training params: those are unknown, not defaults.
    return from_native(obj, source, metadata, features, xgboost_config_lost=plan.kind == "xgboost")


def _load_xgboost(plan: LoadPlan) -> Any:
    import xgboost

    module_name, _, class_name = str(plan.model_class).rpartition(".")
    module = xgboost.core if module_name == "xgboost.core" else xgboost.sklearn
    model = getattr(module, class_name)()
    model.load_model(str(plan.data))
    return model


def _load_with_mlflow(
    model_dir: Path, source: str, mlmodel: dict[str, Any], features: list[FeatureSpec]
) -> LoadedModel:
    """A code-bearing model from an allowed origin: MLflow's own loaders, as the model's author intended."""
    flavors = mlmodel["flavors"]
    for flavor in NATIVE_FLAVORS:
        if flavor not in flavors:
            continue
        import importlib

        loader = importlib.import_module(f"mlflow.{flavor}")
        metadata = base_metadata(model_dir, mlmodel, flavor)
        metadata.runs_code = True
        with capture_version_warnings(metadata):
            obj = _guard(lambda loader=loader: loader.load_model(str(model_dir)), model_dir)
        if flavor == "sklearn":
            _note_sklearn_version(metadata, mlmodel)
        return from_native(obj, source, metadata, features, xgboost_config_lost=flavor == "xgboost")
    return _load_pyfunc(model_dir, source, mlmodel, features)


def _note_sklearn_version(metadata: ModelMetadata, mlmodel: dict[str, Any]) -> None:
    saved = (mlmodel["flavors"].get("sklearn") or {}).get("sklearn_version")
    installed = _installed("scikit-learn")
    if saved and installed and saved != installed:
        note = f"Saved with scikit-learn {saved}, loaded with {installed}: results are unverified."
        if note not in metadata.warnings:
            metadata.warnings.append(note)


def _load_pyfunc(model_dir: Path, source: str, mlmodel: dict[str, Any], features: list[FeatureSpec]) -> LoadedModel:
    import mlflow.pyfunc

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


def _guard(load: Any, model_dir: Path) -> Any:
    try:
        return load()
    except (SourceError, UntrustedModelError):
        raise
    except Exception as exc:
        message = one_line(exc)
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
