"""Talk to an MLflow scoring server: `/ping`, `/version`, and `/invocations` in batches.

Rows go out as `{"dataframe_split": ...}` JSON in batches of `batch_size`, `concurrency` at a time, each
with a timeout and a few retries for answers worth retrying (no connection, timeout, 429/502/503/504).
Every batch's latency is recorded. Failures become one-line EndpointErrors that never echo a payload.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelgap.errors import EndpointError, SourceError
from modelgap.sources.credentials import check_endpoint_destination
from modelgap.sources.http_client import (
    HttpResponse,
    RequestsTransport,
    Transport,
    TransportError,
    auth_headers,
    short_error_text,
    split_credentials,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RECORDS = 10_000  # latency records kept per client (oldest dropped)


@dataclass(frozen=True)
class EndpointSettings:
    """How to call an endpoint. `from_env()` reads MODELGAP_ENDPOINT_{BATCH_SIZE,CONCURRENCY,TIMEOUT,RETRIES}."""

    batch_size: int = 500
    concurrency: int = 4
    timeout: float = 10.0  # seconds per request (and for /ping)
    retries: int = 2  # extra attempts for retryable failures
    backoff: float = 0.25  # seconds before the first retry, doubled each time

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.concurrency < 1 or self.timeout <= 0 or self.retries < 0:
            raise SourceError(
                f"Invalid endpoint settings {self}.",
                "batch size and concurrency must be >= 1, timeout > 0, retries >= 0.",
            )

    @classmethod
    def from_env(cls, **overrides: Any) -> EndpointSettings:
        values: dict[str, Any] = {}
        for name, kind in (("batch_size", int), ("concurrency", int), ("timeout", float), ("retries", int)):
            var = f"MODELGAP_ENDPOINT_{name.upper()}"
            raw = os.environ.get(var)
            if raw is None or not raw.strip():
                continue
            try:
                values[name] = kind(raw)
            except ValueError as exc:
                raise SourceError(f"{var}={raw!r} is not a valid {kind.__name__}.", f"Set {var} to a number.") from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class BatchOutcome:
    """One batch of rows [start, stop): its raw output or its error, latency of the last attempt, attempts made."""

    start: int
    stop: int
    output: np.ndarray | None
    error: EndpointError | None
    seconds: float
    attempts: int

    @property
    def ok(self) -> bool:
        return self.error is None


def endpoint_urls(url: str) -> tuple[str, str, str]:
    """(/invocations, /ping, /version) URLs; a bare `http://host:port` gets `/invocations` appended."""
    base = url.rstrip("/")
    if base.endswith("/invocations"):
        root = base[: -len("/invocations")]
    else:
        root = base
        base = root + "/invocations"
    return base, root + "/ping", root + "/version"


def frame_body(df: pd.DataFrame) -> bytes:
    """The `dataframe_split` JSON of a frame: floats exact (shortest round-trip repr), NaN as null.

    Not `DataFrame.to_json`: it rounds floats to at most 15 digits, which can move a value across a tree's
    split threshold and show a parity difference that the model does not have.
    """
    cells = df.astype(object).where(pd.notna(df), None).to_numpy().tolist()
    payload = {"dataframe_split": {"columns": [str(c) for c in df.columns], "data": cells}}
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def parse_predictions(payload: Any, n_rows: int, where: str) -> np.ndarray:
    """The predictions of an answer as a 1-D array (labels / values) or a 2-D float array (one column per output)."""
    preds = payload.get("predictions", payload.get("outputs")) if isinstance(payload, dict) else payload
    if not isinstance(preds, list):
        keys = ", ".join(list(payload)[:5]) if isinstance(payload, dict) else type(payload).__name__
        raise EndpointError(
            f"{where} answered JSON without a predictions list (got {keys}).",
            "Point at an MLflow scoring server's /invocations URL.",
        )
    if len(preds) != n_rows:
        raise EndpointError(
            f"{where} returned {len(preds)} predictions for {n_rows} rows.",
            "The server must return one prediction per input row.",
        )
    if preds and all(isinstance(p, dict) for p in preds):  # a DataFrame output, as records
        names = list(preds[0])
        preds = [p.get(names[0]) if len(names) == 1 else [p.get(k) for k in names] for p in preds]
    if preds and all(isinstance(p, list) for p in preds):
        try:
            arr = np.asarray(preds, dtype=float)
        except (TypeError, ValueError) as exc:
            raise EndpointError(
                f"{where} returned nested predictions that are not a numeric table.",
                "modelgap compares labels, class probabilities or numeric values.",
            ) from exc
        if arr.ndim != 2:
            raise EndpointError(f"{where} returned predictions with {arr.ndim} dimensions.", "Expected 1 or 2.")
        return arr[:, 0] if arr.shape[1] == 1 else arr
    if any(isinstance(p, (list, dict)) for p in preds):
        raise EndpointError(f"{where} returned predictions of mixed shapes.", "Expected one value or one list per row.")
    if preds and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in preds if p is not None):
        if all(isinstance(p, int) for p in preds):
            return np.asarray(preds, dtype=np.int64)
        return np.asarray([np.nan if p is None else p for p in preds], dtype=float)
    return np.asarray(preds, dtype=object)


class EndpointClient:
    """Calls one scoring endpoint. Thread-safe; the latency of every batch is kept in `records`."""

    def __init__(self, url: str, settings: EndpointSettings | None = None, transport: Transport | None = None) -> None:
        clean, url_credentials = split_credentials(url.strip())
        self.invocations_url, self.ping_url, self.version_url = endpoint_urls(clean)
        self.display_url = self.invocations_url  # credential-free: the only form ever shown
        self.settings = settings or EndpointSettings.from_env()
        self.transport: Transport = transport or RequestsTransport()
        check_endpoint_destination(clean)  # the server's endpoint credentials go only where they were configured
        self._auth = auth_headers(url_credentials)
        self._lock = threading.Lock()
        self.records: deque[BatchOutcome] = deque(maxlen=MAX_RECORDS)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (the Spark engine ships endpoint models to its executors): a new lock on the other side."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ health

    def ping(self) -> None:
        """One GET /ping within the timeout: raise EndpointError naming the reason if the server is not up."""
        try:
            resp = self._send("GET", self.ping_url, None)
        except TransportError as exc:
            raise EndpointError(
                f"The endpoint {self.display_url} is not reachable: {exc.detail}.",
                "Check that the scoring server is running and the URL (host, port, /invocations) is right.",
            ) from exc
        if resp.status in (404, 405):  # it answered, it just has no /ping (a gateway in front, e.g. Databricks)
            return
        if resp.status >= 400:
            raise self._http_error(resp, self.ping_url)

    def version(self) -> str | None:
        """The server's MLflow version from /version, or None when it does not say."""
        try:
            resp = self._send("GET", self.version_url, None)
        except TransportError:
            return None
        text = resp.body[:100].decode("utf-8", errors="replace").strip().strip('"')
        return text if resp.status == 200 and text and len(text) < 40 and " " not in text else None

    # ------------------------------------------------------------------ scoring

    def score(self, df: pd.DataFrame, *, batch_size: int | None = None) -> np.ndarray:
        """Raw predictions for every row of `df`, in order; raise the first EndpointError."""
        outcomes = self.score_batches(df, batch_size=batch_size, strict=True)
        return concat_outputs([o.output for o in outcomes if o.output is not None], self.display_url)

    def score_batches(
        self,
        df: pd.DataFrame,
        *,
        batch_size: int | None = None,
        strict: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[BatchOutcome]:
        """One outcome per batch, in row order. `strict`: stop and raise at the first failed batch."""
        size = batch_size or self.settings.batch_size
        bounds = [(i, min(i + size, len(df))) for i in range(0, len(df), size)]
        if not bounds:
            return []
        done = [0]

        def run(b: tuple[int, int]) -> BatchOutcome:
            outcome = self._score_one(df.iloc[b[0] : b[1]], b[0])
            with self._lock:
                self.records.append(outcome)
                done[0] += 1
                if progress is not None:
                    progress(done[0], len(bounds))
            if strict and outcome.error is not None:
                raise outcome.error
            return outcome

        workers = min(self.settings.concurrency, len(bounds))
        if workers == 1:
            return [run(b) for b in bounds]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modelgap-endpoint") as pool:
            futures = [pool.submit(run, b) for b in bounds]
            try:
                return [f.result() for f in futures]
            except EndpointError:
                for f in futures:
                    f.cancel()
                raise

    def _score_one(self, batch: pd.DataFrame, start: int) -> BatchOutcome:
        body = frame_body(batch)
        attempts, error, seconds = 0, None, 0.0
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(self.settings.backoff * 2 ** (attempt - 1))  # backoff between retries
            attempts += 1
            try:
                resp = self._send("POST", self.invocations_url, body)
            except TransportError as exc:
                seconds = self.settings.timeout if exc.kind == "timeout" else 0.0
                error = EndpointError(
                    f"The endpoint {self.display_url} did not answer rows {start}-{start + len(batch) - 1}: "
                    f"{exc.detail}.",
                    _transport_hint(exc.kind),
                )
                continue
            seconds = resp.seconds
            if resp.status >= 400:
                error = self._http_error(resp, self.invocations_url)
                if resp.status in RETRY_STATUSES:
                    continue
                break
            try:
                output = parse_predictions(_json(resp, self.display_url), len(batch), self.display_url)
            except EndpointError as exc:
                error = exc
                break
            return BatchOutcome(start, start + len(batch), output, None, seconds, attempts)
        return BatchOutcome(start, start + len(batch), None, error, seconds, attempts)

    # ------------------------------------------------------------------ plumbing

    def _send(self, method: str, url: str, body: bytes | None) -> HttpResponse:
        headers = {"Accept": "application/json", **self._auth}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.transport.request(method, url, body=body, headers=headers, timeout=self.settings.timeout)

    def _http_error(self, resp: HttpResponse, url: str) -> EndpointError:
        said = short_error_text(resp.body)
        where = f"The endpoint {self.display_url}"
        if resp.status in (401, 403):
            return EndpointError(
                f"{where} refused the credentials (HTTP {resp.status}).",
                "Set MODELGAP_ENDPOINT_TOKEN (bearer) or MODELGAP_ENDPOINT_USERNAME and MODELGAP_ENDPOINT_PASSWORD.",
            )
        if resp.status == 404:
            return EndpointError(
                f"{where}: {url.rsplit('/', 1)[-1]} not found (HTTP 404).",
                "Point at the /invocations URL of an MLflow scoring server.",
            )
        if 400 <= resp.status < 500:
            return EndpointError(
                f"{where} rejected the input (HTTP {resp.status}): {said}",
                "Check that the data has the columns and types the served model expects (--deployed-meta names them).",
            )
        return EndpointError(
            f"{where} failed (HTTP {resp.status}): {said}", "Check the scoring server's log; retry when it is healthy."
        )


def concat_outputs(outputs: list[np.ndarray], where: str) -> np.ndarray:
    if not outputs:
        return np.asarray([])
    dims = {o.ndim for o in outputs}
    widths = {o.shape[1] for o in outputs if o.ndim == 2}
    if len(dims) > 1 or len(widths) > 1:
        raise EndpointError(f"{where} answered batches with different output shapes.", "Check the served model.")
    if outputs[0].dtype == object or len({o.dtype for o in outputs}) > 1:
        return np.concatenate([o.astype(object) if o.ndim == 1 else o for o in outputs])
    return np.concatenate(outputs)


def _json(resp: HttpResponse, where: str) -> Any:
    try:
        return json.loads(resp.body)
    except ValueError as exc:
        kind = resp.content_type.split(";")[0].strip() or "unknown type"
        raise EndpointError(
            f"{where} answered something that is not JSON ({kind}): {short_error_text(resp.body, limit=120)}",
            "Point at the /invocations URL of an MLflow scoring server (not a proxy's or UI's page).",
        ) from exc


def _transport_hint(kind: str) -> str:
    if kind == "timeout":
        return (
            "The server is slow or overloaded: raise MODELGAP_ENDPOINT_TIMEOUT or lower MODELGAP_ENDPOINT_BATCH_SIZE."
        )
    return "Check that the scoring server is running and reachable."


@dataclass
class LatencyStats:
    """Percentiles of request latencies, in milliseconds."""

    n: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, seconds: list[float]) -> LatencyStats:
        if not seconds:
            return cls()
        ms = np.asarray(seconds, dtype=float) * 1000.0
        p50, p95, p99 = (float(x) for x in np.percentile(ms, [50, 95, 99]))
        return cls(len(ms), p50, p95, p99, float(ms.mean()), float(ms.max()))

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "p50": self.p50, "p95": self.p95, "p99": self.p99, "mean": self.mean, "max": self.max}
