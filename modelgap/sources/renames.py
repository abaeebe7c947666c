"""LightGBM renames feature names when it trains (`mean radius` -> `mean_radius`): match them back to the data.

A LightGBM model (scikit-learn wrapper or Booster) remembers only the renamed names, so its own schema says
it needs `mean_radius` while the data, which it predicts on perfectly well, has `mean radius`. Where every
missing name is exactly one data column with spaces turned into underscores, the model is presented with
the data's original names: predictions, the schema check and SHAP (reported per original column) then line
up. The cached model is never changed: a renamed copy is returned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import pandas as pd

from modelgap.model import FeatureSpec, LoadedModel, PredictFn

__all__ = ["lightgbm_name", "with_data_column_names"]


def lightgbm_name(column: str) -> str:
    """The name LightGBM's Dataset keeps for a column (it replaces every space with an underscore)."""
    return column.replace(" ", "_")


def _is_lightgbm(model: LoadedModel) -> bool:
    est = model.estimator
    if est is None:
        return False
    steps = getattr(est, "steps", None)
    final = steps[-1][1] if steps else est
    return type(final).__module__.split(".")[0] == "lightgbm"


def _renaming(fn: PredictFn, to_model: dict[str, str]) -> PredictFn:
    def call(df: pd.DataFrame) -> np.ndarray:
        return fn(df.rename(columns=to_model))

    return call


def with_data_column_names(model: LoadedModel, columns: Iterable[object]) -> tuple[LoadedModel, str | None]:
    """`model` with LightGBM's renamed features mapped back to the data's columns, and a note saying so;
    `model` itself and None when nothing needs (or can be unambiguously) mapped."""
    names = model.feature_names
    data_columns = [str(c) for c in columns]
    present = set(data_columns)
    missing = [n for n in names if n not in present]
    if not missing or not _is_lightgbm(model):
        return model, None
    by_lgb_name: dict[str, list[str]] = {}
    for column in data_columns:
        if column != lightgbm_name(column):
            by_lgb_name.setdefault(lightgbm_name(column), []).append(column)
    to_data = {}
    for name in missing:
        candidates = by_lgb_name.get(name, [])
        if len(candidates) != 1:
            return model, None  # not LightGBM's renaming: the schema check reports the missing columns
        to_data[name] = candidates[0]
    to_model = {original: renamed for renamed, original in to_data.items()}
    features = [FeatureSpec(to_data.get(f.name, f.name), f.dtype) for f in model.features]
    first = next(iter(to_data.items()))
    note = (
        f"LightGBM renamed {len(to_data)} column(s) when it trained (spaces become underscores, e.g. "
        f"'{first[1]}' -> '{first[0]}'); they are matched to the data's original names."
    )
    metadata = dataclasses.replace(model.metadata, warnings=[*model.metadata.warnings, note])
    renamed = dataclasses.replace(
        model,
        features=features,
        metadata=metadata,
        labels_fn=_renaming(model.labels_fn, to_model),
        proba_fn=_renaming(model.proba_fn, to_model) if model.proba_fn else None,
        values_fn=_renaming(model.values_fn, to_model) if model.values_fn else None,
    )
    return renamed, note
