"""Scoring endpoints for tests: two real `mlflow models serve` processes and a tiny misbehaving HTTP server.

`served` (session scope, shared by test_endpoint.py and test_parity.py): model A (a pipeline, served the
MLflow default way: labels) and model B (another pipeline, logged with pyfunc_predict_fn="predict_proba":
probabilities), both started at once. `faulty`: a real http.server in a thread whose answers per path
prefix are chosen by the test (500 with a huge HTML body, 400 echoing the payload, non-JSON, slow, ...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import SKOPS_TRUSTED, fitted, save_mlflow
from servers import RunningServer, start_model_server


@dataclass
class Served:
    model_a: Any
    model_b: Any
    X: pd.DataFrame  # data both were trained on (features only)
    dir_a: Path
    dir_b: Path
    server_a: RunningServer  # labels
    server_b: RunningServer  # probabilities

    @property
    def url_a(self) -> str:
        return self.server_a.url + "/invocations"

    @property
    def url_b(self) -> str:
        return self.server_b.url + "/invocations"


def save_proba_model(model: Any, path: Path, X: pd.DataFrame) -> Path:
    """An sklearn MLflow model whose pyfunc (and so its scoring server) returns predict_proba."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=infer_signature(X, model.predict_proba(X)),
        pip_requirements=["scikit-learn"],
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED,
        pyfunc_predict_fn="predict_proba",
    )
    return path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("served")
    model_a, X, _ = fitted("pipeline")
    model_b, _, _ = fitted("pipeline", model__n_estimators=8, model__max_depth=2, model__learning_rate=0.3)
    dir_a = save_mlflow(model_a, work / "model-a", X)
    dir_b = save_proba_model(model_b, work / "model-b", X)
    with ThreadPoolExecutor(2) as pool:  # ~7 s each to start: start both at once
        futures = [
            pool.submit(start_model_server, str(dir_a), work / "serve-a"),
            pool.submit(start_model_server, str(dir_b), work / "serve-b"),
        ]
    servers = [f.result() for f in futures if f.exception() is None]
    if len(servers) < 2:
        for s in servers:
            s.stop()
        raise next(f.exception() for f in futures if f.exception() is not None)  # type: ignore[misc]
    try:
        yield Served(model_a, model_b, X, dir_a, dir_b, servers[0], servers[1])
    finally:
        for s in servers:
            s.stop()


# ---------------------------------------------------------------- a real HTTP server that answers badly

Reply = tuple[int, str, bytes]  # status, content type, body
Behaviour = Callable[[pd.DataFrame, "FaultyServer"], Reply]


@dataclass
class FaultyServer:
    """http.server on 127.0.0.1 in a thread; `behaviours[mode]` answers POST /<mode>/invocations."""

    httpd: ThreadingHTTPServer
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)  # frees handlers that hold an answer back
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, mode: str) -> str:
        return f"{self.base}/{mode}/invocations"

    def seen(self, mode: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["mode"] == mode]


def json_reply(status: int, payload: Any) -> Reply:
    return status, "application/json", json.dumps(payload).encode()


def _handler(server: FaultyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _mode(self) -> tuple[str, str]:
            parts = self.path.strip("/").split("/")
            return (parts[0], parts[-1]) if len(parts) >= 2 else ("", parts[0])

        def _send(self, reply: Reply) -> None:
            status, ctype, body = reply
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

        def do_GET(self) -> None:
            _, leaf = self._mode()
            if leaf in ("ping", "version"):
                self._send((200, "application/json", b"\n" if leaf == "ping" else b"0.0-test"))
            else:
                self._send((404, "text/plain", b"not found"))

        def do_POST(self) -> None:
            mode, leaf = self._mode()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with server.lock:
                server.requests.append({"mode": mode, "auth": self.headers.get("Authorization"), "bytes": len(body)})
            behaviour = server.behaviours.get(mode)
            if leaf != "invocations" or behaviour is None:
                self._send((404, "text/plain", b"not found"))
                return
            split = json.loads(body)["dataframe_split"]
            frame = pd.DataFrame(split["data"], columns=split["columns"])
            self._send(behaviour(frame, server))

    return Handler


@pytest.fixture(scope="module")
def faulty() -> Iterator[FaultyServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server = FaultyServer(httpd)
    httpd.RequestHandlerClass = _handler(server)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def labels_of(model: Any) -> Behaviour:
    """A well-behaved answer: the real model's labels for the rows sent."""

    def answer(frame: pd.DataFrame, _server: FaultyServer) -> Reply:
        return json_reply(200, {"predictions": np.asarray(model.predict(frame)).tolist()})

    return answer
