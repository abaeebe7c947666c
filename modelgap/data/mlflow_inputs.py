"""Dataset inputs of a model's MLflow run (`mlflow.log_input`): name, digest, source, schema, profile, context."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from modelgap.data.refs import DatasetRef, ModelLineage
from modelgap.errors import ModelgapError
from modelgap.model import LoadedModel
from modelgap.redact import redact_uri
from modelgap.values import one_line

CONTEXT_TAG = "mlflow.data.context"
_URI_KEYS = ("uri", "path", "url", "table_name", "delta_table_name", "dataset_source", "location")


def tracking_uri_for(model: LoadedModel, fallback: str | None) -> tuple[str | None, str | None]:
    """(URI to use, note) for reading the model's run: the URI the model came from, else the comparison's
    --tracking-uri, else MLFLOW_TRACKING_URI. A URI the loader redacted (credentials) cannot be reused."""
    recorded = model.metadata.mlflow.get("tracking_uri")
    if isinstance(recorded, str) and recorded and "***@" not in recorded:
        return recorded, None
    uri = fallback or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri, None
    return None, "the model records an MLflow run but no tracking URI is known (pass --tracking-uri)"


def add_mlflow_inputs(lineage: ModelLineage, model: LoadedModel, fallback_uri: str | None) -> None:
    """Append the dataset inputs of the model's run to `lineage`; problems become notes, never exceptions."""
    run_id = model.metadata.mlflow.get("run_id")
    if not run_id:
        return
    lineage.run_id = str(run_id)
    if model.metadata.mlflow.get("run_missing"):
        lineage.notes.append(f"The model's MLflow run {run_id} no longer exists: its datasets are unknown.")
        return
    uri, note = tracking_uri_for(model, fallback_uri)
    if uri is None:
        lineage.notes.append(f"Training data unknown: {note}.")
        return
    from modelgap.sources.tracking import client_for

    lineage.tracking_uri = redact(uri)
    try:
        run = client_for(uri).get_run(str(run_id))
    except ModelgapError as err:
        lineage.notes.append(f"Could not read the model's MLflow run {run_id}: {err.one_line()}")
        return
    except Exception as exc:  # noqa: BLE001 - lineage is informative: the comparison goes on, the reason is kept
        text = one_line(exc)
        lineage.notes.append(f"Could not read the model's MLflow run {run_id} ({type(exc).__name__}: {text}).")
        return
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    if not inputs:
        lineage.notes.append(f"The model's MLflow run {run_id} logged no dataset (mlflow.log_input).")
    for dataset_input in inputs:
        lineage.datasets.append(dataset_ref(dataset_input))


def dataset_ref(dataset_input: Any) -> DatasetRef:
    """A DatasetRef from one mlflow.entities.DatasetInput."""
    ds = dataset_input.dataset
    tags = {t.key: t.value for t in (getattr(dataset_input, "tags", None) or [])}
    source = _json(getattr(ds, "source", None))
    uri = _uri(source)
    ref = DatasetRef(
        origin="mlflow",
        name=getattr(ds, "name", None) or None,
        context=tags.get(CONTEXT_TAG),
        digest=getattr(ds, "digest", None) or None,
        source_type=getattr(ds, "source_type", None) or None,
        uri=uri,
        schema=_schema(_json(getattr(ds, "schema", None))),
        profile=_profile(_json(getattr(ds, "profile", None))),
    )
    if ref.profile and isinstance(ref.profile.get("num_rows"), int):
        ref.n_rows = ref.profile["num_rows"]
    path = local_path(uri)
    if path is not None:
        ref.path = str(path)
        if path.is_file() or (path.is_dir() and any(path.glob("*.parquet"))):
            ref.readable_path = str(path)
        else:
            ref.notes.append(f"The recorded source {path} is not on this machine: its rows cannot be compared.")
    elif uri:
        ref.notes.append(f"The source {uri} is not a local file: its rows are not read (no download).")
    else:
        ref.notes.append("The run recorded no file for this dataset (e.g. a DataFrame logged from code).")
    return ref


def redact(uri: str) -> str:
    """Never echo credentials embedded in a URI."""
    return redact_uri(uri)


def local_path(uri: str | None) -> Path | None:
    """A local path for a plain path or file:// URI, else None."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):  # C:\ on Windows
        return Path(uri).expanduser()
    return None


def _json(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _uri(source: Any) -> str | None:
    if isinstance(source, str):
        return source or None
    if isinstance(source, dict):
        for key in _URI_KEYS:
            if isinstance(source.get(key), str) and source[key]:
                return str(source[key])
    return None


def _schema(schema: Any) -> list[dict[str, str]] | None:
    """[{name, type}] from MLflow's {"mlflow_colspec": [...]} (tensor specs and others: None)."""
    if isinstance(schema, dict):
        specs = schema.get("mlflow_colspec")
        if isinstance(specs, list):
            return [{"name": str(s.get("name")), "type": str(s.get("type"))} for s in specs if isinstance(s, dict)]
    return None


def _profile(profile: Any) -> dict[str, Any] | None:
    return profile if isinstance(profile, dict) else None
