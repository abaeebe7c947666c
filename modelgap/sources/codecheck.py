"""Does loading an MLflow model directory run code? Decided from MLmodel and the files, before any loader runs.

MLflow's loaders run code in several ways: unpickling (`cloudpickle`/`pickle` data, the python_function
flavor's `loader_module` and `python_model`), putting a flavor's `code/` folder on `sys.path`, and
importing the `model_class` a flavor names. Only three data formats load without any of that, and only
those load from an origin the operator did not allow: skops files whose types are all on modelgap's
allow-list, xgboost's own json/ubj/binary model files with an allow-listed model class, and LightGBM's
text model files. `safe_plan` names how to load such a model without calling an MLflow loader at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgap.errors import SourceError

__all__ = ["LoadPlan", "code_risks", "safe_plan"]

# model_class values whose import runs only the library's own code.
XGBOOST_CLASSES = frozenset(
    {
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRegressor",
        "xgboost.sklearn.XGBRanker",
        "xgboost.sklearn.XGBRFClassifier",
        "xgboost.sklearn.XGBRFRegressor",
    }
)
LIGHTGBM_BOOSTER = "lightgbm.basic.Booster"
LIGHTGBM_SKLEARN_CLASSES = frozenset(
    {"lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor", "lightgbm.sklearn.LGBMRanker"}
)
NATIVE_FLAVORS = ("sklearn", "xgboost", "lightgbm")  # in the order modelgap prefers them
# First bytes of a pickle stream (protocol 2 and later).
_PICKLE_HEAD = b"\x80"


@dataclass(frozen=True)
class LoadPlan:
    """How to load a model without an MLflow loader: `kind` is skops, xgboost or lightgbm-text."""

    flavor: str
    kind: str
    data: Path
    model_class: str | None = None


def _flavors(mlmodel: dict[str, Any]) -> dict[str, Any]:
    flavors = mlmodel.get("flavors")
    return flavors if isinstance(flavors, dict) else {}


def _conf(mlmodel: dict[str, Any], flavor: str) -> dict[str, Any]:
    conf = _flavors(mlmodel).get(flavor)
    return conf if isinstance(conf, dict) else {}


def _data_path(model_dir: Path, conf: dict[str, Any], default: str) -> Path:
    """The flavor's data file, refused when it points outside the model directory."""
    rel = str(conf.get("data") or conf.get("pickled_model") or default)
    root = model_dir.resolve()
    path = (model_dir / rel).resolve()
    if root != path and root not in path.parents:
        raise SourceError(
            f"The MLmodel of {model_dir} points at a data file outside the model folder ({rel}).",
            "Re-log the model with MLflow.",
        )
    return path


def _starts_like_pickle(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(1) == _PICKLE_HEAD
    except OSError:
        return False


def _ships_code(model_dir: Path, mlmodel: dict[str, Any]) -> str | None:
    for name, conf in _flavors(mlmodel).items():
        if isinstance(conf, dict) and conf.get("code"):
            return f"its {name} flavor ships a code folder ({conf['code']}) that MLflow puts on sys.path"
    if (model_dir / "code").is_dir():
        return "it ships a code/ folder that MLflow puts on sys.path"
    return None


def safe_plan(model_dir: Path, mlmodel: dict[str, Any]) -> LoadPlan | None:
    """How to load this model with no code of its own running, or None when no safe way exists."""
    if _ships_code(model_dir, mlmodel):
        return None
    flavors = _flavors(mlmodel)
    if "sklearn" in flavors:
        conf = _conf(mlmodel, "sklearn")
        if conf.get("serialization_format") != "skops":
            return None
        return LoadPlan("sklearn", "skops", _data_path(model_dir, conf, "model.skops"))
    if "xgboost" in flavors:
        conf = _conf(mlmodel, "xgboost")
        model_class = str(conf.get("model_class") or "xgboost.core.Booster")
        data = _data_path(model_dir, conf, "model.xgb")
        if model_class not in XGBOOST_CLASSES or _starts_like_pickle(data):
            return None
        return LoadPlan("xgboost", "xgboost", data, model_class)
    if "lightgbm" in flavors:
        conf = _conf(mlmodel, "lightgbm")
        model_class = str(conf.get("model_class") or LIGHTGBM_BOOSTER)
        data = _data_path(model_dir, conf, "model.lgb")
        if model_class == LIGHTGBM_BOOSTER and not _starts_like_pickle(data):
            return LoadPlan("lightgbm", "lightgbm-text", data, model_class)
        if model_class in LIGHTGBM_SKLEARN_CLASSES and conf.get("serialization_format") == "skops":
            return LoadPlan("lightgbm", "skops", data, model_class)
        return None
    return None


def code_risks(model_dir: Path, mlmodel: dict[str, Any]) -> list[str]:
    """Why loading this MLflow model runs code (empty when `safe_plan` can load it)."""
    shipped = _ships_code(model_dir, mlmodel)
    if shipped:
        return [shipped]
    flavors = _flavors(mlmodel)
    if "sklearn" in flavors:
        fmt = _conf(mlmodel, "sklearn").get("serialization_format") or "cloudpickle"
        return [] if fmt == "skops" else [f"its sklearn model is stored with {fmt}, which runs code when unpickled"]
    if "xgboost" in flavors:
        conf = _conf(mlmodel, "xgboost")
        model_class = str(conf.get("model_class") or "xgboost.core.Booster")
        if model_class not in XGBOOST_CLASSES:
            return [f"its xgboost flavor imports the class {model_class}, which is not one of xgboost's own"]
        if _starts_like_pickle(_data_path(model_dir, conf, "model.xgb")):
            return ["its xgboost data file is a pickle"]
        return []
    if "lightgbm" in flavors:
        conf = _conf(mlmodel, "lightgbm")
        model_class = str(conf.get("model_class") or LIGHTGBM_BOOSTER)
        if safe_plan(model_dir, mlmodel) is not None:
            return []
        if model_class not in (LIGHTGBM_BOOSTER, *LIGHTGBM_SKLEARN_CLASSES):
            return [f"its lightgbm flavor names the class {model_class}, so MLflow unpickles its data file"]
        return ["its lightgbm model is pickled, which runs code when loaded"]
    if "python_function" in flavors:
        loader = _conf(mlmodel, "python_function").get("loader_module") or "a pickled python_model"
        return [f"it is a python_function model loaded by {loader}, which runs the model's own code"]
    return []
