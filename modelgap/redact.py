"""Keep credentials out of every message, log line, URL shown and report.

`redact` removes userinfo from URLs, the values of Authorization/Cookie-like headers echoed by a server or
a proxy, bearer and basic tokens, and the literal values of the credential variables modelgap reads.
Every ModelgapError passes its text through it, so no user-facing message can carry a secret.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

__all__ = ["SECRET_ENVS", "log_exception", "redact", "redact_uri", "redact_values"]

SECRET_ENVS = (
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "MODELGAP_ENDPOINT_TOKEN",
    "MODELGAP_ENDPOINT_PASSWORD",
    "DATABRICKS_TOKEN",
)
MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")
_HEADER = re.compile(
    r"(?i)\b(proxy-authorization|authorization|set-cookie|cookie|x-api-key|api[-_]key|x-auth-token)"
    r"(['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n,;}]+)"
)
_SCHEME_TOKEN = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")


def redact_values(obj: Any) -> Any:
    """Every string inside `obj` (dicts, lists) without URL userinfo or the configured secrets' values.

    For reports: header-style patterns are left alone there, since a feature may well be called `api_key`.
    """
    if isinstance(obj, str):
        out = _USERINFO.sub(rf"\1{MASK}@", obj)
        for name in SECRET_ENVS:
            value = os.environ.get(name)
            if value and len(value) >= 4:
                out = out.replace(value, MASK)
        return out
    if isinstance(obj, dict):
        return {redact_values(k): redact_values(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_values(v) for v in obj]
    return obj


def redact_uri(uri: str) -> str:
    """A URI without the `user:password@` part."""
    return _USERINFO.sub(rf"\1{MASK}@", uri)


def redact(text: str) -> str:
    """`text` with every credential we can recognise replaced by ***."""
    if not text:
        return text
    out = _USERINFO.sub(rf"\1{MASK}@", text)
    out = _HEADER.sub(rf"\1\2{MASK}", out)
    out = _SCHEME_TOKEN.sub(rf"\1 {MASK}", out)
    for name in SECRET_ENVS:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            out = out.replace(value, MASK)
    return out


def log_exception(logger: logging.Logger, message: str, *args: object) -> None:
    """`logger.exception`, with the message and the traceback redacted (tracebacks quote URLs and headers)."""
    import traceback

    logger.error("%s\n%s", redact(message % args if args else message), redact(traceback.format_exc()).rstrip())
