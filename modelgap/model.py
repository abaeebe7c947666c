"""`LoadedModel`: the one type every model source resolves to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Task = Literal["binary", "multiclass", "regression"]
PredictFn = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class FeatureSpec:
    """One expected input column. `dtype` is a coarse kind: number, integer, string, boolean, datetime, unknown."""

    name: str
    dtype: str = "unknown"


@dataclass
class ModelMetadata:
    flavor: str = "unknown"
    model_class: str = "unknown"
    sha256: str | None = None
    library_versions: dict[str, str] = field(default_factory=dict)
    python_version: str | None = None
    mlflow: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    location: str | None = None  # where the artifact was read from (local path or URI)
    runs_code: bool = False  # loading ran code shipped with the model (pickle, loader_module + code/)
    warnings: list[str] = field(default_factory=list)


@dataclass
class LoadedModel:
    """A model from any source, normalised: task, classes, input schema, prediction functions, params, metadata.

    `estimator` is the native object (sklearn / xgboost / lightgbm) when the source gives one; explainers use it.
    `params` is None when the source cannot know its hyperparameters (a bare endpoint): unknown, not empty.
    `unknown_params` names single hyperparameters the artifact does not record (xgboost's own format drops
    training params): they are left out of `params` and reported as unknown, never guessed.
    Treat instances as read-only: the app caches and shares them.
    """

    source: str
    task: Task
    classes: list[Any]
    features: list[FeatureSpec]
    params: dict[str, Any] | None
    metadata: ModelMetadata
    labels_fn: PredictFn
    proba_fn: PredictFn | None = None
    values_fn: PredictFn | None = None
    estimator: Any = None
    pyfunc: Any = None
    unknown_params: list[str] = field(default_factory=list)  # names the artifact does not record (not in params)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def has_proba(self) -> bool:
        return self.proba_fn is not None

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    @property
    def fingerprint(self) -> str:
        """A short stable key for caches: the artifact hash when known, else the source string."""
        return self.metadata.sha256 or f"source:{self.source}"

    def predict_labels(self, df: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.labels_fn(df))

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in the order of `classes`."""
        if self.proba_fn is None:
            from modelgap.errors import SourceError

            raise SourceError(
                f"{self.source} returns labels only, no class probabilities.",
                "Labels are compared instead; log the model with a predict_proba output to compare probabilities.",
            )
        return np.asarray(self.proba_fn(df), dtype=float)

    def predict_values(self, df: pd.DataFrame) -> np.ndarray:
        """Regression outputs as floats."""
        fn = self.values_fn or self.labels_fn
        return np.asarray(fn(df), dtype=float).reshape(len(df))
