"""Credentials go only to the host they were configured for.

MLflow credentials (`MLFLOW_TRACKING_USERNAME`/`PASSWORD`, `MLFLOW_TRACKING_TOKEN`) are configured for
`MLFLOW_TRACKING_URI` and the registries in `MODELGAP_TRUSTED_TRACKING_URIS`; endpoint credentials
(`MODELGAP_ENDPOINT_TOKEN`, `MODELGAP_ENDPOINT_USERNAME`/`PASSWORD`) for the endpoints in
`MODELGAP_ALLOWED_ENDPOINTS`. The CLI adds the URIs its user typed (`allow_in_this_process`): one user,
one process. A shared app never does, so nothing typed in a browser or carried by a link can send the
server's credentials to another host: modelgap refuses before any request is made.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

from modelgap.errors import EndpointError, TrackingServerError
from modelgap.redact import redact_uri
from modelgap.sources.origins import (
    ALLOWED_ENDPOINTS_ENV,
    TRUSTED_TRACKING_URIS_ENV,
    endpoint_allowed,
    env_list,
    tracking_uri_allowed,
)

__all__ = [
    "allow_in_this_process",
    "check_endpoint_destination",
    "check_mlflow_destination",
    "endpoint_credentials_set",
    "mlflow_credentials_set",
]

_LOCK = threading.Lock()
_PROCESS_TRACKING: set[str] = set()
_PROCESS_ENDPOINTS: set[str] = set()
_ENDPOINT_VARS = ("MODELGAP_ENDPOINT_TOKEN", "MODELGAP_ENDPOINT_USERNAME", "MODELGAP_ENDPOINT_PASSWORD")
_MLFLOW_VARS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def allow_in_this_process(*, tracking_uri: str | None = None, endpoints: tuple[str, ...] = ()) -> None:
    """The CLI's user named these targets on the command line: their credentials may go there."""
    with _LOCK:
        if tracking_uri:
            _PROCESS_TRACKING.add(tracking_uri)
        _PROCESS_ENDPOINTS.update(e for e in endpoints if e)


def mlflow_credentials_set() -> bool:
    return any(os.environ.get(v) for v in _MLFLOW_VARS)


def endpoint_credentials_set() -> bool:
    return any(os.environ.get(v) for v in _ENDPOINT_VARS)


def _is_http(uri: str) -> bool:
    return urlsplit(uri.strip()).scheme in ("http", "https")


def check_mlflow_destination(uri: str) -> None:
    """Refuse to talk to an HTTP tracking server that the server's MLflow credentials were not configured for."""
    if not _is_http(uri) or not mlflow_credentials_set():
        return
    with _LOCK:
        configured = [os.environ.get("MLFLOW_TRACKING_URI", ""), *env_list(TRUSTED_TRACKING_URIS_ENV)]
        configured += sorted(_PROCESS_TRACKING)
    if tracking_uri_allowed(uri, configured):
        return
    raise TrackingServerError(
        f"MLflow credentials are set here, and modelgap sends them only to the tracking servers they were "
        f"configured for; {redact_uri(uri)} is not one of them.",
        f"Set MLFLOW_TRACKING_URI to it, or add it to {TRUSTED_TRACKING_URIS_ENV}.",
    )


def check_endpoint_destination(url: str) -> None:
    """Refuse to send the endpoint credentials to an endpoint they were not configured for."""
    if not endpoint_credentials_set():
        return
    with _LOCK:
        configured = [*env_list(ALLOWED_ENDPOINTS_ENV), *sorted(_PROCESS_ENDPOINTS)]
    if endpoint_allowed(url, configured):
        return
    raise EndpointError(
        f"Endpoint credentials are set here, and modelgap sends them only to the endpoints in "
        f"{ALLOWED_ENDPOINTS_ENV}; {redact_uri(url)} is not one of them.",
        f"Add it to {ALLOWED_ENDPOINTS_ENV}.",
    )
