"""Build a LoadedModel from a native sklearn-API object (sklearn, xgboost, lightgbm)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from modelgap.introspect import (
    detect_task,
    feature_names,
    features_from_names,
    flatten_params,
    model_class_name,
    native_predict_fns,
)
from modelgap.model import FeatureSpec, LoadedModel, ModelMetadata


def from_native(
    obj: Any, source: str, metadata: ModelMetadata, features: list[FeatureSpec] | None = None
) -> LoadedModel:
    task, classes = detect_task(obj)
    names = feature_names(obj)
    if features is None or not features:
        features = features_from_names(names)
    elif names and [f.name for f in features] != names:
        # The signature may list columns in another order; the estimator's own order wins for prediction.
        by_name = {f.name: f for f in features}
        features = [by_name.get(n, FeatureSpec(n)) for n in names]
    labels, proba, values = native_predict_fns(obj, task, [f.name for f in features])
    metadata.model_class = model_class_name(obj)
    return LoadedModel(
        source=source,
        task=task,
        classes=classes,
        features=features,
        params=flatten_params(obj),
        metadata=metadata,
        labels_fn=labels,
        proba_fn=proba,
        values_fn=values,
        estimator=obj,
    )


@contextmanager
def capture_version_warnings(metadata: ModelMetadata) -> Iterator[None]:
    """Record library-version mismatch warnings raised while loading: results are then unverified."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        category = w.category.__name__
        if category == "InconsistentVersionWarning" or "version" in str(w.message).lower():
            original = getattr(w.message, "original_sklearn_version", None)
            current = getattr(w.message, "current_sklearn_version", None)
            if original and current:
                text = (
                    f"Saved with scikit-learn {original}, loaded with {current}: results are unverified."
                )
            else:
                text = " ".join(str(w.message).split())[:300]
            if text not in metadata.warnings:
                metadata.warnings.append(text)
