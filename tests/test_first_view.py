"""The first view on a cold server (issue 18, target 1): the Overview is drawn from the result cache without
loading the models and without waiting for MLflow; the sidebar's pickers and the sign-off line fill in when the
background warm-up has readied MLflow (components/warmup.py), with the same lists and errors as before.

Each check runs the app (AppTest) in a fresh interpreter, cold as a restarted server is: this test process has
imported scikit-learn and MLflow long ago. `MODELGAP_DEFER_REGISTRY=1` makes the AppTest session behave as a
browser session does (AppTest has no browser to send the later rerun to, so by default it waits).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from servers import free_port

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300

_COLD_APP = """
import json, sys
from streamlit.testing.v1 import AppTest
from components import warmup

def sidebar_text(at):
    return [str(c.value) for c in at.sidebar.caption]

at = AppTest.from_file("app.py", default_timeout=240).run()
first = {
    "exceptions": [str(e.value) for e in at.exception],
    "metrics": {m.label: m.value for m in at.metric},
    "sidebar": sidebar_text(at),
    "selectboxes": [s.key for s in at.selectbox],
    "errors": [str(e.value) for e in at.error],
    "sklearn": "sklearn" in sys.modules,
}
at.run()  # a second run: the browser has the page (the watcher's tick does the same), the warm-up starts
second_sidebar = sidebar_text(at)
ready = warmup.wait(240)
at.run()
uri = sys.argv[1] if len(sys.argv) > 1 else None
if uri:
    at.selectbox(key="modelgap.pick.uri").set_value(uri).run()
then = {
    "exceptions": [str(e.value) for e in at.exception],
    "metrics": {m.label: m.value for m in at.metric},
    "sidebar": sidebar_text(at),
    "selectboxes": [s.key for s in at.selectbox],
    "ref": at.selectbox(key="modelgap.pick.deployed.ref").value if not uri else None,
    "ref_options": at.selectbox(key="modelgap.pick.deployed.ref").options if not uri else None,
    "errors": [str(e.value) for e in at.error],
    "sklearn": "sklearn" in sys.modules,
}
print(json.dumps({"ready": ready, "first": first, "second_sidebar": second_sidebar, "then": then}))
"""


@pytest.fixture(scope="module")
def filled_cache(demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A result cache that `make demo`'s step filled (in its own process, as make runs it)."""
    cache = tmp_path_factory.mktemp("first-view-cache")
    code = f"from modelgap.demo import warm_cache; assert warm_cache({str(demo_workspace.directory)!r}, say=print)"
    env = {**os.environ, "MODELGAP_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, timeout=TIMEOUT)
    return cache


def cold_app(demo: Any, cache: Path, *args: str, **env: str) -> dict[str, Any]:
    run_env = {
        **os.environ,
        "MODELGAP_DEMO_DIR": str(demo.directory),
        "MODELGAP_CACHE_DIR": str(cache),
        "MODELGAP_DEFER_REGISTRY": "1",
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        run_env.pop(name, None)
    if "MODELGAP_TRUSTED_TRACKING_URIS" not in env:
        run_env.pop("MODELGAP_TRUSTED_TRACKING_URIS", None)
    done = subprocess.run(
        [sys.executable, "-c", _COLD_APP, *args],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_the_overview_is_drawn_from_the_cache_without_the_models_and_the_pickers_fill_in_later(
    demo_workspace: Any, filled_cache: Path
) -> None:
    out = cold_app(demo_workspace, filled_cache)
    first, then = out["first"], out["then"]
    assert first["exceptions"] == [] and then["exceptions"] == []
    assert first["metrics"]["Settings changed"].isdigit()  # every Overview card is there in the first run
    assert "Importance order agreement" in first["metrics"]
    assert first["sklearn"] is False  # drawn from the stored numbers: no model was unpickled
    assert "Reading the registry's lists…" in first["sidebar"]  # the first run did not wait for MLflow
    assert "modelgap.pick.deployed.ref" not in first["selectboxes"]
    assert "Reading the registry's lists…" in out["second_sidebar"]  # still not waiting for MLflow
    assert out["ready"] is True
    assert "Reading the registry's lists…" not in then["sidebar"]
    assert then["ref"] == "@champion"  # the demo's deployed side, as the URL says
    assert any(o.startswith("@challenger") for o in then["ref_options"]) and any(
        o.startswith("v1 ") for o in then["ref_options"]
    )  # the registry's aliases and versions, listed
    assert then["metrics"] == first["metrics"]
    assert then["sklearn"] is False  # listing the registry loads no model either


def test_an_unreachable_registry_still_shows_its_error_after_the_warm_up(
    demo_workspace: Any, filled_cache: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    out = cold_app(
        demo_workspace,
        filled_cache,
        dead,
        MODELGAP_TRUSTED_TRACKING_URIS=f"{demo_workspace.tracking_uri},{dead}",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
    )
    first, then = out["first"], out["then"]
    assert first["exceptions"] == [] and first["errors"] == []
    assert "Reading the registry's lists…" in first["sidebar"]
    assert then["exceptions"] == []
    assert len(then["errors"]) == 1, then["errors"]
    assert "Cannot reach" in then["errors"][0] and "Choose another tracking URI above" in then["errors"][0]
    assert "modelgap.pick.deployed.kind" in then["selectboxes"]  # the pickers are there, the registry's are not
    assert "modelgap.pick.deployed.ref" not in then["selectboxes"]


def _maps_pandas(pid: int, seconds: float) -> bool:
    """Has process `pid` loaded pandas' compiled libraries within `seconds`? (/proc/PID/maps lists every
    shared object a process has mapped: what it has imported, seen from outside.)"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "pandas/_libs" in Path(f"/proc/{pid}/maps").read_text():
            return True
        time.sleep(0.1)
    return False


def test_make_run_imports_the_first_views_code_before_a_browser_connects(demo_workspace: Any) -> None:
    """`make run` starts serve.py, whose head start imports pandas and the Overview's components while the
    browser loads Streamlit's JavaScript; `streamlit run app.py` imports nothing until a session runs."""
    from servers import server_env, start_server

    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "serve.py" in recipe
    env = server_env(MODELGAP_DEMO_DIR=str(demo_workspace.directory))
    seen = {}
    for name, launch in (("serve.py", [str(ROOT / "serve.py")]), ("streamlit run", ["-m", "streamlit", "run"])):
        port = free_port()
        app = [] if name == "serve.py" else [str(ROOT / "app.py")]
        cmd = [sys.executable, *launch, *app, "--server.port", str(port), "--server.headless", "true"]
        server = start_server(
            cmd, f"http://127.0.0.1:{port}", "/_stcore/health", Path(tempfile.mkdtemp()) / "log", env=env
        )
        try:
            seen[name] = _maps_pandas(server.process.pid, 20.0 if name == "serve.py" else 3.0)
            assert requests.get(server.url, timeout=10).status_code == 200
        finally:
            server.stop()
    assert seen == {"serve.py": True, "streamlit run": False}
