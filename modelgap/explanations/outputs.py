"""Output spaces: which space two models are explained in, and each model's output in that space.

Spaces: "log_odds" (a classifier's raw margin: binary log-odds, multiclass per-class softmax logit),
"probability", "value" (regression) and "label" (1 when the model predicts the class: labels-only models).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from modelgap.errors import IncompatibleModelsError, ModelgapError
from modelgap.introspect import final_estimator
from modelgap.model import LoadedModel

OUTPUT_SPACES = ("log_odds", "probability", "value", "label")
OutputFn = Callable[[pd.DataFrame], np.ndarray]

_FORESTS = {
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
}
_LINEAR_MODULES = ("sklearn.linear_model", "sklearn.svm")


def family(est: Any) -> str | None:
    """Explainer family of a final estimator: sklearn_forest/_gbm/_hgb, xgboost, lightgbm, linear, or None."""
    cls = type(est)
    module, name = cls.__module__, cls.__name__
    if module.startswith("xgboost") and (name.startswith("XGB") or name == "Booster"):
        return "xgboost"
    if module.startswith("lightgbm") and (name.startswith("LGBM") or name == "Booster"):
        return "lightgbm"
    if module.startswith("sklearn."):
        if name in _FORESTS:
            return "sklearn_forest"
        if name in ("GradientBoostingClassifier", "GradientBoostingRegressor"):
            return "sklearn_gbm"
        if name in ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"):
            return "sklearn_hgb"
        if module.startswith(_LINEAR_MODULES) and hasattr(est, "coef_") and hasattr(est, "intercept_"):
            return "linear"
    return None


def _objective(est: Any) -> str:
    """A booster's training objective name ("" when unknown)."""
    fam = family(est)
    if fam == "xgboost":
        booster = est.get_booster() if hasattr(est, "get_booster") else est
        return str(json.loads(booster.save_config())["learner"]["objective"]["name"])
    if fam == "lightgbm":
        booster = getattr(est, "booster_", est)
        return str(booster.params.get("objective", getattr(est, "objective_", "")))
    return ""


def raw_space(model: LoadedModel) -> str | None:
    """The space of the model's native raw output, or None when it has no explainable raw output."""
    if model.task == "regression":
        return "value"
    if model.estimator is None:
        return None
    return raw_space_of_estimator(final_estimator(model.estimator), model.task)


def raw_space_of_estimator(est: Any, task: str) -> str | None:
    """Raw output space of a final estimator: log-odds for logistic boosters and models, probability for forests."""
    if task == "regression":
        return "value"
    fam = family(est)
    if fam == "sklearn_forest":
        return "probability"
    if fam == "sklearn_gbm":
        return "log_odds" if getattr(est, "loss", "") == "log_loss" else None
    if fam == "sklearn_hgb":
        return "log_odds"
    if fam == "xgboost":
        return "log_odds" if _objective(est).startswith(("binary:logistic", "multi:soft")) else None
    if fam == "lightgbm":
        return "log_odds" if _objective(est) in ("binary", "multiclass", "softmax", "multiclassova") else None
    if fam == "linear":
        name = type(est).__name__
        if name == "LogisticRegression" or (name == "SGDClassifier" and getattr(est, "loss", "") == "log_loss"):
            return "log_odds"
    return None


def choose_output_space(repo: LoadedModel, deployed: LoadedModel) -> str:
    """The one space both models are explained in: shared raw space, else probability, else labels."""
    regs = [m.task == "regression" for m in (repo, deployed)]
    if all(regs):
        return "value"
    if any(regs):
        raise IncompatibleModelsError(
            f"One model is a regressor and the other a classifier ({repo.task} vs {deployed.task}).",
            "Explanations need two models of the same task.",
        )
    r, d = raw_space(repo), raw_space(deployed)
    if r is not None and r == d:
        return r
    if repo.has_proba and deployed.has_proba:
        return "probability"
    return "label"


def targets_of(model: LoadedModel) -> tuple[list[str], dict[str, Any]]:
    """Target keys explained for a model and the class label behind each (binary: the positive class)."""
    if model.task == "regression":
        return ["value"], {"value": None}
    if not model.classes:
        raise ModelgapError(
            f"{model.source} does not say which classes it predicts.",
            "Log the classes in the MLflow model metadata (metadata={'classes': [...]}) to explain it.",
        )
    chosen = model.classes[1:2] if model.task == "binary" else list(model.classes)
    return [str(c) for c in chosen], {str(c): c for c in chosen}


def select_targets(raw: np.ndarray, model: LoadedModel) -> np.ndarray:
    """(n, k) outputs restricted to the explained targets (binary: the positive class column)."""
    if model.task == "binary" and raw.shape[1] == 2:
        return raw[:, 1:2]
    return raw


def estimator_output(est: Any, Xt: Any, output: str) -> np.ndarray:
    """A final estimator's output on transformed features in `output` space, as (n, k)."""
    from modelgap.explanations.shapes import as_2d

    n = Xt.shape[0]
    fam = family(est)
    if output == "probability":
        return as_2d(est.predict_proba(Xt), n)
    booster = fam == "xgboost" and not hasattr(est, "get_booster")  # a raw xgboost.Booster takes a DMatrix
    if output == "value":
        return as_2d(est.predict(_dmatrix(Xt) if booster else Xt), n)
    if output != "log_odds":
        raise ValueError(f"no raw estimator output for {output!r}")
    if fam == "xgboost":
        return as_2d(est.predict(_dmatrix(Xt) if booster else Xt, output_margin=True), n)
    if fam == "lightgbm":
        return as_2d(est.predict(Xt, raw_score=True), n)
    if fam == "sklearn_forest":
        return as_2d(est.predict_proba(Xt), n)
    return as_2d(est.decision_function(Xt), n)


def _dmatrix(Xt: Any) -> Any:
    import xgboost

    return xgboost.DMatrix(Xt, enable_categorical=True)


def model_output_fn(model: LoadedModel, output: str) -> OutputFn:
    """Input rows -> (n, k) model output for the explained targets, in `output` space (for the agnostic path)."""
    targets, labels = targets_of(model)
    n_cols = len(model.feature_names)

    def columns(df: pd.DataFrame) -> pd.DataFrame:
        return df[model.feature_names] if n_cols else df

    if output == "value":
        return lambda df: model.predict_values(columns(df)).reshape(len(df), 1)
    if output == "probability":
        return lambda df: select_targets(model.predict_proba(columns(df)), model)
    if output == "label":
        wanted = np.asarray([str(labels[t]) for t in targets])

        def label_fn(df: pd.DataFrame) -> np.ndarray:
            pred = np.asarray(model.predict_labels(columns(df))).astype(str).reshape(-1, 1)
            return (pred == wanted.reshape(1, -1)).astype(float)

        return label_fn
    if output == "log_odds":
        est = model.estimator
        if est is None or raw_space(model) != "log_odds":
            raise ModelgapError(f"{model.source} has no log-odds output.", "Explain both models in probability space.")
        from modelgap.explanations.mapping import split_pipeline, transform

        parts, final = split_pipeline(est)

        def margin_fn(df: pd.DataFrame) -> np.ndarray:
            Xt = transform(parts, columns(df))
            return select_targets(estimator_output(final, Xt, "log_odds"), model)

        return margin_fn
    raise ValueError(f"unknown output space {output!r}; expected one of {OUTPUT_SPACES}")
