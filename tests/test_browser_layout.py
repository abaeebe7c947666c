"""Every page of the demo at a projector's 1920x1080 and a laptop's 1366x768, in headless Chromium.

Screenshots of each page at both sizes go to test-artifacts/ (layout-<page>-<width>x<height>.png) for a person to
look at. Assertions: no metric card's label is cut (no label element is wider inside than the space it has),
chart titles stay inside their charts and clear of the legends, the Overview's tables do not scroll sideways,
and the verdict panel shows one line per failing check it counts. Waits are for content, never sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import FIRST_LOAD_MS, STEP_MS, settled
from playwright.sync_api import expect
from servers import RunningServer

pytestmark = pytest.mark.browser

SIZES = ((1920, 1080), (1366, 768))
PAGES = {  # url path -> the page's title
    "": "ready to replace",
    "parameters": "Parameters",
    "predictions": "Predictions",
    "explanations": "Explanations",
    "data": "Data",
    "retraining": "Retraining",
    "report": "Report",
}

# Closed sections whose charts used to be drawn on arrival (components/lazy_section: drawn once opened): opened
# before the checks, so that their charts' titles and legends are checked too.
OPEN_FIRST = {
    "predictions": ("Chart: the same counts as a heatmap", "Chart: how much the predicted probability changed"),
    "explanations": ("Chart: each column's importance", "Chart: row "),
    "data": ("Chart: drift per column",),
}


def open_sections(page: Any, labels: tuple[str, ...]) -> None:
    """Open each closed section whose label starts with one of `labels`, and wait for its charts to be drawn."""
    for label in labels:
        plots = page.locator(".js-plotly-plot")
        before = plots.count()
        page.locator('[data-testid="stExpander"] summary').filter(has_text=label).first.click()
        expect(plots.nth(before)).to_be_attached(timeout=STEP_MS)  # one more chart: the section reran and drew
        drawn(page)


# Label elements (and everything inside them) whose content is wider than their box: a label cut with "…".
TRUNCATED_LABELS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *')) {
    if (el.closest('svg') || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      out.push(`${el.textContent.trim()} (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  return out;
}"""

# Each chart's title box against its chart's box, and against its legend's box.
CHART_TITLES = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => {
  const box = plot.getBoundingClientRect();
  const title = plot.querySelector('.gtitle');
  const legend = plot.querySelector('.legend');
  const t = title ? title.getBoundingClientRect() : null;
  const l = legend ? legend.getBoundingClientRect() : null;
  const apart = t && l && (t.right <= l.left || l.right <= t.left || t.bottom <= l.top || l.bottom <= t.top);
  const overlap = t && l && l.width > 0 && !apart;
  return {
    title: title ? title.textContent : '',
    inside: !t || (t.left >= box.left - 1 && t.right <= box.right + 1 && t.top >= box.top - 1),
    overlap: Boolean(overlap),
  };
})"""

# Data grids whose columns are wider than the grid: they scroll sideways.
WIDE_TABLES = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]')).map(df => {
  const scroller = df.querySelector('.dvn-scroller');
  return scroller ? {wide: scroller.scrollWidth > scroller.clientWidth + 2, text: df.textContent.slice(0, 80)} : null;
}).filter(Boolean)"""


@pytest.fixture(scope="module")
def app_server(demo_server: RunningServer) -> RunningServer:
    """The session's demo app (tests/browsing.py): each test opens its own browser context on it."""
    return demo_server


@pytest.fixture(scope="module")
def findings(artifacts_dir: Path) -> Iterator[dict[str, Any]]:
    """What each page showed at each size, written next to the screenshots for a person to read."""
    found: dict[str, Any] = {}
    yield found
    (artifacts_dir / "layout-findings.json").write_text(json.dumps(found, indent=2))


def drawn(page: Any, timeout: int = STEP_MS) -> None:
    """The run finished and everything it sent is drawn: no placeholder left, every visible table has its cells,
    every chart its title."""
    settled(page, timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)
    tables = page.locator('[data-testid="stDataFrame"]:visible')
    for i in range(tables.count()):
        tables.nth(i).locator("table").wait_for(state="attached", timeout=timeout)
    plots = page.locator(".js-plotly-plot:visible")
    for i in range(plots.count()):
        plots.nth(i).locator(".main-svg").first.wait_for(state="attached", timeout=timeout)


def shoot(page: Any, path: Path, width: int, height: int) -> None:
    """Streamlit scrolls inside its main block: grow the viewport to the content's height, shoot, restore."""
    full = page.evaluate(
        "() => Math.max(...['[data-testid=\"stMain\"]', '[data-testid=\"stAppViewContainer\"]']"
        ".map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": width, "height": max(height, min(int(full), 16_000))})
    try:
        drawn(page)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size({"width": width, "height": height})


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_fits_the_screen(
    app_server: RunningServer,
    browser: Any,
    artifacts_dir: Path,
    findings: dict[str, Any],
    width: int,
    height: int,
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        for path, title in PAGES.items():
            page.goto(f"{app_server.url}/{path}")
            expect(page.locator("h1").filter(has_text=title)).to_be_visible(timeout=FIRST_LOAD_MS)
            if path in ("", "predictions", "explanations"):
                expect(page.locator('[data-testid="stMetricLabel"]').first).to_be_visible(timeout=FIRST_LOAD_MS)
            drawn(page, timeout=FIRST_LOAD_MS)
            open_sections(page, OPEN_FIRST.get(path, ()))
            name = path or "overview"
            assert not page.locator('[data-testid="stException"]').count(), f"{name} shows an exception"
            cut = page.evaluate(TRUNCATED_LABELS)
            charts = page.evaluate(CHART_TITLES)
            tables = page.evaluate(WIDE_TABLES)
            findings[f"{name}@{width}x{height}"] = {"cut_labels": cut, "charts": charts, "tables": tables}
            shoot(page, artifacts_dir / f"layout-{name}-{width}x{height}.png", width, height)
            assert cut == [], f"{name} at {width}x{height}: metric labels cut: {cut}"
            clipped = [c["title"] for c in charts if not c["inside"]]
            assert clipped == [], f"{name} at {width}x{height}: chart titles outside their charts: {clipped}"
            crossed = [c["title"] for c in charts if c["overlap"]]
            assert crossed == [], f"{name} at {width}x{height}: a legend over the title of {crossed}"
            if name == "overview":
                assert not [t for t in tables if t["wide"]], f"the Overview's tables scroll sideways: {tables}"
                verdict = page.locator(".mg-verdict")
                fails = int(verdict.get_attribute("data-fails") or -1)
                shown = page.locator('.mg-reason[data-status="fail"]')
                assert fails > 0 and shown.count() == fails  # every failing check it counts, each on its line
                for i in range(fails):
                    expect(shown.nth(i)).to_be_visible()
    finally:
        context.close()
