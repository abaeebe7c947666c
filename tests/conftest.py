"""Shared fixtures: real MLflow servers, the demo workspace, small real models, an artifacts folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browsing import browser  # noqa: E402,F401 - headless Chromium, shared by the browser tests
from endpoint_servers import faulty, served  # noqa: E402,F401 - shared by test_endpoint.py and test_parity.py
from servers import RunningServer, start_mlflow_server  # noqa: E402

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save screenshots and reports for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real `mlflow server` (sqlite store, one worker) on a free loopback port, stopped by PID."""
    server = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] Spark session for every Spark test module: a JVM start costs ~10 s, so it is made once."""
    pytest.importorskip("pyspark")
    from modelgap.spark.session import get_session

    session = get_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo workspace `make test` built; built afresh in a temp dir when it is missing."""
    from modelgap.demo import DEFAULT_DEMO_DIR, build_demo, load_demo

    ws = load_demo(DEFAULT_DEMO_DIR)
    if ws is None:
        ws = build_demo(tmp_path_factory.mktemp("demo") / "demo")
    return ws
