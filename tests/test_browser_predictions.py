"""The Predictions page in headless Chromium: select a row in the top-rows table, see its drill-down, follow the
link to that row's explanations.

The expected first row of the table is computed independently: the sample row where the natively loaded
pipelines' positive-class probabilities differ most. The table is a glide data grid drawn on a canvas; its
accessible copy (a hidden table of the same cells, each with a test id) is how the test finds the first row's cell,
and the grid's own keyboard shortcut (Shift+Space selects the focused cell's row) selects it: no pixel offsets.
Waits are for content, never sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from browsing import (
    FIRST_LOAD_MS,
    STEP_MS,
    chromium_page,
    full_shot,
    metric_value,
    settled,
)
from playwright.sync_api import expect
from servers import RunningServer

pytestmark = pytest.mark.browser

FIRST_ROW_CELL = "glide-cell-1-0"  # the grid's accessible copy: column 1 (Row; 0 is the row marker), data row 0


@pytest.fixture(scope="module")
def app_server(demo_server: RunningServer) -> RunningServer:
    """The session's demo app (tests/browsing.py): each test opens its own browser context on it."""
    return demo_server


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with chromium_page() as page:
        yield page


def most_changed_row(demo: Any) -> tuple[int, str, str]:
    """(row, repo label, deployed label) of the row whose class-1 probability moved most between the pipelines."""
    import mlflow.sklearn

    from modelgap.sources.tracking import using_uri

    with using_uri(demo.tracking_uri):
        repo = mlflow.sklearn.load_model(str(demo.repo_model_dir))
        deployed = mlflow.sklearn.load_model(demo.deployed_source)
    X = pd.read_csv(demo.sample_path)
    xr, xd = X[list(repo.feature_names_in_)], X[list(deployed.feature_names_in_)]
    gap = np.abs(repo.predict_proba(xr)[:, 1] - deployed.predict_proba(xd)[:, 1])
    row = int(np.argmax(gap))  # the first of any ties, as the table orders them
    return row, str(repo.predict(xr.iloc[[row]])[0]), str(deployed.predict(xd.iloc[[row]])[0])


def test_selecting_a_row_drills_down_and_links_to_its_explanations(
    app_server: RunningServer, page: Any, demo_workspace: Any, artifacts_dir: Path
) -> None:
    row, repo_label, deployed_label = most_changed_row(demo_workspace)
    page.goto(f"{app_server.url}/predictions")
    expect(page.locator("h1").filter(has_text="Predictions")).to_be_visible(timeout=FIRST_LOAD_MS)
    grid = page.locator('.st-key-modelgap-predictions-top_rows [data-testid="stDataFrame"]')
    expect(grid.locator("canvas").first).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(page)
    assert "row=" not in page.url
    full_shot(page, artifacts_dir / "app-predictions-full.png")

    first = grid.get_by_test_id(FIRST_ROW_CELL)
    expect(first).to_have_text(str(row))  # the row that changed most comes first
    first.focus()  # the grid's current cell
    page.keyboard.press("Shift+Space")  # glide's shortcut: select the current cell's row, as a click on its checkbox
    expect(page).to_have_url(re.compile(rf"[?&]row={row}(&|$)"), timeout=STEP_MS)
    heading = page.get_by_role("heading", name=f"Row {row}")
    expect(heading).to_be_visible(timeout=STEP_MS)
    expect(metric_value(page, "Repo model predicts")).to_have_text(repo_label)
    expect(metric_value(page, "Deployed model predicts")).to_have_text(deployed_label)
    expect(page.locator(".st-key-modelgap-widget-predictions-row input")).to_have_value(str(row))
    settled(page)
    assert not page.locator('[data-testid="stException"]').count()
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(artifacts_dir / "app-predictions-drill-down.png"))

    page.get_by_role("link", name=re.compile(rf"Explain row {row} ")).click()
    expect(page.locator("h1").filter(has_text="Explanations")).to_be_visible(timeout=STEP_MS)
    expect(page).to_have_url(re.compile(rf"/explanations\?.*\brow={row}(&|$)"))
    picker = page.locator(".st-key-modelgap-explanations-row_pick input")
    expect(picker).to_have_value(re.compile(rf"^Row {row}\b"), timeout=STEP_MS)
    expect(page.get_by_text(re.compile(rf"On row {row} the repo model's"))).to_be_visible(timeout=STEP_MS)
    settled(page)
    assert not page.locator('[data-testid="stException"]').count()
