"""Recipes that can be refitted: `sklearn.base.clone` of a model's estimator, optionally with every seed set.

A clone keeps the recorded hyperparameters and drops what was learned. Seeds are every `get_params(deep=True)`
name whose last part is `random_state`, `seed`, `random_seed` or ends in `_seed` (LightGBM's bagging_seed...),
nested ones included (`classifier__random_state`), so one number reseeds a whole pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelgap.model import LoadedModel

SEED_NAMES = frozenset({"random_state", "seed", "random_seed"})


class NotRefittable(Exception):  # a status, not a failure: the reason goes into the section
    """The estimator cannot be rebuilt from its hyperparameters; `str()` is the plain reason."""


def refit_problem(model: LoadedModel) -> str | None:
    """Why `model` cannot be refitted (one sentence), or None when its estimator looks cloneable."""
    est = model.estimator
    if est is None:
        what = "a scoring endpoint" if model.source.startswith(("http://", "https://")) else "a pyfunc-only model"
        return f"It is {what} without an estimator to refit."
    if not callable(getattr(est, "fit", None)) or not callable(getattr(est, "get_params", None)):
        return f"Its {type(est).__name__} object has no scikit-learn fit/get_params to rebuild it from."
    return None


def recorded_recipe(estimator: Any) -> Any:
    """An unfitted copy with the recorded hyperparameters (raises NotRefittable with the reason)."""
    from sklearn.base import clone

    try:
        return clone(estimator)
    except Exception as exc:  # any refusal of clone is a reason, never a crash
        text = " ".join(str(exc).split())[:200]
        raise NotRefittable(f"Its {type(estimator).__name__} cannot be cloned ({type(exc).__name__}: {text}).") from exc


def is_seed_name(name: str) -> bool:
    last = name.rsplit("__", 1)[-1]
    return last in SEED_NAMES or last.endswith("_seed")


def seed_params(estimator: Any) -> list[str]:
    """The seed parameters of `estimator`, nested ones included (sorted names)."""
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001 - a wrapper that cannot list its params has no seeds we can set
        return []
    return sorted(
        name
        for name, value in params.items()
        if is_seed_name(name)
        and (value is None or isinstance(value, (int, np.integer, np.random.RandomState)))
        and not isinstance(value, bool)
    )


def unrepeatable_seeds(estimator: Any) -> list[str]:
    """Seed parameters holding a RandomState object: their starting state is not recorded."""
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001
        return []
    return sorted(n for n, v in params.items() if is_seed_name(n) and isinstance(v, np.random.RandomState))


def seeded_recipe(estimator: Any, seed: int, names: list[str]) -> Any:
    """A clone with every parameter in `names` set to `seed` (raises NotRefittable when set_params refuses)."""
    recipe = recorded_recipe(estimator)
    if not names:
        return recipe
    try:
        recipe.set_params(**dict.fromkeys(names, seed))
    except Exception as exc:  # a seed parameter that cannot be set is a reason, never a crash
        raise NotRefittable(f"Its seed parameters {', '.join(names)} cannot be set ({type(exc).__name__}).") from exc
    return recipe
