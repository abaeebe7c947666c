"""Lineage: the datasets each model was trained on, as far as its source knows, and how the two relate.

Sources, all read-only: the MLflow dataset inputs of the model's run, `.dvc` files next to a local or git
model, and a path the user names (`repo_training_data` / `deployed_training_data` in the options).
"""

from __future__ import annotations

from pathlib import Path

from modelgap.data.dvc import dvc_refs
from modelgap.data.fingerprint import file_md5
from modelgap.data.mlflow_inputs import add_mlflow_inputs
from modelgap.data.refs import DatasetRef, ModelLineage
from modelgap.model import LoadedModel


def user_ref(path: str | Path) -> DatasetRef:
    """A training set the user names: a local CSV/Parquet file."""
    p = Path(path).expanduser().absolute()
    ref = DatasetRef(origin="user", name=p.name, context="training", source_type="local", uri=str(path), path=str(p))
    if p.is_file():
        ref.readable_path = str(p)
        ref.md5 = file_md5(p)
    elif p.is_dir() and any(p.glob("*.parquet")):
        ref.readable_path = str(p)
    else:
        ref.notes.append(f"No file at {p}: the named training data cannot be read.")
    return ref


def model_lineage(
    model: LoadedModel,
    side: str,
    *,
    training_path: str | Path | None = None,
    tracking_uri: str | None = None,
) -> ModelLineage:
    """Everything known of `model`'s datasets. Never raises for missing or unreadable lineage: notes say why."""
    lineage = ModelLineage(side=side, model_source=model.source)
    if training_path:
        lineage.datasets.append(user_ref(training_path))
    add_mlflow_inputs(lineage, model, tracking_uri)
    refs, notes = dvc_refs(model)
    lineage.datasets += refs
    lineage.notes += notes
    for ref in lineage.datasets:
        if ref.md5 is None and ref.readable_path and Path(ref.readable_path).is_file() and ref.origin != "dvc":
            ref.md5 = file_md5(ref.readable_path)
    if not lineage.datasets and not lineage.notes:
        lineage.notes.append(_unknown_reason(model, side))
    return lineage


def _unknown_reason(model: LoadedModel, side: str) -> str:
    hint = f"name it with --{side}-training-data"
    if model.source.startswith(("http://", "https://")):
        return f"A scoring endpoint does not say what it was trained on: {hint}."
    if not model.metadata.mlflow.get("run_id"):
        return f"No MLflow run, .dvc file or named path records this model's training data: {hint}."
    return f"The model's training data is not recorded: {hint}."
