"""AppTest of the Report page and the Overview's verdict, on a real MLflow server.

The repo model is a registered run's model, the deployed model the registry's @champion (another run). The
download payloads are captured from Streamlit's own media storage and compared with the core's renderers on a
comparison built here, outside the app. Write-back is checked on the real tracking server: nothing is written
until the box is ticked and the button pressed, and then only on the repo model's run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from appdata import table_with
from endpoint_servers import FaultyServer, labels_of
from factories import fitted, log_registered
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from modelgap import load_model
from modelgap.comparison import CompareOptions, run_comparison
from modelgap.options import SourceContext
from modelgap.report import comparison_to_dict, render_html, render_markdown
from modelgap.report.markdown import md

pytestmark = pytest.mark.server

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 120
NAME = "report-page-credit"
SHAP_ROWS = 50
PAGE_OF = {"parameters": "parameters", "predictions": "predictions", "explanations": "explanations", "data": "data"}


@dataclass
class Store:
    uri: str
    repo_run: str
    deployed_run: str
    deployed_version: str
    data: Path


@pytest.fixture(scope="module")
def store(mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Store:
    from mlflow.tracking import MlflowClient

    uri = mlflow_server.url
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
    deployed_version = log_registered(deployed, X, NAME, uri)
    repo_version = log_registered(repo, X, NAME, uri)
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(NAME, "champion", deployed_version)
    work = tmp_path_factory.mktemp("report-page")
    X.assign(y=y).to_csv(work / "sample.csv", index=False)
    return Store(
        uri=uri,
        repo_run=client.get_model_version(NAME, repo_version).run_id,
        deployed_run=client.get_model_version(NAME, deployed_version).run_id,
        deployed_version=deployed_version,
        data=work / "sample.csv",
    )


@pytest.fixture(scope="module")
def env(store: Store) -> Iterator[Store]:
    """No demo; the sample's folder allowed; the user's MLFLOW_TRACKING_URI kept out."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(store.data.parent / "no-demo"))
        mp.setenv("MODELGAP_ALLOWED_DIRS", str(store.data.parent))
        mp.setenv("MODELGAP_TRUSTED_TRACKING_URIS", store.uri)  # the operator offers this registry
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield store


@pytest.fixture()
def payloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """file id -> bytes of every file the app hands to Streamlit's media storage (download buttons)."""
    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self: Any, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        file_id = original(self, path_or_data, mimetype, kind, filename)
        seen[file_id] = self.get_file(file_id).content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return seen


def params(store: Store, repo_run: str | None = None) -> dict[str, str]:
    return {
        "repo": f"runs:/{repo_run or store.repo_run}/model",
        "deployed": f"models:/{NAME}@champion",
        "uri": store.uri,
        "data": str(store.data),
        "target": "y",
        "shap": str(SHAP_ROWS),
    }


def open_app(store: Store, repo_run: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(params(store, repo_run))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_report(store: Store, repo_run: str | None = None) -> AppTest:
    at = open_app(store, repo_run)
    at.switch_page("pages/report.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def expected(env: Store) -> dict[str, Any]:
    """The same comparison built with the core, outside the app (the CLI's path)."""
    repo = load_model(f"runs:/{env.repo_run}/model", tracking_uri=env.uri)
    deployed = load_model(f"models:/{NAME}@champion", tracking_uri=env.uri)
    options = CompareOptions(target="y", shap_rows=SHAP_ROWS, sources=SourceContext(tracking_uri=env.uri))
    comparison = run_comparison(repo, deployed, data_path=str(env.data), options=options)
    return {"comparison": comparison, "report": comparison_to_dict(comparison)}


def modelgap_tags(uri: str, run_id: str) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    tags = MlflowClient(uri, uri).get_run(run_id).data.tags
    return {k: v for k, v in tags.items() if k.startswith("modelgap.")}


def version_tags(uri: str, version: str) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    return dict(MlflowClient(uri, uri).get_model_version(NAME, version).tags)


def markdown_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


# ---------------------------------------------------------------- downloads and the checks table


def test_downloads_are_the_core_reports_of_the_same_comparison(
    env: Store, expected: dict[str, Any], payloads: dict[str, bytes]
) -> None:
    at = open_report(env)
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"JSON report", "Markdown report", "HTML report"}

    def payload(label: str) -> str:
        file_id = buttons[label].url.rsplit("/", 1)[-1].split(".")[0]
        return payloads[file_id].decode("utf-8")

    report = json.loads(payload("JSON report"))
    want = expected["report"]
    assert set(report) == set(want)
    assert report["verdict"] == want["verdict"]
    assert report["predictions"]["disagreement_rate"] == want["predictions"]["disagreement_rate"]
    assert payload("Markdown report") == render_markdown(expected["comparison"])
    html = payload("HTML report")
    stamp = re.search(r"generated (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", html)
    assert stamp is not None
    when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert html == render_html(expected["comparison"], generated=when)


def test_the_markdown_preview_is_drawn_only_once_opened(env: Store, expected: dict[str, Any]) -> None:
    at = open_report(env)
    want = render_markdown(expected["comparison"])
    assert not at.code and want not in [m.value for m in at.markdown]  # closed: nothing of it sent
    at.session_state["modelgap.widget.report.preview"] = True  # what opening the expander does
    at.run()
    assert not at.exception
    assert [str(c.value).strip() for c in at.code] == [want.strip()]  # the source to copy, and the preview
    assert want.strip() in [str(m.value).strip() for m in at.markdown]


def test_the_checks_table_has_one_row_per_check_with_links(env: Store, expected: dict[str, Any]) -> None:
    at = open_report(env)
    checks = expected["report"]["verdict"]["checks"]
    rows = re.findall(r'data-check="([^"]+)"', markdown_text(at))
    assert rows == [c["name"] for c in checks]  # one row each, worst first like the verdict
    links = {(p.proto.label, p.proto.page) for p in at.get("page_link")}
    for c in checks:
        if c["page"] in PAGE_OF:
            assert (c["title"], PAGE_OF[c["page"]]) in links, c["name"]
    table_links = [p.proto for p in at.get("page_link") if p.proto.label in {c["title"] for c in checks}]
    assert table_links and all(f"deployed=models%3A%2F{NAME}%40champion" in p.query_string for p in table_links)
    assert any("Thresholds: **defaults**" in str(m.value) for m in at.markdown)  # the policy used
    policy_rows = table_with(at, "check", "setting", "value")
    assert len(policy_rows) > 10


# ---------------------------------------------------------------- write-back


def test_nothing_is_written_until_ticked_and_pressed_then_only_the_repo_run(
    env: Store, expected: dict[str, Any]
) -> None:
    before_version = version_tags(env.uri, env.deployed_version)
    at = open_report(env)
    assert not modelgap_tags(env.uri, env.repo_run)  # opening the page writes nothing
    assert at.button(key="modelgap.report.writeback.write").disabled  # no write without the tick
    at.run()  # reruns (other widgets, navigation) write nothing either
    assert not modelgap_tags(env.uri, env.repo_run)
    at.checkbox(key="modelgap.report.writeback.confirm").check().run()
    assert not modelgap_tags(env.uri, env.repo_run)  # ticking alone writes nothing
    at.button(key="modelgap.report.writeback.write").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tags = modelgap_tags(env.uri, env.repo_run)
    assert tags["modelgap.verdict"] == expected["report"]["verdict"]["status"]
    assert tags["modelgap.compared_with"] == f"models:/{NAME}@champion"
    assert tags["modelgap.compared_with_version"] == f"{NAME}/{env.deployed_version}"
    assert not modelgap_tags(env.uri, env.deployed_run)
    assert version_tags(env.uri, env.deployed_version) == before_version
    assert any(env.repo_run in s.value for s in at.success)  # says what was written, and where
    shown = table_with(at, "tag", "value")
    assert dict(zip(shown["tag"], shown["value"], strict=True)) == tags
    assert any("modelgap/report.html" in str(m.value) for m in at.markdown)


def test_a_failed_write_shows_the_reason_and_the_page_keeps_working(env: Store) -> None:
    """The repo model from the deployed model's own run: writing would tag the deployed run, so it is refused."""
    at = open_report(env, repo_run=env.deployed_run)
    at.checkbox(key="modelgap.report.writeback.confirm").check().run()
    at.button(key="modelgap.report.writeback.write").click().run()
    assert not at.exception
    assert any("same MLflow run" in e.value for e in at.error)
    assert len(at.get("download_button")) == 3
    assert not modelgap_tags(env.uri, env.deployed_run)


# ---------------------------------------------------------------- the Overview


def test_overview_shows_the_verdict_and_links_each_reason(env: Store, expected: dict[str, Any]) -> None:
    at = open_app(env)
    verdict = expected["report"]["verdict"]
    text = markdown_text(at)
    assert f'class="mg-verdict" data-status="{verdict["status"]}"' in text
    reasons = [c for c in verdict["checks"] if c["status"] in ("fail", "warn")]
    assert reasons, "the test models should give the verdict at least one reason"
    links = [(p.proto.label, p.proto.page) for p in at.get("page_link")]
    for c in reasons[:3]:
        assert md(c["message"]) in text  # the reason in plain words (Markdown-escaped)
        page = PAGE_OF.get(c["page"], "report")
        assert (page.capitalize(), page) in links, c["name"]
    assert ("Every release check", "report") in links


def test_overview_with_an_endpoint_has_a_serving_parity_card(env: Store, faulty: FaultyServer) -> None:
    """A bare endpoint (the app names no registry entry for it): the parity card says why it has no numbers."""
    deployed, _, _ = fitted("gbm")
    faulty.behaviours["labels"] = labels_of(deployed)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_ALLOWED_ENDPOINTS", faulty.base)  # the operator lists this endpoint
        at.query_params.update({**params(env), "deployed": faulty.url("labels"), "shap": "0"})
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(h.value == "Does the endpoint serve what it claims?" for h in at.subheader)
    assert any("Serving-parity results are not available" in i.value and "--deployed-meta" in i.value for i in at.info)
    assert faulty.seen("labels")  # the endpoint was really asked
    assert 'class="mg-verdict"' in markdown_text(at)
