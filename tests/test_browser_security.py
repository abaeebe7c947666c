"""F4 in a real browser: two headless-Chromium sessions against one `streamlit run app.py`.

Session A uploads a CSV; session B's server-file picker does not list it and a link carrying A's upload (its
server path, or A's own shared `upload:` link) is refused with one message. The operator's allowed folder
holds the server's temp folder on purpose (TMPDIR below MODELGAP_ALLOWED_DIRS): the strongest case for
privacy. When A's session ends, the next upload's sweep removes A's folder while B's stays (Streamlit's
session bookkeeping, the one internal `components.uploads.session_alive` reads, answered for real).
Waits are for content and for Streamlit's running indicator, never sleeps; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from browsing import APP, FIRST_LOAD_MS, STEP_MS, VIEWPORT, settled
from factories import fitted, save_skops
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from servers import RunningServer, server_env, start_streamlit

pytestmark = pytest.mark.browser

ERROR = '[data-testid="stAlertContentError"]'


@dataclass
class Site:
    root: Path  # MODELGAP_ALLOWED_DIRS
    tmp: Path  # the server's TMPDIR: its upload folder is made in here, inside the allowed folder
    model: Path
    data: Path
    server: RunningServer

    def link(self, **extra: str) -> str:
        params = {
            "repo": str(self.model),
            "deployed": str(self.model),
            "data": str(self.data),
            "target": "target",
            "shap": "0",
        }
        params.update(extra)
        return f"{self.server.url}/?{urlencode(params)}"

    def session_folders(self) -> list[Path]:
        return sorted(p for p in self.tmp.glob("modelgap-uploads-*/*") if p.is_dir())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("browser-security").resolve()
    (root / "shared").mkdir()
    tmp = root / "tmp"
    tmp.mkdir()
    estimator, X, y = fitted("logreg")
    model = save_skops(estimator, root / "shared" / "model.skops")
    data = root / "shared" / "known.csv"
    X.assign(target=y).to_csv(data, index=False)
    env = server_env(
        MODELGAP_ALLOWED_DIRS=str(root),
        MODELGAP_DEMO_DIR=str(root / "no-demo"),
        TMPDIR=str(tmp),
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL="0",  # a closed tab's session ends at once (no reconnect wait)
    )
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_TRUSTED_TRACKING_URIS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        env.pop(name, None)
    server = start_streamlit(APP, root / "server", env=env)
    try:
        yield Site(root, tmp, model, data, server)
    finally:
        server.stop()


def widget(page: Any, key: str) -> Any:
    return page.locator(f".st-key-{re.sub(r'[^a-zA-Z0-9_-]', '-', key)}")


def open_options(page: Any, key: str) -> Any:
    """Open the selectbox with this key once its run has settled; the visible options."""
    expect(widget(page, key)).to_be_visible(timeout=STEP_MS)
    settled(page)
    box = widget(page, key).locator("input")
    options = page.get_by_role("option")
    for _attempt in range(5):  # a click that lands while the panel reruns (or its expander opens) is ignored
        box.click()
        try:
            options.first.wait_for(state="visible", timeout=5_000)
            return options
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            settled(page)
    options.first.wait_for(state="visible", timeout=5_000)
    return options


def choose(page: Any, key: str, option: str) -> None:
    """Pick the option of the selectbox with this key whose text is `option`. A rerun (such as the one that draws
    the pickers once a cold server has loaded MLflow) detaches an open list: open and pick again then."""
    for _attempt in range(3):
        try:
            open_options(page, key).filter(has_text=option).first.click(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    else:
        raise AssertionError(f"could not pick {option!r} in the selectbox {key!r}")
    settled(page)


def listed_options(page: Any, key: str) -> list[str]:
    texts = [str(t) for t in open_options(page, key).all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def open_compared(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(page)
    page.get_by_text("Change the comparison").click()
    expect(widget(page, "modelgap.pick.data.kind")).to_be_visible(timeout=STEP_MS)


def upload_csv(page: Any, path: Path) -> None:
    widget(page, "modelgap.pick.data.upload").locator('input[type="file"]').set_input_files(str(path))
    expect(widget(page, "modelgap.pick.data.target")).to_be_visible(timeout=STEP_MS)
    settled(page)


def test_uploads_are_private_to_their_session_and_go_when_it_ends(
    site: Site, browser: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    """`tmp_path` is the browser user's own disk (outside the server's allowed folder)."""
    a_context = browser.new_context(viewport=VIEWPORT)
    b_context = browser.new_context(viewport=VIEWPORT)
    try:
        a, b = a_context.new_page(), b_context.new_page()
        # Session A: compare on the server's CSV, then upload its own copy and compare on that.
        upload = tmp_path / "a-private.csv"
        upload.write_bytes(site.data.read_bytes())
        open_compared(a, site.link())
        choose(a, "modelgap.pick.data.kind", "Upload CSV or Parquet")
        upload_csv(a, upload)
        expect(widget(a, "modelgap.pick.data.target").locator("input")).to_have_value("target")  # label kept
        widget(a, "modelgap.pick.apply").locator("button").click()
        sha12 = hashlib.sha256(upload.read_bytes()).hexdigest()[:12]
        a.wait_for_url(re.compile(rf"data=upload%3A{sha12}%2Fa-private\.csv"), timeout=STEP_MS)
        settled(a)
        assert not a.locator(ERROR).count()
        a.screenshot(path=str(artifacts_dir / "security-session-a-uploaded.png"))
        a_folders = site.session_folders()
        assert len(a_folders) == 1
        a_file = next(a_folders[0].glob(f"{hashlib.sha256(upload.read_bytes()).hexdigest()}/*.csv"))
        assert a_file.is_relative_to(site.root)  # inside the operator's allowed folder

        # Session B: the server-file picker lists the server's CSV, never A's upload.
        open_compared(b, site.link())
        choose(b, "modelgap.pick.data.kind", "File on this server")
        options = listed_options(b, "modelgap.pick.data.path")
        assert any("known.csv" in o for o in options), options  # the scan covers the folder that holds uploads
        assert not any("a-private" in o or "modelgap-uploads" in o for o in options), options
        b.screenshot(path=str(artifacts_dir / "security-session-b-file-list.png"))

        # Links carrying A's upload, by its server path and as A shared it, are refused with one message.
        for url in (site.link(data=str(a_file)), a.url):
            b.goto(url)
            expect(b.locator(ERROR)).to_have_count(1, timeout=STEP_MS)
            settled(b)
            expect(b.locator(ERROR)).to_have_count(1)
            text = b.locator(ERROR).inner_text()
            assert "uploaded in another session" in text and str(site.tmp) not in text, text
            assert not b.locator('[data-testid="stMetric"]').count()  # nothing was compared
            expect(widget(b, "modelgap.pick.repo.kind")).to_be_visible()  # the pickers keep working
        b.screenshot(path=str(artifacts_dir / "security-session-b-refused-link.png"))
        assert a_file.exists()  # A is still open: its upload stays

        # A's session ends; B's next upload sweeps A's folder away and keeps its own.
        a_context.close()
        b.goto(site.link())
        expect(b.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=FIRST_LOAD_MS)
        settled(b)
        b.get_by_text("Change the comparison").click()
        choose(b, "modelgap.pick.data.kind", "Upload CSV or Parquet")
        lines = site.data.read_text().splitlines()
        for attempt in range(5):  # each upload sweeps; the server may take a moment to register A's disconnect
            own = tmp_path / f"b-upload-{attempt}.csv"
            own.write_text("\n".join(lines + lines[1:2] * (attempt + 1)) + "\n")  # new bytes: a new upload
            upload_csv(b, own)
            if not a_folders[0].exists():
                break
        assert not a_folders[0].exists()
        remaining = site.session_folders()
        assert len(remaining) == 1 and remaining[0] != a_folders[0]  # B's own folder
        b.screenshot(path=str(artifacts_dir / "security-session-b-after-a-ended.png"))
    finally:
        for context in (a_context, b_context):
            context.close()  # closing a closed context does nothing


# ------------------------------------------------------------------ the sidebar with a registry (issue 13)


@pytest.fixture(scope="module")
def registry_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    """A registry offered by the operator with @champion -> v1 and @challenger -> v2, plus an unusable URI."""
    from factories import log_registered
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("browser-sidebar").resolve()
    estimator, X, y = fitted("logreg")
    model = save_skops(estimator, root / "model.skops")
    data = root / "known.csv"
    X.assign(target=y).to_csv(data, index=False)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    log_registered(estimator, X, "scorer", uri)
    log_registered(fitted("logreg", C=0.05)[0], X, "scorer", uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias("scorer", "champion", "1")
    client.set_registered_model_alias("scorer", "challenger", "2")  # first in the list: where a lost pick lands
    env = server_env(
        MODELGAP_ALLOWED_DIRS=str(root),
        MODELGAP_DEMO_DIR=str(root / "no-demo"),
        MODELGAP_TRUSTED_TRACKING_URIS=f"{uri},htp:/x",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    server = start_streamlit(APP, root / "server", env=env)
    try:
        yield Site(root, root, model, data, server), uri
    finally:
        server.stop()


def test_a_bad_tracking_uri_shows_one_error_and_correcting_it_keeps_champion(
    registry_site: tuple[Site, str], browser: Any, artifacts_dir: Path
) -> None:
    site, uri = registry_site
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        ref = widget(page, "modelgap.pick.deployed.ref").locator("input")
        open_compared(page, site.link(deployed="models:/scorer@champion", uri=uri))
        expect(ref).to_have_value(re.compile(r"^@champion"))
        choose(page, "modelgap.pick.uri", "htp:/x")
        expect(page.locator(ERROR)).to_have_count(1, timeout=STEP_MS)
        settled(page)
        text = page.locator(ERROR).inner_text()
        assert "unknown scheme" in text and "Choose another tracking URI above" in text, text
        assert not page.locator('[data-testid="stException"]').count()
        expect(widget(page, "modelgap.pick.deployed.kind")).to_be_visible()  # the pickers stay
        expect(ref).to_have_count(0)  # the registry cannot be browsed: no version list
        page.screenshot(path=str(artifacts_dir / "security-sidebar-bad-uri.png"))
        choose(page, "modelgap.pick.uri", uri)
        expect(ref).to_have_value(re.compile(r"^@champion"), timeout=STEP_MS)  # not silently @challenger
        expect(page.locator(ERROR)).to_have_count(0)  # the old error is gone
        page.screenshot(path=str(artifacts_dir / "security-sidebar-uri-corrected.png"))
    finally:
        context.close()
