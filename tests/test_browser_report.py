"""The demo's Report page in headless Chromium: download the HTML report, then open the saved file with the
network blocked and check that the verdict and the plotly charts render offline. Screenshots of both go to the
artifacts folder. Waits are for content (Playwright's `expect`), never sleeps."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from browsing import FIRST_LOAD_MS, STEP_MS, VIEWPORT, settled
from playwright.sync_api import expect
from servers import RunningServer

from modelgap.words import VERDICT_WORDS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_server(demo_server: RunningServer) -> RunningServer:
    """The session's demo app (tests/browsing.py): each test opens its own browser context on it."""
    return demo_server


def test_the_downloaded_html_report_opens_offline_with_its_charts(
    app_server: RunningServer, browser: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"{app_server.url}/report")
        expect(page.locator("h1").filter(has_text="Report")).to_be_visible(timeout=FIRST_LOAD_MS)
        verdict = page.locator(".mg-verdict")
        expect(verdict).to_be_visible(timeout=FIRST_LOAD_MS)
        status = verdict.get_attribute("data-status")
        assert status in ("pass", "warn", "fail")
        expect(page.locator("[data-check]").first).to_be_visible()
        settled(page)
        button = page.locator(".st-key-modelgap-report-download-html").get_by_role("button", name="HTML report")
        expect(button).to_be_enabled(timeout=STEP_MS)
        n_checks = page.locator("[data-check]").count()
        assert n_checks > 5
        page.screenshot(path=str(artifacts_dir / "app-report-page.png"), full_page=True)

        with page.expect_download(timeout=STEP_MS) as download:
            button.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        # named after the two models and the day: modelgap_<repo>_vs_<deployed>_<yyyymmdd>.html
        days = {(date.today() - timedelta(days=d)).strftime("%Y%m%d") for d in (0, 1)}
        assert saved.name in {f"modelgap_repo-model_vs_credit-risk-champion_{d}.html" for d in days}, saved.name
        assert saved.stat().st_size > 1_000_000  # plotly.js is inline

        offline = context.new_page()
        blocked: list[str] = []
        errors: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        offline.route("**/*", route)
        offline.on("pageerror", lambda exc: errors.append(str(exc)))
        offline.goto(saved.as_uri())
        expect(offline.locator(f"#verdict.{status} .status .badge")).to_have_text(status.upper())
        expect(offline.locator(f"#verdict.{status} .status")).to_contain_text(VERDICT_WORDS[status])  # the app's
        expect(offline.locator(".js-plotly-plot .main-svg").first).to_be_visible()
        expect(offline.locator("#chart-drift .main-svg").first).to_be_visible()  # the data section's chart
        assert offline.locator(".plotly .bars .point").count() > 10  # bars drawn
        assert offline.locator("#checks tbody tr").count() == n_checks  # the same checks as the page
        assert blocked == [] and errors == []
        offline.screenshot(path=str(artifacts_dir / "report-html-downloaded.png"), full_page=True)
    finally:
        context.close()
