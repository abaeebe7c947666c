"""How far apart two models' outputs are on the same rows: the predictions section's measures, on arrays.

Classification: a row disagrees when the labels differ; its abs diff is the largest class-probability
difference (binary: of the positive class), or 0/1 when a side gives labels only. Regression: abs diff is
|a - b|; a row disagrees above the tolerance (the predictions section's, so noise and the repo-vs-deployed
rate are measured alike). Outputs are small arrays, so worker processes send them back instead of models.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelgap.model import LoadedModel, Task
from modelgap.predictions.classes import norm_key, plain
from modelgap.predictions.measures import classification_diffs, default_tolerance

EQUAL_TOLERANCE = 1e-9  # "the same predictions": labels identical, probabilities (or values x scale) within this


@dataclass
class Outputs:
    """One model's outputs on the compared rows. Classification: `codes` index `classes` (-1: a label outside
    them), `proba` columns follow `classes` (None: labels only). Regression: `values`."""

    task: Task
    classes: list[Any]
    codes: np.ndarray | None = None
    proba: np.ndarray | None = None
    values: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        arr = self.values if self.values is not None else self.codes
        return 0 if arr is None else len(arr)


@dataclass(frozen=True)
class Distance:
    """Disagreement between two Outputs: share of rows that disagree and the largest abs diff."""

    n_rows: int
    disagreement_rate: float
    max_abs_diff: float
    equal: bool  # labels identical and abs diffs within EQUAL_TOLERANCE (x the values' scale for regression)


def encode(labels: Any, classes: list[Any]) -> np.ndarray:
    """int32 codes of `labels` in `classes`, matched by value whatever the representation; -1 when absent."""
    keys = {norm_key(c): i for i, c in enumerate(classes)}
    values = np.asarray(labels).reshape(-1)
    lookup: dict[Any, int] = {}
    out = np.empty(len(values), dtype=np.int32)
    for i, v in enumerate(values):
        key = plain(v)
        try:
            code = lookup[key]
        except (KeyError, TypeError):
            code = keys.get(norm_key(key), -1)
            with contextlib.suppress(TypeError):  # unhashable labels are looked up each time
                lookup[key] = code
        out[i] = code
    return out


def reorder(proba: np.ndarray, own: list[Any], classes: list[Any]) -> np.ndarray | None:
    """Probability columns from the order of `own` classes to that of `classes`; None when the sets differ."""
    position = {norm_key(c): i for i, c in enumerate(own)}
    columns = [position.get(norm_key(c)) for c in classes]
    if len(own) != len(classes) or any(c is None for c in columns):
        return None
    return np.asarray(proba, dtype=float)[:, [int(c) for c in columns if c is not None]]


def in_classes(outputs: Outputs, classes: list[Any]) -> Outputs:
    """`outputs` in another class order (matched by value); probabilities are dropped when the sets differ."""
    if outputs.task == "regression" or outputs.classes == classes or outputs.codes is None:
        return outputs
    own = outputs.classes
    labels = [own[c] if 0 <= c < len(own) else None for c in outputs.codes]
    proba = reorder(outputs.proba, own, classes) if outputs.proba is not None else None
    return Outputs(task=outputs.task, classes=list(classes), codes=encode(labels, classes), proba=proba)


def outputs_of_model(model: LoadedModel, rows: pd.DataFrame) -> Outputs:
    """`model`'s outputs through its own prediction functions (what the predictions section compares)."""
    if model.task == "regression":
        return Outputs(task="regression", classes=[], values=model.predict_values(rows))
    classes = list(model.classes)
    proba = model.predict_proba(rows) if model.has_proba and classes else None
    if proba is not None and proba.shape[1] == len(classes):
        codes = np.argmax(proba, axis=1).astype(np.int32)
        labels_codes = encode(model.predict_labels(rows), classes)
        if not np.array_equal(codes, labels_codes):  # a model whose labels are not its argmax keeps its labels
            codes = labels_codes
        return Outputs(task=model.task, classes=classes, codes=codes, proba=proba)
    labels = model.predict_labels(rows)
    if not classes:
        classes = [plain(v) for v in pd.unique(pd.Series(labels))]
    return Outputs(task=model.task, classes=classes, codes=encode(labels, classes), proba=None)


def outputs_of_estimator(estimator: Any, rows: pd.DataFrame, task: Task, classes: list[Any]) -> Outputs:
    """A fitted sklearn-API estimator's outputs on `rows`, in the order of `classes` (the model's)."""
    if task == "regression":
        return Outputs(task=task, classes=[], values=np.asarray(estimator.predict(rows), dtype=float).reshape(-1))
    labels = np.asarray(estimator.predict(rows))
    codes = encode(labels, classes)
    proba = None
    own = getattr(estimator, "classes_", None)
    if own is not None and hasattr(estimator, "predict_proba"):
        proba = reorder(np.asarray(estimator.predict_proba(rows), dtype=float), [plain(c) for c in own], classes)
    return Outputs(task=task, classes=classes, codes=codes, proba=proba)


def tolerance_for(reference: Outputs, tolerance: float | None) -> float | None:
    """Regression: the given tolerance, else 1% of the std of `reference`'s values; None for classifiers."""
    if reference.task != "regression" or reference.values is None:
        return None
    return tolerance if tolerance is not None else default_tolerance(reference.values)


def distance(a: Outputs, b: Outputs, tolerance: float | None = None) -> Distance:
    """How far `b` is from `a` on the same rows; `tolerance` only for regression (see tolerance_for)."""
    n = a.n_rows
    if n == 0 or b.n_rows != n:
        raise ValueError(f"cannot compare outputs on {n} and {b.n_rows} rows")
    if a.task == "regression":
        assert a.values is not None and b.values is not None
        abs_diff = np.abs(a.values - b.values)
        finite = abs_diff[np.isfinite(abs_diff)]
        worst = float(finite.max()) if len(finite) else 0.0
        tol = tolerance_for(a, tolerance) or 0.0
        scale = float(np.nanmax(np.abs(a.values))) if np.isfinite(a.values).any() else 0.0
        same_nan = bool(np.array_equal(np.isnan(a.values), np.isnan(b.values)))
        equal = same_nan and worst <= EQUAL_TOLERANCE * (scale if scale > 0 else 1.0)
        return Distance(n, float(np.mean(abs_diff > tol)), worst, equal)
    assert a.codes is not None and b.codes is not None
    both = a.proba is not None and b.proba is not None
    abs_diff, _ = classification_diffs(a.codes, b.codes, a.proba if both else None, b.proba if both else None)
    labels_equal = bool(np.array_equal(a.codes, b.codes))
    worst = float(abs_diff.max()) if len(abs_diff) else 0.0
    return Distance(n, float(np.mean(a.codes != b.codes)), worst, labels_equal and worst <= EQUAL_TOLERANCE)
