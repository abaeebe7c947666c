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

from browsing import browser, demo_server  # noqa: E402,F401 - headless Chromium and the demo app, for browser tests
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
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo workspace `make test` built; built afresh in a temp dir when it is missing."""
    from modelgap.demo import DEFAULT_DEMO_DIR, build_demo, load_demo

    ws = load_demo(DEFAULT_DEMO_DIR)
    if ws is None:
        ws = build_demo(tmp_path_factory.mktemp("demo") / "demo")
    return ws


# `make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`), with the groups made here: each
# module is one group, so a module runs whole on one worker and its module fixtures (servers, AppTests) are made
# once; the modules that share a costly session fixture form one group, so that it is made once too: one JVM for
# the Spark modules, one demo app server for the browser tests that use `demo_server`. (xdist's own loadgroup reads
# `xdist_group` marks by rewriting node ids, which pytest 9 no longer allows; the scheduler below groups by module
# path.) The workers share no files: each has its own temp folder and its own session fixtures on free ports.
SHARED_FIXTURES = {"spark": "spark", "demo_server": "demo-server"}  # fixture -> the group of the modules using it
DEMO_SERVER_MODULES = ("data", "explanations", "layout", "predictions", "report")


def group_of(module: str) -> str:
    """The xdist group of a test module, from its path as in a node id (tests/test_x.py)."""
    name = Path(module).stem
    if name.startswith("test_spark") or name == "test_app_spark":
        return "spark"
    if name in {f"test_browser_{m}" for m in DEMO_SERVER_MODULES}:
        return "demo-server"
    return module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fails the run when a module uses a shared fixture but is not in its group (then edit group_of)."""
    for item in items:
        for fixture, group in SHARED_FIXTURES.items():
            module = item.nodeid.split("::", 1)[0]
            if fixture in getattr(item, "fixturenames", ()) and group_of(module) != group:
                raise pytest.UsageError(f"{module} uses `{fixture}`: add it to the {group!r} group in conftest.py")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid.split("::", 1)[0])

    return ModuleGroups(config, log)
