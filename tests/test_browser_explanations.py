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


@pytest.fixture(scope="module")
def app_server(demo_server: RunningServer) -> RunningServer:
    """The session's demo app (tests/browsing.py): each test opens its own browser context on it."""
    return demo_server


@pytest.fixture(scope="module")
def page(demo_workspace: Any) -> Iterator[Any]:
    with chromium_page() as page:
        yield page


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
