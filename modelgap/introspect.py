"""Read task, classes, input columns and hyperparameters off a native model object."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from modelgap.jsonsafe import json_safe
from modelgap.model import FeatureSpec, PredictFn, Task


def model_class_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def final_estimator(obj: Any) -> Any:
    """The last step of a (possibly nested) sklearn Pipeline, else the object itself."""
    while hasattr(obj, "steps") and getattr(obj, "steps", None):
        obj = obj.steps[-1][1]
    return obj


def detect_task(obj: Any) -> tuple[Task, list[Any]]:
    """Task and classes from the model itself (never from the data)."""
    classes = getattr(obj, "classes_", None)
    est = final_estimator(obj)
    if classes is None:
        classes = getattr(est, "classes_", None)
    if classes is not None:
        values = [c.item() if isinstance(c, np.generic) else c for c in list(classes)]
        return ("binary" if len(values) == 2 else "multiclass"), values
    estimator_type = getattr(est, "_estimator_type", None)
    try:
        from sklearn.base import is_classifier, is_regressor

        if is_regressor(obj) or is_regressor(est):
            return "regression", []
        if is_classifier(obj) or is_classifier(est):
            return "multiclass", []
    except Exception:  # noqa: BLE001 - non-sklearn objects can make sklearn's tag lookup raise
        pass
    if estimator_type == "regressor":
        return "regression", []
    return "regression", []


def feature_names(obj: Any) -> list[str]:
    """Expected input columns: `feature_names_in_`, else the booster's own feature names."""
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    est = final_estimator(obj)
    for getter in ("get_booster", "booster_"):
        booster = getattr(est, getter, None)
        if booster is None:
            continue
        try:
            booster = booster() if callable(booster) and getter == "get_booster" else booster
            names = getattr(booster, "feature_names", None)
            if names is None and hasattr(booster, "feature_name"):
                names = booster.feature_name()
            if names:
                return [str(n) for n in names]
        except Exception:  # noqa: BLE001 - unfitted or raw boosters may not expose names
            continue
    names = getattr(est, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else []


def params_with_unknown(obj: Any, *, xgboost_config_lost: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Flattened hyperparameters, and the names the artifact cannot know (see sources.xgboost_params).

    Raw xgboost / lightgbm boosters have no get_params: their training config is flattened instead.
    `xgboost_config_lost`: the model was reloaded from xgboost's own format, which drops training params.
    """
    from modelgap.sources.xgboost_params import (
        complete_wrapper_params,
        is_xgboost_wrapper,
        split_raw_booster_params,
    )

    if hasattr(obj, "get_params"):
        try:
            raw = obj.get_params(deep=True)
        except Exception:  # noqa: BLE001 - some wrappers fail deep introspection
            raw = obj.get_params(deep=False)
        out = {name: json_safe(raw[name]) for name in sorted(raw)}
        unknown: list[str] = []
        for prefix, est in [("", obj), *((f"{k}__", v) for k, v in raw.items())]:
            if is_xgboost_wrapper(est):
                unknown += complete_wrapper_params(out, prefix, est, config_lost=xgboost_config_lost)
        return out, sorted(unknown)
    if hasattr(obj, "save_config"):  # xgboost.Booster
        flat = _flatten_dict(json.loads(obj.save_config()).get("learner", {}))
        return split_raw_booster_params(flat) if xgboost_config_lost else (flat, [])
    if hasattr(obj, "params") and isinstance(obj.params, dict):  # lightgbm.Booster: its model file keeps them
        return {k: json_safe(v) for k, v in sorted(obj.params.items())}, []
    return {}, []


def _flatten_dict(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}__{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten_dict(value, name))
        else:
            out[name] = json_safe(value)
    return dict(sorted(out.items()))


def select_columns(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The model's columns in the model's order; extra columns are ignored."""
    return df[names] if names else df


def native_predict_fns(obj: Any, task: Task, names: list[str]) -> tuple[PredictFn, PredictFn | None, PredictFn | None]:
    """labels, proba, values functions for a native sklearn-API model."""

    def labels(df: pd.DataFrame) -> np.ndarray:
        return np.asarray(obj.predict(select_columns(df, names)))

    proba: PredictFn | None = None
    if task != "regression" and hasattr(obj, "predict_proba"):

        def proba(df: pd.DataFrame) -> np.ndarray:
            return np.asarray(obj.predict_proba(select_columns(df, names)), dtype=float)

    values: PredictFn | None = None
    if task == "regression":

        def values(df: pd.DataFrame) -> np.ndarray:
            return np.asarray(obj.predict(select_columns(df, names)), dtype=float)

    return labels, proba, values


def features_from_names(names: list[str]) -> list[FeatureSpec]:
    return [FeatureSpec(n) for n in names]
