"""A small HTTP layer for scoring endpoints: an injectable transport, credentials, and safe error text.

The transport is a protocol so the endpoint code can run over any HTTP stack (the default wraps
`requests`, one session per thread). Credentials come from the environment and are sent as headers;
they never appear in a URL we show, a message or a log line.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

TOKEN_ENV = "MODELGAP_ENDPOINT_TOKEN"
USERNAME_ENV = "MODELGAP_ENDPOINT_USERNAME"
PASSWORD_ENV = "MODELGAP_ENDPOINT_PASSWORD"
MAX_ERROR_CHARS = 300
MAX_ERROR_BODY_BYTES = 1024 * 1024  # of an error answer, only this much is read (servers echo payloads)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # time from sending the request to the last byte of the answer

    @property
    def content_type(self) -> str:
        for key, value in self.headers.items():
            if key.lower() == "content-type":
                return value
        return ""


class TransportError(Exception):
    """No HTTP answer at all. `kind`: connect, timeout, tls or other; `detail` is short and credential-free."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


class Transport(Protocol):
    """What the endpoint client needs from an HTTP stack; pass your own to test or to add a proxy."""

    def request(
        self, method: str, url: str, *, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse: ...


class RequestsTransport:
    """The default transport: `requests`, one session per thread (sessions are not guaranteed thread-safe)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (the Spark engine ships endpoint models to its executors): sessions are made anew there."""
        return {k: v for k, v in self.__dict__.items() if k != "_local"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.trust_env = True  # proxies from the environment; no .netrc credentials are ever shown
            self._local.session = session
        return session

    def request(
        self, method: str, url: str, *, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse:
        import requests

        start = time.perf_counter()
        try:
            resp = self._session().request(
                method, url, data=body, headers=dict(headers), timeout=(min(timeout, 10.0), timeout), stream=True
            )
            try:
                ok = resp.status_code < 400
                content = resp.content if ok else resp.raw.read(MAX_ERROR_BODY_BYTES, decode_content=True)
            finally:
                resp.close()
        except requests.exceptions.Timeout as exc:
            raise TransportError("timeout", f"no answer within {timeout:g} s") from exc
        except requests.exceptions.SSLError as exc:
            raise TransportError("tls", "TLS/SSL handshake failed") from exc
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                raise TransportError("timeout", f"no answer within {timeout:g} s") from exc
            raise TransportError("connect", connection_problem(str(exc))) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError("other", type(exc).__name__) from exc
        return HttpResponse(resp.status_code, content or b"", dict(resp.headers), time.perf_counter() - start)


def connection_problem(text: str) -> str:
    """A few words for why a connection failed, from a library's long message (which may hold the URL)."""
    low = text.lower()
    if "refused" in low:
        return "connection refused (nothing listens there)"
    if "name or service not known" in low or "nodename nor servname" in low or "getaddrinfo" in low:
        return "host name not found"
    if "reset by peer" in low or "remotedisconnected" in low or "aborted" in low:
        return "the server closed the connection"
    if "network is unreachable" in low or "no route to host" in low:
        return "network unreachable"
    return "cannot connect"


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without `user:password@`, and those credentials if it had them."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (parts.username or "", parts.password or "")


def auth_headers(url_credentials: tuple[str, str] | None = None) -> dict[str, str]:
    """Authorization from MODELGAP_ENDPOINT_TOKEN (bearer), else username/password (basic), else the URL's."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    if user is not None or password is not None:
        pair: tuple[str, str] | None = (user or "", password or "")
    else:
        pair = url_credentials
    if pair is None:
        return {}
    raw = f"{pair[0]}:{pair[1]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,500}>")
_LONG_QUOTED = re.compile(r"'[^']{80,}(?:'|$)|\"[^\"]{80,}(?:\"|$)")  # also one cut off at the end


def short_error_text(body: bytes, *, limit: int = MAX_ERROR_CHARS) -> str:
    """What a server said when it failed, in one short line: no HTML, no echoed payload, no stack trace.

    MLflow's scoring server echoes the whole input frame (`Failed to predict data '...'. Error: ...`):
    the last `Error:` clause is the reason, and any long quoted text is elided.
    """
    text = body[:MAX_ERROR_BODY_BYTES].decode("utf-8", errors="replace")
    code, message = _json_message(text)
    if message is None and text.lstrip().startswith("{"):
        code, message = _cut_json_message(text)
    if message is None:
        message = html.unescape(_TAG.sub(" ", _SCRIPT_STYLE.sub(" ", text)))
    message = _REASON.split(message)[-1]
    message = " ".join(_LONG_QUOTED.sub("'...'", message).split())
    if code:
        message = f"{code}: {message}"
    if len(message) > limit:
        message = message[: limit - 3].rstrip() + "..."
    return message or "(empty answer)"


_CODE = re.compile(r'"error_code"\s*:\s*"([A-Z_]{1,60})"')
_MESSAGE_START = re.compile(r'"message"\s*:\s*"')
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*')
_REASON = re.compile(r"(?<![A-Za-z])Error: ")  # MLflow's "... '<payload>'. Error: <reason>", not "KeyError: "


def _cut_json_message(text: str) -> tuple[str | None, str | None]:
    """(code, message) from a JSON error body cut at the read limit; the message is whatever of it was read."""
    code = _CODE.search(text[:4096])
    start = _MESSAGE_START.search(text)
    if start is None:
        return (code.group(1) if code else None), None
    body = _STRING_BODY.match(text, start.end())
    raw = body.group(0) if body else ""
    try:
        message = json.loads(f'"{raw}"')
    except ValueError:
        message = raw
    return (code.group(1) if code else None), str(message)


def _json_message(text: str) -> tuple[str | None, str | None]:
    """(error code, message) of a JSON error body; (None, None) when the body is not JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, None
    if isinstance(data, str):
        return None, data
    if not isinstance(data, dict):
        return None, text
    code = data.get("error_code")
    code = code if isinstance(code, str) and code else None
    for key in ("message", "error", "detail", "error_message"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return code, value
        if isinstance(value, (dict, list)):
            return code, json.dumps(value)
    return code, text
