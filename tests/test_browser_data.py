"""The Data page of the demo in a real browser (headless Debian Chromium, Playwright): lineage and drift table.

Waits are for content (Playwright's `expect`), never sleeps; a full-page screenshot goes to the artifacts folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import FIRST_LOAD_MS, STEP_MS, VIEWPORT, chromium_page
from playwright.sync_api import expect
from servers import RunningServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_server(demo_server: RunningServer) -> RunningServer:
    """The session's demo app (tests/browsing.py): each test opens its own browser context on it."""
    return demo_server


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with chromium_page() as page:
        yield page


def test_demo_data_page_shows_lineage_and_the_drift_table(
    app_server: RunningServer, page: Any, demo_workspace: Any, artifacts_dir: Path
) -> None:
    page.goto(f"{app_server.url}/data")
    expect(page.locator("h1").filter(has_text="Data")).to_be_visible(timeout=FIRST_LOAD_MS)
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("credit-applications-2025-q4", timeout=STEP_MS)  # deployed: MLflow input
    expect(main).to_contain_text("data/train_2026-q2.csv")  # repo: the .dvc file next to the model
    expect(main).to_contain_text("different snapshots of the same source")
    tables = page.locator('[data-testid="stTable"]:visible')  # static tables (components/plain_table)
    expect(tables.first).to_be_visible(timeout=STEP_MS)
    tables.first.locator("table").wait_for(state="attached", timeout=STEP_MS)
    headers = " ".join(tables.evaluate_all("els => els.map(e => e.textContent)"))
    assert "Wasserstein" in headers and "Missing-rate change" in headers  # the drift table's columns
    assert "recent_inquiries" in headers
    # the column's histogram, drawn once its section is opened (closed, it sends nothing); its title wraps on a
    # narrow chart, and the lines' text joins without a space
    chart = page.locator(".js-plotly-plot").filter(has_text=re.compile(r"vs deployed\s*training data"))
    expect(chart).to_have_count(0)
    page.get_by_text("Chart: one column's values in the two datasets").click()
    expect(chart.first).to_be_visible(timeout=STEP_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=STEP_MS)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden", timeout=STEP_MS)
    assert not page.locator('[data-testid="stException"]').count()
    # Streamlit scrolls inside its main container, not the document: grow the viewport to the content first.
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height) + 80, 10_000)})
    expect(chart.first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "app-data-page.png"), full_page=True)
