"""Page draw: every page of the app fully drawn in headless Chromium, warm caches, at 1920x1080 and 1366x768.

The app runs as `make run` starts it (`streamlit run app.py` on the demo workspace, a free loopback port). The
Overview is opened once to fill the server's caches (loading both models, predicting, explaining), then every
page is opened once at 1920x1080 untimed (a page's own first-visit work, e.g. rendering the reports, is not
"page draw"). Then, for each viewport size and page, a fresh tab in the same browser (static files cached, as
for a user who follows a shared link) opens the page's address, and the time is taken from the start of the
navigation to the moment the page is *fully drawn* and stays so:

- the script run finished (`stApp` notRunning) and neither the running indicator (`stStatusWidget`) nor a
  spinner or skeleton shows;
- every chart element (`.stPlotlyChart`) holds a drawn plotly figure (`.main-svg`);
- the number of charts and of drawn charts stays the same for STABLE_MS afterwards (the time reported is the
  start of that last steady state, measured in the page with `performance.now()`, i.e. from navigation start).

"Every chart" is every chart the page shows on arrival. Charts below the fold may sit in a closed section that
is drawn only once opened (components/lazy_section.py: an expander, or tabs, that rerun the page when toggled;
a closed one sends the browser nothing): those are not waited for, since nothing of them is drawn. So that a
page cannot pass by hiding charts the user can no longer reach, the untimed first visit of each page also opens
every closed section and every other tab, one at a time, and counts the distinct charts drawn on the way
(`charts_reachable`, by title): it must not fall when charts move into closed sections (`charts` is those
drawn on arrival).

Target: <= 2.5 s per page and size. Each measure is repeated REPEATS times (env MODELGAP_BENCH_PAGE_REPEATS);
the median is reported with the worst. /proc/loadavg is recorded before and after, since the machine is shared.
Usage: `python -m benchmarks.run pages` (or `python -m benchmarks.bench_pages [page ...]`).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PAGES = ("overview", "parameters", "predictions", "explanations", "data", "retraining", "report")
SIZES = ((1920, 1080), (1366, 768))
TARGET_S = 2.5
STABLE_MS = 1500
TIMEOUT_S = 120.0
FIRST_LOAD_S = 600.0
WHOLE_COMPARISON = "Importance order agreement"  # the Overview's last card to fill: explanations are computed
REPEATS = int(os.environ.get("MODELGAP_BENCH_PAGE_REPEATS", "3"))

# Runs in every document before its own scripts: every 25 ms, is the page fully drawn? Records when the
# current steady state (same drawn/not drawn, same chart counts) began, in ms since navigation start.
PROBE = """
(() => {
  const probe = {since: 0, key: null, done: false, charts: 0, drawn: 0};
  window.__modelgapProbe = probe;
  const tick = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = !!app && app.getAttribute('data-test-script-state') === 'notRunning';
    const visible = (sel) => [...document.querySelectorAll(sel)].some(e => e.offsetParent !== null);
    const busy = visible('[data-testid="stStatusWidget"]') || visible('[data-testid="stSpinner"]')
      || visible('[data-testid="stSkeleton"]');
    const heading = !!document.querySelector('[data-testid="stMain"] h1');
    const charts = [...document.querySelectorAll('.stPlotlyChart')];
    const drawn = charts.filter(c => c.querySelector('.main-svg')).length;
    const done = idle && !busy && heading && drawn === charts.length;
    const key = `${done}|${charts.length}|${drawn}`;
    if (key !== probe.key) { probe.key = key; probe.since = performance.now(); }
    Object.assign(probe, {done, charts: charts.length, drawn});
  };
  setInterval(tick, 25);
})();
"""


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _process_times() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far, user + system) for every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return out


def _descendants(times: dict[int, tuple[int, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in times.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


class CpuMeter:
    """CPU seconds used by the browser (every process this one started, but the server) and by the server, between
    `start()` and `stop()`: unlike wall time, it barely grows when other work shares the machine."""

    def __init__(self, server_pid: int, ignore: tuple[int, ...] = ()) -> None:
        self.server_pid = server_pid
        self.ignore = ignore  # other processes this one started (and theirs), e.g. a second server
        self.before: dict[int, tuple[int, float]] = {}

    def start(self) -> None:
        self.before = _process_times()

    def stop(self) -> dict[str, float]:
        now = _process_times()
        server = _descendants(now, self.server_pid)
        mine = _descendants(now, os.getpid()) - {os.getpid()}
        for pid in self.ignore:
            mine -= _descendants(now, pid)
        used = {pid: now[pid][1] - self.before.get(pid, (0, 0.0))[1] for pid in mine}
        return {
            "browser_cpu_s": round(sum(v for pid, v in used.items() if pid not in server), 2),
            "server_cpu_s": round(sum(v for pid, v in used.items() if pid in server), 2),
        }


def _demo_dir() -> Path:
    from modelgap.demo import DEFAULT_DEMO_DIR, build_demo

    return build_demo(DEFAULT_DEMO_DIR).directory  # the complete one as is when `make demo` built it


def drawn_after(
    context: Any, url: str, timeout_s: float = TIMEOUT_S, wait_for_text: str = "", cpu: CpuMeter | None = None
) -> dict[str, Any]:
    """Open `url` in a fresh tab; seconds from navigation start until fully drawn (and steady), and the counts.

    `wait_for_text`: first wait until the page shows this text (the warm-up waits for the whole comparison).
    `cpu`: also the CPU seconds the browser and the server used from navigation until drawn (+ STABLE_MS)."""
    page = context.new_page()
    try:
        if cpu is not None:
            cpu.start()
        page.goto(url, wait_until="commit")
        if wait_for_text:
            page.get_by_text(wait_for_text).first.wait_for(timeout=timeout_s * 1000)
        probe = _wait_drawn(page, timeout_s)
        used = cpu.stop() if cpu is not None else {}
        errors = page.locator('[data-testid="stException"]').count()
        return {"seconds": probe["since"] / 1000, "charts": probe["charts"], "errors": errors, **used}
    finally:
        page.close()


def _wait_drawn(page: Any, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Poll the page's probe until it is fully drawn and steady for STABLE_MS."""
    deadline = time.monotonic() + timeout_s
    while True:
        probe = page.evaluate("() => ({...window.__modelgapProbe, now: performance.now()})")
        if probe["done"] and probe["now"] - probe["since"] >= STABLE_MS:
            return dict(probe)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{page.url}: not drawn after {timeout_s:.0f} s ({probe})")
        page.wait_for_timeout(100)  # polling the page's own probe, not waiting for a result


CHART_TITLES = """() => [...document.querySelectorAll('[data-testid="stMain"] .stPlotlyChart')]
  .map((c, i) => (c.querySelector('.gtitle') || {}).textContent || `untitled chart ${i}`)"""
CLOSED_SECTION = '[data-testid="stMain"] [data-testid="stExpander"] details:not([open]) > summary:visible'
OTHER_TAB = '[data-testid="stMain"] [role="tab"][aria-selected="false"]:visible'
MAX_OPENINGS = 40


def _click_and_redraw(page: Any, target: Any, change_s: float = 3.0) -> None:
    """Click `target`, wait for the page to change (a rerun; a plain expander changes nothing), then be drawn."""
    clicked_at = page.evaluate("() => performance.now()")
    target.click()
    deadline = time.monotonic() + change_s
    while time.monotonic() < deadline:
        if page.evaluate("() => window.__modelgapProbe.since") > clicked_at:
            break
        page.wait_for_timeout(50)  # polling the page's own probe for the rerun to begin
    _wait_drawn(page)


def charts_reachable(context: Any, url: str) -> int:
    """Distinct charts (by title) drawn on `url` once every closed section is opened and every tab shown."""
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        _wait_drawn(page)
        titles = set(page.evaluate(CHART_TITLES))
        for _ in range(MAX_OPENINGS):  # open the closed sections one at a time (each may rerun the page)
            closed = page.locator(CLOSED_SECTION)
            if not closed.count():
                break
            _click_and_redraw(page, closed.first)
            titles |= set(page.evaluate(CHART_TITLES))
        seen_tabs: set[str] = set()
        for _ in range(MAX_OPENINGS):  # then show each tab that is not the open one
            tabs = [t for t in page.locator(OTHER_TAB).all() if t.inner_text() not in seen_tabs]
            if not tabs:
                break
            seen_tabs.add(tabs[0].inner_text())
            _click_and_redraw(page, tabs[0])
            titles |= set(page.evaluate(CHART_TITLES))
        return len(titles)
    finally:
        page.close()


def measure(
    server_url: str, server_pid: int, pages: tuple[str, ...] = PAGES, repeats: int = REPEATS
) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    cpu = CpuMeter(server_pid)

    rows: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            warm = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
            warm.add_init_script(PROBE)
            start = time.perf_counter()
            drawn_after(warm, f"{server_url}/overview", timeout_s=FIRST_LOAD_S, wait_for_text=WHOLE_COMPARISON)
            rows.append({"page": "(warm-up) overview, cold caches", "size": "1920x1080", "seconds": _r(start)})
            first = {name: drawn_after(warm, f"{server_url}/{name}")["seconds"] for name in pages}
            reachable = {name: charts_reachable(warm, f"{server_url}/{name}") for name in pages}
            warm.close()
            for width, height in SIZES:
                context = browser.new_context(viewport={"width": width, "height": height})
                context.add_init_script(PROBE)
                drawn_after(context, f"{server_url}/overview")  # this context's static files cached
                for name in pages:
                    runs = [drawn_after(context, f"{server_url}/{name}", cpu=cpu) for _ in range(repeats)]
                    seconds = [r["seconds"] for r in runs]
                    median = statistics.median(seconds)
                    browser_cpu = statistics.median(r["browser_cpu_s"] for r in runs)
                    server_cpu = statistics.median(r["server_cpu_s"] for r in runs)
                    rows.append(
                        {
                            "page": name,
                            "size": f"{width}x{height}",
                            "seconds": round(median, 2),
                            "worst_s": round(max(seconds), 2),
                            "first_visit_s": round(first[name], 2) if width == SIZES[0][0] else "",
                            "browser_cpu_s": browser_cpu,
                            "server_cpu_s": server_cpu,
                            "charts": runs[-1]["charts"],
                            "charts_reachable": reachable[name],
                            "errors": runs[-1]["errors"],
                            "target_s": TARGET_S,
                            "ok": median <= TARGET_S,
                        }
                    )
                context.close()
        finally:
            browser.close()
    return rows


def _r(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def run(pages: tuple[str, ...] = PAGES) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import server_env, start_streamlit

    demo_dir = _demo_dir()
    env = server_env(MODELGAP_DEMO_DIR=str(demo_dir), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        env.pop(name, None)
    before = loadavg()
    server = start_streamlit(APP, Path(tempfile.mkdtemp(prefix="bench-pages-")), env=env)
    try:
        rows = measure(server.url, server.process.pid, pages)
    finally:
        server.stop()
    rows.append({"page": "(machine) /proc/loadavg before, after", "size": "", "seconds": f"{before} {loadavg()}"})
    return rows


if __name__ == "__main__":
    chosen = tuple(sys.argv[1:]) or PAGES
    for row in run(chosen):
        print(row)
