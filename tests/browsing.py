"""What every browser test shares: the demo app on a free port, Debian's Chromium, waits and screenshots.

The browser tests of the demo's pages share one server for the session (`demo_server`): each opens its own
browser context, so they share only what users of one server share (the cached comparison). test_browser.py starts
its own, fresh server through `demo_app` (a fresh server's first request is a case worth testing), as do the modules
that need other operator settings. Waits are for content and for Streamlit's running indicator, never sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from servers import RunningServer, server_env, start_streamlit

APP = Path(__file__).resolve().parent.parent / "app.py"
CHROMIUM = "/usr/bin/chromium"  # Debian's package: browsers cannot be downloaded on these machines
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1920, "height": 1080}  # a projector
FIRST_LOAD_MS = 180_000  # the first request loads both models, predicts and explains 1000 rows with SHAP
STEP_MS = 60_000


@contextmanager
def demo_app(demo: Any, workdir: Path) -> Iterator[RunningServer]:
    """`streamlit run app.py` on the demo workspace, with no operator settings leaking in from the caller."""
    env = server_env(MODELGAP_DEMO_DIR=str(demo.directory), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        env.pop(name, None)
    server = start_streamlit(APP, workdir, env=env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo_server(demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One `streamlit run app.py` on the demo for the browser tests of its pages: started once, stopped by PID."""
    with demo_app(demo_workspace, tmp_path_factory.mktemp("streamlit-demo")) as server:
        yield server


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def settled(page: Any, timeout: int = STEP_MS) -> None:
    """The script run finished and the running indicator is gone."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden", timeout=timeout)


def full_shot(page: Any, path: Path) -> None:
    """Streamlit scrolls inside its main block: grow the viewport to the content's height, then shoot."""
    height = page.evaluate(
        "() => Math.max(...['[data-testid=\"stMain\"]', '[data-testid=\"stAppViewContainer\"]']"
        ".map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], int(height))})
    try:
        settled(page)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(VIEWPORT)


def metric_value(page: Any, label: str) -> Any:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return card.locator('[data-testid="stMetricValue"]')


@contextmanager
def chromium_page() -> Iterator[Any]:
    """One headless Chromium with one projector-sized page, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser.new_context(viewport=VIEWPORT).new_page()
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), one per test module that asks for it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()
