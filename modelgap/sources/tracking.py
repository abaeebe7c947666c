"""Talking to an MLflow tracking server or store: lean timeouts, clear errors, read-only use."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from modelgap.errors import SourceError, TrackingServerError
from modelgap.redact import redact_uri
from modelgap.sources.credentials import check_mlflow_destination
from modelgap.values import one_line

# MLflow's defaults (120 s timeout, several retries with backoff) would hang a UI for minutes.
_LEAN_HTTP_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
HEALTH_TIMEOUT_S = 5.0
# Stores MLflow reaches with its own clients (databases, Databricks, plugins' schemes are refused).
_OTHER_STORE_SCHEMES = {"databricks", "databricks-uc", "uc", "postgresql", "mysql", "mssql"}

# mlflow's download helpers read the process-wide tracking/registry URI: serialise their use.
_GLOBAL_URI_LOCK = threading.Lock()


def apply_lean_http_settings() -> None:
    for key, value in _LEAN_HTTP_SETTINGS.items():
        os.environ.setdefault(key, value)


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise SourceError(
            "No MLflow tracking URI is set for a runs:/ or models:/ source.",
            "Pass --tracking-uri or set MLFLOW_TRACKING_URI.",
        )
    return uri


def check_reachable(uri: str) -> None:
    """Fail in seconds, with the reason, before MLflow's own client gets a chance to hang."""
    check_mlflow_destination(uri)  # before any request: the server's credentials never go to another host
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        import requests

        try:
            resp = requests.get(
                uri.rstrip("/") + "/health", timeout=HEALTH_TIMEOUT_S, auth=_basic_auth(), headers=_bearer()
            )
        except requests.RequestException as exc:
            raise TrackingServerError(
                f"Cannot reach the MLflow tracking server at {redact_uri(uri)} ({type(exc).__name__}).",
                "Check that it is running and reachable, and that the tracking URI is right.",
            ) from exc
        if resp.status_code in (401, 403):
            raise_auth_error(uri, resp.status_code)
    elif parsed.scheme == "sqlite":
        path = Path(uri.split("sqlite:///", 1)[-1]) if "sqlite:///" in uri else None
        if path is not None and not path.exists():
            # Opening a missing sqlite store would create one: never write to the user's files.
            raise SourceError(
                f"No MLflow tracking database at {path}.",
                "Check the path in the sqlite:/// URI (four slashes for an absolute path).",
            )
    elif parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme == "file" else uri)
        if not path.exists():
            raise SourceError(f"No MLflow tracking store at {path}.", "Check the tracking URI.")
    elif parsed.scheme not in _OTHER_STORE_SCHEMES:
        raise SourceError(
            f"The tracking URI {redact_uri(uri)} has an unknown scheme {parsed.scheme!r}.",
            "Use http(s)://host:port, sqlite:////absolute/path/mlflow.db, file:///path or a folder path.",
        )


def raise_auth_error(uri: str, status: int) -> None:
    raise TrackingServerError(
        f"The MLflow tracking server at {redact_uri(uri)} refused access (HTTP {status}).",
        "Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.",
    )


def _basic_auth() -> tuple[str, str] | None:
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    return (user, password) if user and password else None


def _bearer() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def client_for(uri: str) -> Any:
    apply_lean_http_settings()
    check_reachable(uri)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def using_uri(uri: str) -> Iterator[None]:
    """Temporarily point mlflow's process-wide URIs at `uri` (download helpers read them), then put back
    exactly what was there: the caller's own mlflow use (a notebook, the app) must not notice.

    MLflow has no public getter for "the URI explicitly set, if any" (its getters fall back to defaults),
    so the module globals are read; None means unset, and the setters accept it.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _GLOBAL_URI_LOCK:
        old_tracking_env = os.environ.get("MLFLOW_TRACKING_URI")
        old_registry_env = os.environ.get("MLFLOW_REGISTRY_URI")
        old_tracking = getattr(tracking_utils, "_tracking_uri", None)
        old_registry = getattr(registry_utils, "_registry_uri", None)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(old_tracking)  # type: ignore[arg-type,unused-ignore]
            mlflow.set_registry_uri(old_registry)  # type: ignore[arg-type,unused-ignore]
            _restore_env("MLFLOW_TRACKING_URI", old_tracking_env)
            _restore_env("MLFLOW_REGISTRY_URI", old_registry_env)


def _restore_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def mlflow_error(exc: Exception, what: str, uri: str) -> SourceError:
    """Translate an MlflowException into a one-line SourceError."""
    code = str(getattr(exc, "error_code", ""))
    message = one_line(exc)
    if "UNAUTHENTICATED" in code or "PERMISSION_DENIED" in code or " 401" in message or " 403" in message:
        return TrackingServerError(
            f"The MLflow tracking server at {redact_uri(uri)} refused access while reading {what}.",
            "Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.",
        )
    if "Max retries" in message or "Connection" in message or "timed out" in message.lower():
        return TrackingServerError(
            f"Lost the MLflow tracking server at {redact_uri(uri)} while reading {what}.", "Check the server."
        )
    return SourceError(
        f"MLflow could not read {what}: {message.rstrip('.')}.", "Check the source string and the tracking URI."
    )
