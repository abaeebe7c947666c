"""Find the category encoders inside a fitted model, to catch unseen category levels before predicting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ENCODER_CLASSES = ("OneHotEncoder", "OrdinalEncoder")
REFUSING = {"OneHotEncoder": ("error",), "OrdinalEncoder": ("error",)}


@dataclass(frozen=True)
class KnownLevels:
    """The levels an encoder learnt for one input column, and whether it refuses others."""

    column: str
    levels: tuple[Any, ...]
    refuses_unknown: bool
    encoder: str  # class name, for messages


def known_levels(estimator: Any) -> list[KnownLevels]:
    """Every (column, learnt levels) of the OneHot/Ordinal encoders reachable from `estimator`."""
    out: list[KnownLevels] = []
    _walk(estimator, None, out, depth=0)
    return out


def _names(obj: Any) -> list[str] | None:
    names = getattr(obj, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else None


def _walk(obj: Any, inherited: list[str] | None, out: list[KnownLevels], depth: int) -> None:
    """Descend through Pipelines and ColumnTransformers; `inherited` = column names flowing into `obj`."""
    if obj is None or depth > 8:
        return
    cls = type(obj).__name__
    if cls in ENCODER_CLASSES and hasattr(obj, "categories_"):
        names = _names(obj) or inherited
        if names is None or len(names) != len(obj.categories_):
            return
        refuses = str(getattr(obj, "handle_unknown", "error")) in REFUSING[cls]
        for name, cats in zip(names, obj.categories_, strict=True):
            out.append(KnownLevels(name, tuple(_plain_levels(cats)), refuses, cls))
        return
    steps = getattr(obj, "steps", None)
    if isinstance(steps, list) and steps:
        names = _names(obj) or inherited
        # Only the first step sees the input columns; later steps see transformed arrays.
        _walk(steps[0][1], names, out, depth + 1)
        return
    transformers = getattr(obj, "transformers_", None)
    if isinstance(transformers, list):
        input_names = _names(obj) or inherited
        for _name, transformer, columns in transformers:
            if isinstance(transformer, str):  # "drop" / "passthrough"
                continue
            _walk(transformer, _resolve(columns, input_names), out, depth + 1)


def _resolve(columns: Any, names: list[str] | None) -> list[str] | None:
    """ColumnTransformer column selections (names, indices, masks, slices) as names."""
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, slice):
        return names[columns] if names is not None else None
    try:
        items = list(columns)
    except TypeError:
        return None
    if not items:
        return []
    if all(isinstance(c, (bool, np.bool_)) for c in items):
        return [n for n, keep in zip(names, items, strict=False) if keep] if names is not None else None
    if all(isinstance(c, (int, np.integer)) for c in items):
        return [names[int(c)] for c in items] if names is not None else None
    return [str(c) for c in items]


def _plain_levels(cats: Any) -> list[Any]:
    return [c.item() if isinstance(c, np.generic) else c for c in np.asarray(cats, dtype=object).tolist()]
