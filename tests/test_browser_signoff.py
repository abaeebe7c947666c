"""Sign-off in headless Chromium, behind a trusted identity header: `streamlit run app.py` with
MODELGAP_TRUSTED_USER_HEADER=X-Forwarded-User, and a browser context that sends that header on every request
(as an authenticating proxy would; Chromium also sends it on the app's WebSocket handshake, which is where
Streamlit reads `st.context.headers`). The reviewer picks a decision and a comment, presses the button, and
the history shows the sign-off; the tag is checked on the real MLflow server. Without the header the form
explains how to enable identity. Waits are for content, never sleeps; screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browsing import APP, FIRST_LOAD_MS, STEP_MS, VIEWPORT, full_shot, settled
from factories import fitted, log_registered
from playwright.sync_api import expect
from servers import RunningServer, server_env, start_streamlit
from test_browser import choose

from modelgap.signoff.record import TAG_PREFIX

pytestmark = [pytest.mark.browser, pytest.mark.server]

NAME = "browser-signoff-credit"
HEADER = "X-Forwarded-User"
REVIEWER = "dana@example.com"


@dataclass
class Store:
    uri: str
    data: Path


@pytest.fixture(scope="module")
def store(mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Store:
    from mlflow.tracking import MlflowClient

    uri = mlflow_server.url
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
    log_registered(deployed, X, NAME, uri)
    log_registered(repo, X, NAME, uri)
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(NAME, "champion", "1")
    client.set_registered_model_alias(NAME, "candidate", "2")
    work = tmp_path_factory.mktemp("browser-signoff")
    X.assign(y=y).to_csv(work / "sample.csv", index=False)
    return Store(uri=uri, data=work / "sample.csv")


@pytest.fixture(scope="module")
def app_server(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    work = tmp_path_factory.mktemp("streamlit-signoff")
    env = server_env(
        MODELGAP_TRUSTED_USER_HEADER=HEADER,
        MODELGAP_DEMO_DIR=str(work / "no-demo"),
        MODELGAP_ALLOWED_DIRS=str(store.data.parent),
        MODELGAP_TRUSTED_TRACKING_URIS=store.uri,
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        env.pop(name, None)
    server = start_streamlit(APP, work, env=env)
    try:
        yield server
    finally:
        server.stop()


def report_url(server: RunningServer, store: Store) -> str:
    query = {
        "repo": f"models:/{NAME}@candidate",
        "deployed": f"models:/{NAME}@champion",
        "uri": store.uri,
        "data": str(store.data),
        "target": "y",
        "shap": "0",
    }
    return f"{server.url}/report?{urlencode(query)}"


def signoff_tags(uri: str, version: str) -> dict[str, dict[str, Any]]:
    from mlflow.tracking import MlflowClient

    tags = MlflowClient(uri, uri).get_model_version(NAME, version).tags
    return {k: json.loads(v) for k, v in tags.items() if k.startswith(TAG_PREFIX)}


def test_behind_a_trusted_header_the_form_records_a_sign_off_and_the_history_shows_it(
    app_server: RunningServer, store: Store, browser: Any, artifacts_dir: Path
) -> None:
    before = signoff_tags(store.uri, "2")
    context = browser.new_context(viewport=VIEWPORT, extra_http_headers={HEADER: REVIEWER})
    try:
        page = context.new_page()
        page.goto(report_url(app_server, store))
        expect(page.locator("h1").filter(has_text="Report")).to_be_visible(timeout=FIRST_LOAD_MS)
        signing_as = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Signing as")
        expect(signing_as).to_contain_text(f"Signing as {REVIEWER} (from the header)", timeout=STEP_MS)
        settled(page)

        choose(page, "modelgap.signoff.decision", re.compile("^Approve$"))
        page.locator(".st-key-modelgap-signoff-role input").fill("release manager")
        page.locator(".st-key-modelgap-signoff-comment textarea").fill("Reviewed in the release meeting.")
        page.locator(".st-key-modelgap-signoff-submit").get_by_role("button", name="Record sign-off").click()

        expect(page.get_by_text(f"Recorded Approve by {REVIEWER}")).to_be_visible(timeout=STEP_MS)
        row = page.locator('.mg-signoff-history tr[data-kind="signoff"]').first
        expect(row).to_have_attribute("data-decision", "approve")
        expect(row).to_have_attribute("data-status", "current")
        expect(row).to_contain_text(f"{REVIEWER} (release manager)")
        expect(row).to_contain_text("Reviewed in the release meeting.")
        settled(page)
        page.locator(".mg-signoff-history").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "app-signoff.png"))
        full_shot(page, artifacts_dir / "app-signoff-report-page.png")

        added = {k: v for k, v in signoff_tags(store.uri, "2").items() if k not in before}
        assert len(added) == 1
        ((key, record),) = added.items()
        assert row.get_attribute("data-key") == key
        assert (record["reviewer"], record["role"], record["decision"]) == (REVIEWER, "release manager", "approve")
        assert signoff_tags(store.uri, "1") == {}  # never the deployed version
    finally:
        context.close()


def test_without_the_header_the_form_explains_how_to_enable_identity(
    app_server: RunningServer, store: Store, browser: Any
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(report_url(app_server, store))
        notice = page.locator('[data-testid="stAlert"]').filter(has_text=f"The {HEADER} header was not in this request")
        expect(notice).to_be_visible(timeout=FIRST_LOAD_MS)
        expect(notice).to_contain_text("MODELGAP_TRUSTED_USER_HEADER")
        expect(page.get_by_role("button", name="Record sign-off")).to_be_disabled()
    finally:
        context.close()
