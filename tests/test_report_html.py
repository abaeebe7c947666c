"""The HTML report: one self-contained file that opens in headless Chromium with no network, renders its
charts, escapes user strings and prints cleanly. Screenshots and a PDF go to the artifacts folder."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import plotly.offline
import pytest
from reportdata import rich_comparison

from modelgap.comparison import Comparison
from modelgap.figures import report as figures
from modelgap.report import comparison_to_dict, render_html, write_html

EVIL = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    return rich_comparison(tmp_path_factory.mktemp("html"))


def open_offline(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """Open a file with every non-file request blocked; returns the page, blocked URLs and page errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    return page, blocked, errors


def test_html_is_one_self_contained_file(rich: Comparison) -> None:
    text = render_html(rich)
    js = plotly.offline.get_plotlyjs()
    assert text.count(js[:300]) == 1  # plotly.js inline, exactly once
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    report = comparison_to_dict(rich)
    expected = sum(
        f is not None
        for f in (
            figures.top_rows_figure(report["predictions"]),
            figures.slices_figure(report["predictions"]),
            figures.metric_deltas_figure(report["metrics"]),
            figures.changed_features_figure(report["explanations"]),
        )
    )
    assert expected == 4
    assert text.count("Plotly.newPlot(") == expected
    assert 'class="banner fail"' in text and "@media print" in text


def test_figures_from_the_report_dict(rich: Comparison) -> None:
    report = comparison_to_dict(rich)
    p = report["predictions"]
    fig = figures.top_rows_figure(p, top_n=5)
    assert fig is not None
    xs = list(fig.data[0].x)
    assert xs == sorted(xs)  # largest at the top of a horizontal bar chart
    assert xs[-1] == pytest.approx(p["max_abs_diff"])
    e = report["explanations"]
    feat = figures.changed_features_figure(e)
    assert feat is not None
    by_name = {f["feature"]: f for f in e["features"]}
    repo_bar = next(t for t in feat.data if t.name == "repo")
    for name, x in zip(repo_bar.y, repo_bar.x, strict=True):
        assert x == pytest.approx(by_name[name]["repo_importance"])
    assert figures.top_rows_figure({"top": []}) is None
    assert figures.metric_deltas_figure({"flips": {"negative_flips": 2}}) is None
    assert figures.slices_figure({"disagreement_rate": 0.1}) is None


def test_html_escapes_user_strings(rich: Comparison) -> None:
    evil = copy.deepcopy(comparison_to_dict(rich))
    evil["repo"]["source"] = EVIL
    evil["parameters"]["changed"] = [{"name": EVIL, "repo": EVIL, "deployed": 1}]
    evil["notes"] = [EVIL]
    evil["verdict"]["checks"][0]["message"] = EVIL
    text = render_html(evil)
    assert EVIL not in text
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in text


@pytest.mark.browser
def test_html_opens_offline_and_shows_the_charts(
    rich: Comparison, browser: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    path = tmp_path / "report.html"
    write_html(rich, path)
    page, blocked, errors = open_offline(browser, path)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8")
    assert page.locator(".js-plotly-plot").count() == 4
    assert page.locator(".plotly .bars .point").count() > 10  # bars drawn in the bar charts
    assert page.locator(".plotly .scatterlayer .point").count() == 3  # one point per metric
    banner = page.locator("#verdict")
    assert "FAIL" in banner.inner_text()
    report = comparison_to_dict(rich)
    reasons = [c for c in report["verdict"]["checks"] if c["status"] in ("fail", "warn")]
    assert page.locator("#verdict .reasons li").count() == len(reasons)
    assert page.locator("#checks tbody tr").count() == len(report["verdict"]["checks"])
    assert blocked == [] and errors == []
    page.screenshot(path=str(artifacts_dir / "report-html.png"), full_page=True)

    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.modebar-container')).display") == "none"
    page.pdf(path=str(artifacts_dir / "report-html.pdf"), format="A4", print_background=True)
    assert (artifacts_dir / "report-html.pdf").stat().st_size > 10_000
    page.close()


@pytest.mark.browser
def test_html_user_strings_stay_text_in_the_browser(rich: Comparison, browser: Any, tmp_path: Path) -> None:
    evil = copy.deepcopy(comparison_to_dict(rich))
    evil["repo"]["source"] = EVIL
    evil["explanations"]["features"][0]["feature"] = "</script><script>window.__pwned=2</script>"
    path = tmp_path / "evil.html"
    write_html(evil, path)
    page, blocked, errors = open_offline(browser, path)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8")
    assert page.evaluate("window.__pwned") is None
    assert EVIL in page.locator(".card.repo").inner_text()
    assert blocked == [] and errors == []
    page.close()
