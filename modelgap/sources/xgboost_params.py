"""xgboost hyperparameters: what a model file really records, and what it cannot know.

A pickled or skops-saved xgboost model keeps its full training configuration. A model saved in
xgboost's own format (MLflow's xgboost flavor: .ubj/.json/.xgb) keeps only the model itself: reloaded,
its wrapper reports None for max_depth, learning_rate, n_estimators ... and its booster reports the
library defaults (max_depth 6), not what was trained. Guessing would make the same model look changed
across routes and two different models look alike, so those values are reported as unknown.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from modelgap.jsonsafe import json_safe

# Wrapper params that xgboost restores from its own model format (see XGBModel._load_model_attributes),
# plus n_estimators, which is the number of boosting rounds stored in the model.
INTRINSIC_WRAPPER_PARAMS = ("objective", "booster", "base_score", "feature_types", "enable_categorical", "n_estimators")
# Sections of a raw Booster's config that its own model format records.
INTRINSIC_CONFIG_PREFIXES = (
    "learner_model_param__",
    "objective__name",
    "gradient_booster__name",
    "gradient_booster__gbtree_model_param__",
)


def is_xgboost_wrapper(obj: Any) -> bool:
    return type(obj).__module__.startswith("xgboost.sklearn")


def booster_params(booster: Any) -> dict[str, Any]:
    """Training parameters of a Booster under the sklearn wrapper's names, typed. Trust only complete configs."""
    config = json.loads(booster.save_config())["learner"]
    gbm = config.get("gradient_booster", {})
    leaves: dict[str, Any] = {}
    for section in (
        config.get("generic_param", {}),
        config.get("learner_train_param", {}),
        gbm.get("gbtree_train_param", {}),
        gbm.get("gbtree_model_param", {}),
        gbm.get("tree_train_param", {}),
        config.get("objective", {}).get("reg_loss_param", {}),
    ):
        leaves.update({k: typed_config_value(v) for k, v in section.items() if isinstance(v, str)})
    leaves.update(intrinsic_params(booster))
    return leaves


def intrinsic_params(booster: Any) -> dict[str, Any]:
    """What the model format itself records, under the wrapper's names (as XGBModel.load_model restores it)."""
    config = json.loads(booster.save_config())["learner"]
    out: dict[str, Any] = {
        "objective": config.get("objective", {}).get("name"),
        "booster": config.get("gradient_booster", {}).get("name"),
        "n_estimators": int(booster.num_boosted_rounds()),
    }
    base = config.get("learner_model_param", {}).get("base_score")
    if base is not None:
        out["base_score"] = json_safe(json.loads(base) if str(base).startswith("[") else typed_config_value(str(base)))
    types = booster.feature_types
    out["feature_types"] = [str(t) for t in types] if types else None
    out["enable_categorical"] = bool(types) and any(t == "c" for t in types)
    return {k: v for k, v in out.items() if v is not None}


def typed_config_value(text: str) -> Any:
    """Config strings as numbers; float32 values at their shortest repr ("0.300000012" -> 0.3)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    if not np.isfinite(value):
        return json_safe(value)
    as32 = np.float32(value)
    if abs(float(as32) - value) <= 1e-7 * abs(value):
        return float(str(as32))
    return value


def complete_wrapper_params(out: dict[str, Any], prefix: str, est: Any, *, config_lost: bool) -> list[str]:
    """Fill an xgboost wrapper's params in `out` (keys under `prefix`); return the names that are unknown.

    Complete config: None (library default) becomes the value the booster was trained with.
    Config lost: the intrinsic values are filled; every other value is only the reloaded wrapper's
    constructor default, so it is unknown (and removed from `out`).
    """
    try:
        booster = est.get_booster()
    except Exception:  # noqa: BLE001 - an unfitted wrapper has no booster: its params are what was set
        return []
    known = intrinsic_params(booster) if config_lost else booster_params(booster)
    unknown: list[str] = []
    for key in [k for k in out if k.startswith(prefix) and "__" not in k[len(prefix) :]]:
        name = key[len(prefix) :]
        if config_lost:
            if name in known:
                out[key] = json_safe(known[name])
            else:
                unknown.append(key)
                del out[key]
        elif out[key] is None and name in known:
            out[key] = json_safe(known[name])
    return unknown


def split_raw_booster_params(params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A raw Booster reloaded from xgboost's format: keep what the format records, the rest is unknown."""
    known = {k: v for k, v in params.items() if k.startswith(INTRINSIC_CONFIG_PREFIXES)}
    return known, sorted(k for k in params if k not in known)
