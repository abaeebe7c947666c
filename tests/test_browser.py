"""The app in a real browser: headless Debian Chromium (Playwright) against `streamlit run app.py`.

Waits are for content (Playwright's `expect` polls a selector) and for Streamlit's running indicator to go
away, never sleeps. Screenshots of every page go to the artifacts folder for a person to look at.
The shared-link test runs first on purpose: a fresh server's first request is the case where Streamlit
would run a page file without app.py (see components/routing.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from appdata import changed_params, disagreement_rate
from browsing import FIRST_LOAD_MS, STEP_MS, VIEWPORT, demo_app
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from servers import RunningServer

pytestmark = pytest.mark.browser

PAGES = ("Parameters", "Predictions", "Explanations", "Data", "Report")


@pytest.fixture(scope="module")
def app_server(demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with demo_app(demo_workspace, tmp_path_factory.mktemp("streamlit")) as server:
        yield server


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


def settled(page: Any, timeout: int = STEP_MS) -> None:
    """The script run finished (the app says so, the running indicator is gone) and every table has its cells.

    Call it after waiting for something the new run draws: before a rerun starts, the app is idle too."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden", timeout=timeout)
    tables = page.locator('[data-testid="stDataFrame"]')
    for i in range(tables.count()):
        if tables.nth(i).is_visible():
            tables.nth(i).locator("table").wait_for(state="attached", timeout=timeout)


def metric(page: Any, label: str) -> Any:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return card.locator('[data-testid="stMetricValue"]')


def choose(page: Any, widget_key: str, option: re.Pattern[str]) -> None:
    """Pick an option of the selectbox with this key (Streamlit puts `st-key-<key>` on its container).

    A rerun redraws the selectbox and detaches its open list, and the combobox ignores a click that lands while
    its expander is still opening: wait for the run to settle, and open and pick again if either happened."""
    box = page.locator(f".st-key-{re.sub(r'[^a-zA-Z0-9_-]', '-', widget_key)} input")
    options = page.get_by_role("option")
    for _attempt in range(4):
        settled(page)
        box.click()
        try:
            options.first.wait_for(state="visible", timeout=5_000)
            options.filter(has_text=option).first.click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    raise AssertionError(f"could not pick {option.pattern!r} in the selectbox {widget_key!r}")


def shot(page: Any, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"app-{name}.png"))


def link_params(demo: Any, deployed: str) -> str:
    return urlencode(
        {
            "repo": str(demo.repo_model_dir),
            "deployed": deployed,
            "data": str(demo.sample_path),
            "target": demo.target,
            "uri": demo.tracking_uri,
        }
    )


def test_a_shared_link_reproduces_its_view(
    app_server: RunningServer, page: Any, demo_workspace: Any, artifacts_dir: Path
) -> None:
    v1 = f"models:/{demo_workspace.model_name}/1"
    page.goto(f"{app_server.url}/parameters?{link_params(demo_workspace, v1)}")
    expect(page.locator("h1").filter(has_text="Parameters")).to_be_visible(timeout=FIRST_LOAD_MS)
    badge = page.locator('.mg-badge[data-side="deployed"]')
    expect(badge).to_contain_text("v1", timeout=FIRST_LOAD_MS)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text("Overview")  # app.py's router ran
    settled(page)
    shot(page, artifacts_dir, "shared-link-parameters")
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Overview").click()
    expect(metric(page, "Settings changed")).to_have_text(str(changed_params(demo_workspace, v1)), timeout=STEP_MS)
    assert "credit-risk%2F1" in page.url  # the link's state stays in the address after navigating


def test_overview_shows_the_demo_and_every_page_renders(
    app_server: RunningServer, page: Any, demo_workspace: Any, artifacts_dir: Path
) -> None:
    champion = demo_workspace.deployed_source
    page.goto(app_server.url)
    expect(metric(page, "Settings changed")).to_have_text(
        str(changed_params(demo_workspace, champion)), timeout=FIRST_LOAD_MS
    )
    expect(metric(page, "Disagreement rate")).to_have_text(f"{disagreement_rate(demo_workspace, champion) * 100:.2f}%")
    expect(page.locator(".mg-verdict")).to_be_visible()
    settled(page)
    shot(page, artifacts_dir, "overview")
    nav = page.locator('[data-testid="stSidebarNav"] a')
    for name in PAGES:
        nav.filter(has_text=name).click()
        expect(page.locator("h1").filter(has_text=name)).to_be_visible(timeout=STEP_MS)
        settled(page)
        assert not page.locator('[data-testid="stException"]').count(), f"{name} shows an exception"
        assert f"/{name.lower()}?" in page.url and "deployed=models" in page.url
        shot(page, artifacts_dir, name.lower())


def test_picking_another_registry_version_changes_the_numbers(
    app_server: RunningServer, page: Any, demo_workspace: Any, artifacts_dir: Path
) -> None:
    page.goto(app_server.url)
    before = str(changed_params(demo_workspace, demo_workspace.deployed_source))
    expect(metric(page, "Settings changed")).to_have_text(before, timeout=FIRST_LOAD_MS)
    settled(page)
    page.get_by_text("Change the comparison").click()
    choose(page, "modelgap.pick.deployed.ref", re.compile(r"^v3 "))
    expect(page.locator(".st-key-modelgap-pick-deployed-ref input")).to_have_value(re.compile(r"^v3 "))
    settled(page)
    shot(page, artifacts_dir, "pickers")
    page.locator(".st-key-modelgap-pick-apply button").click()
    after = str(changed_params(demo_workspace, f"models:/{demo_workspace.model_name}/3"))
    assert after != before
    expect(metric(page, "Settings changed")).to_have_text(after, timeout=FIRST_LOAD_MS)
    expect(page.locator('.mg-badge[data-side="deployed"]')).to_contain_text("v3")
    settled(page)
    assert "credit-risk%2F3" in page.url
    shot(page, artifacts_dir, "overview-v3")
