"""The Explanations page in headless Chromium: a link with `?row=` opens that row's explanations.

The row is picked independently of the app: the sample row where the natively loaded pipelines' predicted
probabilities differ most (their labels differ too), which the section explains first. Waits are for content,
never sleeps; full-page screenshots go to the artifacts folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright
from servers import RunningServer, server_env, start_streamlit

pytestmark = pytest.mark.browser

APP = Path(__file__).resolve().parent.parent / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
VIEWPORT = {"width": 1920, "height": 1080}
FIRST_LOAD_MS = 180_000  # loads both models, predicts and explains 1000 rows with SHAP
STEP_MS = 60_000


@pytest.fixture(scope="module")
def app_server(demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = server_env(MODELGAP_DEMO_DIR=str(demo_workspace.directory), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        env.pop(name, None)
    server = start_streamlit(APP, tmp_path_factory.mktemp("streamlit-explanations"), env=env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(demo_workspace: Any) -> Iterator[Any]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            yield context.new_page()
        finally:
            browser.close()


def most_different_row(demo: Any) -> int:
    """The sample row whose default probability differs most between the two pipelines, labels differing."""
    import mlflow.sklearn

    from modelgap.sources.tracking import using_uri

    with using_uri(demo.tracking_uri):
        repo = mlflow.sklearn.load_model(str(demo.repo_model_dir))
        deployed = mlflow.sklearn.load_model(demo.deployed_source)
    X = pd.read_csv(demo.sample_path)
    p_repo = repo.predict_proba(X[list(repo.feature_names_in_)])[:, 1]
    p_dep = deployed.predict_proba(X[list(deployed.feature_names_in_)])[:, 1]
    differ = repo.predict(X[list(repo.feature_names_in_)]) != deployed.predict(X[list(deployed.feature_names_in_)])
    gap = np.where(differ, np.abs(p_repo - p_dep), -1.0)
    return int(np.argmax(gap))


def settled(page: Any, timeout: int = STEP_MS) -> None:
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


def test_a_link_with_a_row_opens_that_rows_explanations(
    app_server: RunningServer, page: Any, demo_workspace: Any, artifacts_dir: Path
) -> None:
    row = most_different_row(demo_workspace)
    page.goto(f"{app_server.url}/explanations?row={row}")
    expect(page.locator("h1").filter(has_text="Explanations")).to_be_visible(timeout=FIRST_LOAD_MS)
    sentence = page.get_by_text(re.compile(rf"On row {row} the repo model's log-odds of class 1 is"))
    expect(sentence).to_be_visible(timeout=FIRST_LOAD_MS)
    expect(sentence).to_contain_text("mostly because of", timeout=STEP_MS)
    picker = page.locator(".st-key-modelgap-explanations-row_pick input")
    expect(picker).to_have_value(f"Row {row} (the models disagree)", timeout=STEP_MS)
    offer = page.locator(".st-key-modelgap-explanations-explain_row")
    expect(offer).to_have_count(0, timeout=STEP_MS)  # the row is among the explained ones
    expect(metric_value(page, "Importance order agreement")).to_have_text(re.compile(r"^-?\d\.\d{3}$"), timeout=STEP_MS)
    settled(page)
    assert not page.locator('[data-testid="stException"]').count()
    assert f"row={row}" in page.url
    full_shot(page, artifacts_dir / "app-explanations-row.png")
    sentence.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "app-explanations-row-section.png"))


def metric_value(page: Any, label: str) -> Any:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return card.locator('[data-testid="stMetricValue"]')
