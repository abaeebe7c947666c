"""Build a LoadedModel from a native sklearn-API object (sklearn, xgboost, lightgbm)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from modelgap.errors import SourceError
from modelgap.introspect import (
    detect_task,
    feature_names,
    features_from_names,
    model_class_name,
    native_predict_fns,
    params_with_unknown,
)
from modelgap.model import FeatureSpec, LoadedModel, ModelMetadata
from modelgap.values import one_line


def from_native(
    obj: Any,
    source: str,
    metadata: ModelMetadata,
    features: list[FeatureSpec] | None = None,
    *,
    xgboost_config_lost: bool = False,
) -> LoadedModel:
    """`xgboost_config_lost`: loaded from xgboost's own model format, which keeps no training params."""
    from modelgap.sources.boosters import from_booster, is_raw_booster

    if is_raw_booster(obj):
        return from_booster(obj, source, metadata, features, xgboost_config_lost=xgboost_config_lost)
    if not callable(getattr(obj, "predict", None)):
        raise SourceError(
            f"{source} holds a {model_class_name(obj)} object, not a model with predict().",
            "Save the fitted estimator or pipeline itself.",
        )
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
                text = f"Saved with scikit-learn {original}, loaded with {current}: results are unverified."
            else:
                text = one_line(w.message)
            if text not in metadata.warnings:
                metadata.warnings.append(text)
