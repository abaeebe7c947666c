"""Likely causes modelgap can see when a model is not what its recorded recipe makes.

Three kinds, each a short phrase a manager can read: library versions recorded with the model vs the ones
running now; the training data's fingerprint (MLflow digest) and row count vs what the run recorded; and the
parameters logged on the MLflow run vs the model's own hyperparameters.
"""

from __future__ import annotations

from typing import Any

from modelgap.model import LoadedModel
from modelgap.retraining.training import TrainingSet
from modelgap.sources.environment import running_python, running_versions

ROW_PARAMS = frozenset({"n_train_rows", "train_rows", "n_training_rows", "training_rows", "n_samples"})
MAX_PARAM_CAUSES = 3


def visible_causes(model: LoadedModel, training: TrainingSet | None) -> list[str]:
    """Every difference found between how the model was made and how it was remade here."""
    causes = library_causes(model)
    if training is not None:
        causes += data_causes(training)
    causes += param_causes(model, training)
    return causes


def library_causes(model: LoadedModel) -> list[str]:
    recorded = model.metadata.library_versions or {}
    now = running_versions()
    out = [
        f"{name} {version} when saved, {now[name]} now"
        for name, version in recorded.items()
        if name in now and str(version) != now[name]
    ]
    saved_python = model.metadata.python_version
    if saved_python and _minor(saved_python) != _minor(running_python()):
        out.append(f"Python {saved_python} when saved, {running_python()} now")
    return out


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def data_causes(training: TrainingSet) -> list[str]:
    out: list[str] = []
    ref = training.ref
    if training.digest_differs and ref is not None:
        out.append(f"the training file's fingerprint ({training.digest_now}) is not the recorded one ({ref.digest})")
    recorded_rows = (ref.profile or {}).get("num_rows") if ref is not None else None
    total = training.n_rows_total
    if isinstance(recorded_rows, int) and total is not None and recorded_rows != total:
        out.append(f"the run recorded {recorded_rows:,} training rows, the file has {total:,}")
    if training.frame is not None and total is not None and len(training.frame) < total:
        out.append(f"only {len(training.frame):,} of {total:,} training rows were used (--retrain-max-rows)")
    return out


def param_causes(model: LoadedModel, training: TrainingSet | None) -> list[str]:
    """Parameters the MLflow run logged whose value is not the model's own (matched by name, nested or not)."""
    logged = model.metadata.mlflow.get("run_params")
    params = model.params or {}
    if not isinstance(logged, dict):
        return []
    out: list[str] = []
    for name, value in logged.items():
        if name in ROW_PARAMS and training is not None and training.n_rows_total is not None:
            if _number(value) is not None and _number(value) != training.n_rows_total:
                out.append(f"the run logged {name}={value}, the training data has {training.n_rows_total:,} rows")
            continue
        matches = [p for p in params if p == name or p.endswith(f"__{name}")]
        own = {repr(params[p]) for p in matches}
        if len(own) != 1:  # not a hyperparameter, or ambiguous (two steps with that name and other values)
            continue
        mine = params[matches[0]]
        if not _same(value, mine):
            out.append(f"the run logged {name}={value}, the model has {matches[0]}={mine}")
    return out[:MAX_PARAM_CAUSES]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same(logged: Any, own: Any) -> bool:
    """A logged parameter (MLflow keeps strings) against the model's value, by text or by number."""
    text = str(logged).strip()
    if text == str(own) or (own is None and text.lower() in ("none", "null", "")):
        return True
    if isinstance(own, bool):
        return text.lower() == str(own).lower()
    a, b = _number(text), _number(own)
    return a is not None and b is not None and a == b
