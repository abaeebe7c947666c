"""Raw xgboost / lightgbm Boosters (no sklearn wrapper): task from the objective, predictions from the booster."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from modelgap.introspect import model_class_name, params_with_unknown
from modelgap.model import FeatureSpec, LoadedModel, ModelMetadata, PredictFn, Task

_XGB_FEATURE_KINDS = {"float": "number", "q": "number", "int": "integer", "i": "boolean", "c": "category"}
BINARY_THRESHOLD = 0.5  # what XGBClassifier / LGBMClassifier use to turn P(class 1) into a label


def is_raw_booster(obj: Any) -> bool:
    return model_class_name(obj) in ("xgboost.core.Booster", "lightgbm.basic.Booster")


def booster_objective(obj: Any) -> str:
    """The training objective, e.g. 'binary:logistic' (xgboost) or 'multiclass' (lightgbm)."""
    if model_class_name(obj) == "xgboost.core.Booster":
        return str(json.loads(obj.save_config())["learner"]["objective"]["name"])
    objective = obj.params.get("objective") or str(obj.dump_model().get("objective", "regression"))
    return str(objective).split()[0]


def booster_task(obj: Any) -> tuple[Task, list[Any], str]:
    """Task, classes and how the raw output reads: 'p1' (P(class 1)), 'margin', 'probs', 'labels' or 'values'."""
    objective = booster_objective(obj)
    if model_class_name(obj) == "xgboost.core.Booster":
        n_class = int(json.loads(obj.save_config())["learner"]["learner_model_param"].get("num_class", "0"))
        if objective in ("binary:logistic",):
            return "binary", [0, 1], "p1"
        if objective == "binary:logitraw":
            return "binary", [0, 1], "margin"
        if objective == "binary:hinge":
            return "binary", [0, 1], "labels"
        if objective == "multi:softprob":
            return "multiclass", list(range(n_class)), "probs"
        if objective == "multi:softmax":
            return "multiclass", list(range(n_class)), "labels"
        return "regression", [], "values"
    if objective in ("binary", "cross_entropy", "xentropy"):
        return "binary", [0, 1], "p1"
    if objective in ("multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"):
        n_class = int(obj.params.get("num_class") or obj.dump_model().get("num_class", 0))
        return "multiclass", list(range(n_class)), "probs"
    return "regression", [], "values"


def booster_features(obj: Any) -> list[FeatureSpec]:
    if model_class_name(obj) == "xgboost.core.Booster":
        names = list(obj.feature_names or [])
        kinds = list(obj.feature_types or [])
        return [
            FeatureSpec(str(n), _XGB_FEATURE_KINDS.get(str(kinds[i]), "unknown") if i < len(kinds) else "unknown")
            for i, n in enumerate(names)
        ]
    return [FeatureSpec(str(n)) for n in obj.feature_name()]


def from_booster(
    obj: Any,
    source: str,
    metadata: ModelMetadata,
    features: list[FeatureSpec] | None,
    *,
    xgboost_config_lost: bool = False,
) -> LoadedModel:
    task, classes, output = booster_task(obj)
    own = booster_features(obj)
    if not features:
        features = own
    elif own and [f.name for f in features] != [f.name for f in own]:
        by_name = {f.name: f for f in features}
        features = [by_name.get(f.name, f) for f in own]
    names = [f.name for f in features]
    raw = _raw_predict(obj, names)
    metadata.model_class = model_class_name(obj)
    labels, proba, values = _predict_fns(raw, task, output)
    params, unknown = params_with_unknown(obj, xgboost_config_lost=xgboost_config_lost)
    return LoadedModel(
        source=source,
        task=task,
        classes=classes,
        features=features,
        params=params,
        metadata=metadata,
        labels_fn=labels,
        proba_fn=proba,
        values_fn=values,
        estimator=obj,
        unknown_params=unknown,
    )


def _raw_predict(obj: Any, names: list[str]) -> PredictFn:
    if model_class_name(obj) == "xgboost.core.Booster":
        import xgboost

        def xgb(df: pd.DataFrame) -> np.ndarray:
            data = xgboost.DMatrix(df[names] if names else df, enable_categorical=True)
            return np.asarray(obj.predict(data))

        return xgb

    def lgb(df: pd.DataFrame) -> np.ndarray:
        return np.asarray(obj.predict(df[names] if names else df))

    return lgb


def _predict_fns(raw: PredictFn, task: Task, output: str) -> tuple[PredictFn, PredictFn | None, PredictFn | None]:
    if task == "regression":
        return raw, None, lambda df: np.asarray(raw(df), dtype=float).reshape(len(df))
    if output == "labels":
        return lambda df: np.asarray(raw(df)).reshape(len(df)).astype(int), None, None

    def proba(df: pd.DataFrame) -> np.ndarray:
        out = np.asarray(raw(df), dtype=float)
        if output == "probs":
            return out.reshape(len(df), -1)
        p1 = 1.0 / (1.0 + np.exp(-out)) if output == "margin" else out
        p1 = p1.reshape(len(df))
        return np.column_stack([1.0 - p1, p1])

    def labels(df: pd.DataFrame) -> np.ndarray:
        p = proba(df)
        if task == "binary":
            return (p[:, 1] > BINARY_THRESHOLD).astype(int)
        return np.argmax(p, axis=1)

    return labels, proba, None
