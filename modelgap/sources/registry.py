"""`runs:/` and `models:/` sources: resolve in the tracking store, download read-only, load as a directory."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from modelgap.errors import SourceError
from modelgap.model import LoadedModel
from modelgap.redact import redact_uri
from modelgap.sources.origins import Trust
from modelgap.sources.refs import ModelsUri, parse_models_uri, parse_run_uri
from modelgap.sources.tracking import client_for, mlflow_error, resolve_tracking_uri, using_uri

_DOWNLOAD_ROOT: Path | None = None


def _download_root() -> Path:
    """One temp folder per process, removed at exit: downloads never land in the user's files."""
    global _DOWNLOAD_ROOT
    if _DOWNLOAD_ROOT is None:
        _DOWNLOAD_ROOT = Path(tempfile.mkdtemp(prefix="modelgap-artifacts-"))
        atexit.register(shutil.rmtree, _DOWNLOAD_ROOT, True)
    return _DOWNLOAD_ROOT


def load_registry_model(source: str, tracking_uri: str | None, *, trust: Trust) -> LoadedModel:
    parsed = parse_models_uri(source)  # a typo fails before any store is touched
    uri = resolve_tracking_uri(tracking_uri)
    client = client_for(uri)
    if parsed.logged_model_id:
        info = _logged_model_info(client, parsed.logged_model_id, uri)
        artifact = f"models:/{parsed.logged_model_id}"
    else:
        version = _resolve_version(client, parsed, uri)
        info = _version_info(client, version, uri)
        artifact = f"models:/{version.name}/{version.version}"
    model = _download_and_load(artifact, uri, source, trust=trust)
    model.metadata.mlflow.update(info)
    model.metadata.mlflow["tracking_uri"] = redact_uri(uri)
    return model


def load_run_artifact(source: str, tracking_uri: str | None, *, trust: Trust) -> LoadedModel:
    run_id = parse_run_uri(source).run_id  # a typo fails before any store is touched
    uri = resolve_tracking_uri(tracking_uri)
    client = client_for(uri)
    try:
        run = client.get_run(run_id)
    except Exception as exc:
        raise mlflow_error(exc, f"run {run_id}", uri) from exc
    model = _download_and_load(source, uri, source, trust=trust)
    model.metadata.mlflow.update(_run_info(run))
    model.metadata.mlflow["tracking_uri"] = redact_uri(uri)
    return model


def _download_and_load(artifact_uri: str, uri: str, source: str, *, trust: Trust) -> LoadedModel:
    import mlflow.artifacts

    from modelgap.sources.files import load_local

    dst = Path(tempfile.mkdtemp(dir=_download_root()))
    try:
        with using_uri(uri):
            local = mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=str(dst))
    except Exception as exc:
        raise mlflow_error(exc, artifact_uri, uri) from exc
    # Downloading runs nothing; whether loading may run code depends on the registry it came from.
    model: LoadedModel = load_local(Path(local), source, may_run_code=trust.registry_may_run_code(uri), trust=trust)
    model.metadata.location = artifact_uri
    return model


def _resolve_version(client: Any, parsed: ModelsUri, uri: str) -> Any:
    _require_registered_model(client, parsed.name, uri)
    try:
        if parsed.alias:
            return client.get_model_version_by_alias(parsed.name, parsed.alias)
        if parsed.version:
            return client.get_model_version(parsed.name, parsed.version)
        stage = parsed.stage or "latest"
        with warnings.catch_warnings():
            # Stages are deprecated in MLflow in favour of aliases; modelgap still reads them (users have them)
            # and the pickers offer aliases first, so MLflow's FutureWarning is not the user's concern here.
            warnings.simplefilter("ignore", FutureWarning)
            found = (
                client.get_latest_versions(parsed.name)
                if stage.lower() == "latest"
                else client.get_latest_versions(parsed.name, stages=[stage.capitalize()])
            )
        if found:
            return max(found, key=lambda v: int(v.version))
    except Exception as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(getattr(exc, "error_code", "")) and "not found" not in str(exc).lower():
            raise mlflow_error(exc, f"model {parsed.name}", uri) from exc
    raise SourceError(_missing_reference(parsed), _existing_references(client, parsed.name))


def _require_registered_model(client: Any, name: str, uri: str) -> None:
    try:
        client.get_registered_model(name)
        return
    except Exception as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(getattr(exc, "error_code", "")):
            raise mlflow_error(exc, f"registered model {name}", uri) from exc
    try:
        names = sorted(m.name for m in client.search_registered_models(max_results=20))
    except Exception:  # noqa: BLE001 - the list is a courtesy
        names = []
    raise SourceError(
        f"No registered model named {name!r} at {redact_uri(uri)}.",
        f"Registered models there: {', '.join(names) if names else 'none'}.",
    )


def _missing_reference(parsed: ModelsUri) -> str:
    if parsed.alias:
        return f"Registered model {parsed.name!r} has no alias {parsed.alias!r}."
    if parsed.version:
        return f"Registered model {parsed.name!r} has no version {parsed.version}."
    return f"Registered model {parsed.name!r} has no version in stage {parsed.stage!r}."


def _existing_references(client: Any, name: str) -> str:
    try:
        model = client.get_registered_model(name)
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    except Exception:  # noqa: BLE001 - the list is a courtesy
        return "List the versions in the MLflow UI."
    aliases = getattr(model, "aliases", {}) or {}
    alias_text = ", ".join(f"@{a} -> v{v}" for a, v in sorted(aliases.items())) or "none"
    return f"Existing versions: {', '.join(map(str, versions)) or 'none'}; aliases: {alias_text}."


def _version_info(client: Any, version: Any, uri: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "registered_name": version.name,
        "version": str(version.version),
        "aliases": sorted(getattr(version, "aliases", []) or []),
        "stage": getattr(version, "current_stage", None),
        "creation_time": _iso(getattr(version, "creation_timestamp", None)),
        "tags": dict(getattr(version, "tags", {}) or {}),
        "run_id": version.run_id,
        "model_version_source": version.source,
    }
    if getattr(version, "model_id", None):
        info["logged_model_id"] = version.model_id
    if version.run_id:
        try:
            info.update(_run_info(client.get_run(version.run_id)))
        except Exception:  # noqa: BLE001 - a deleted run leaves the version usable
            info["run_missing"] = True
    return info


def _logged_model_info(client: Any, model_id: str, uri: str) -> dict[str, Any]:
    try:
        logged = client.get_logged_model(model_id)
    except Exception as exc:
        raise mlflow_error(exc, f"logged model {model_id}", uri) from exc
    info: dict[str, Any] = {
        "logged_model_id": model_id,
        "logged_model_name": getattr(logged, "name", None),
        "creation_time": _iso(getattr(logged, "creation_timestamp", None)),
        "tags": dict(getattr(logged, "tags", {}) or {}),
        "run_id": getattr(logged, "source_run_id", None),
    }
    if info["run_id"]:
        try:
            info.update(_run_info(client.get_run(info["run_id"])))
        except Exception:  # noqa: BLE001
            info["run_missing"] = True
    return info


def _run_info(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "run_start_time": _iso(run.info.start_time),
        "run_params": dict(sorted(run.data.params.items())),
        "run_tags": {k: v for k, v in sorted(run.data.tags.items()) if not k.startswith("mlflow.log-model")},
    }


def _iso(ms: Any) -> str | None:
    if not ms:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="seconds")
