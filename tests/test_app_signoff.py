"""AppTest of sign-off on the Report page (and its line on the Overview), on a real MLflow server.

Without identity the form explains how to enable it and writes nothing; a logged-in user (st.user) signs the
exact bytes of the JSON report the page offers for download (captured from Streamlit's media storage and
hashed here); a comparison whose model moved after it was shown is refused and the form keeps its values; the
demo workspace (a fresh copy, never the shared one) signs as the labelled "demo reviewer". Widgets by key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import fitted, log_registered
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from components.signoff_view import DEMO_REVIEWER, HEADER_ENV, identity_from
from modelgap.signoff.record import TAG_PREFIX

pytestmark = pytest.mark.server

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 180
NAME = "app-signoff-credit"
K = "modelgap.signoff."


@dataclass
class Store:
    uri: str
    data: Path


@pytest.fixture(scope="module")
def store(mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """v1 = the deployed @champion, v2 = the candidate (@candidate, @moving), v3 = another model."""
    from mlflow.tracking import MlflowClient

    uri = mlflow_server.url
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
    other, _, _ = fitted("rf")
    for model in (deployed, repo, other):
        log_registered(model, X, NAME, uri)
    client = MlflowClient(uri, uri)
    for alias, version in (("champion", "1"), ("candidate", "2"), ("moving", "2")):
        client.set_registered_model_alias(NAME, alias, version)
    work = tmp_path_factory.mktemp("app-signoff")
    X.assign(y=y).to_csv(work / "sample.csv", index=False)
    return Store(uri=uri, data=work / "sample.csv")


@pytest.fixture()
def env(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """No demo, no identity header, the sample's folder allowed, the user's MLFLOW_TRACKING_URI kept out."""
    monkeypatch.setenv("MODELGAP_DEMO_DIR", str(store.data.parent / "no-demo"))
    monkeypatch.setenv("MODELGAP_ALLOWED_DIRS", str(store.data.parent))
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", store.uri)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv(HEADER_ENV, raising=False)
    return store


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


def open_report(params: dict[str, str], user: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if user is not None:
        at.user = user
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/report.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def params(store: Store, repo_alias: str = "candidate") -> dict[str, str]:
    return {
        "repo": f"models:/{NAME}@{repo_alias}",
        "deployed": f"models:/{NAME}@champion",
        "uri": store.uri,
        "data": str(store.data),
        "target": "y",
        "shap": "0",
    }


def version_tags(uri: str, name: str, version: str) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    return dict(MlflowClient(uri, uri).get_model_version(name, version).tags)


def signoff_tags(uri: str, name: str, version: str) -> dict[str, dict[str, Any]]:
    return {k: json.loads(v) for k, v in version_tags(uri, name, version).items() if k.startswith(TAG_PREFIX)}


def text_of(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def submit(at: AppTest, decision: str, comment: str = "", role: str = "") -> AppTest:
    at.selectbox(key=K + "decision").select(decision)
    at.text_area(key=K + "comment").input(comment)
    at.text_input(key=K + "role").input(role)
    at.button(key=K + "submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# ---------------------------------------------------------------- identity (pure)


def test_identity_comes_from_login_then_the_trusted_header_then_the_demo() -> None:
    headers = {"X-Forwarded-User": "bo@example.com"}
    user = {"is_logged_in": True, "email": "ann@example.com"}
    assert identity_from(user, headers, "X-Forwarded-User", True).name == "ann@example.com"
    assert identity_from({"email": "x@example.com"}, headers, "X-Forwarded-User", False).name == "bo@example.com"
    assert identity_from({}, headers, None, False).name is None  # the header counts only when configured
    assert identity_from({}, {}, None, True).name == DEMO_REVIEWER
    bad = identity_from({}, {"X-Forwarded-User": "bo\x1b[2K\rroot"}, "X-Forwarded-User", False)
    assert bad.name is None and bad.problem and "control characters" in bad.problem
    missing = identity_from({}, {}, "X-Forwarded-User", False)
    assert (
        missing.name is None
        and missing.problem
        and "X-Forwarded-User header was not in this request" in missing.problem
    )


# ---------------------------------------------------------------- the form


def test_without_identity_the_form_explains_how_to_enable_it_and_writes_nothing(env: Store) -> None:
    before = version_tags(env.uri, NAME, "2")
    at = open_report(params(env))  # AppTest's default user is not logged in
    info = " ".join(i.value for i in at.info)
    assert "does not know who you are" in info and HEADER_ENV in info and "st.login" in info
    assert at.button(key=K + "submit").disabled
    assert at.selectbox(key=K + "decision").value is None
    at.selectbox(key=K + "decision").select("approve")
    at.text_area(key=K + "comment").input("no identity").run()  # filling the form writes nothing either
    assert not at.success and not at.exception
    assert version_tags(env.uri, NAME, "2") == before
    assert any(f"No sign-off or logged check on registered model '{NAME}' version 2" in c.value for c in at.caption)


def test_a_logged_in_user_signs_exactly_the_report_offered_for_download(env: Store, payloads: dict[str, bytes]) -> None:
    before_deployed = version_tags(env.uri, NAME, "1")
    before = signoff_tags(env.uri, NAME, "2")
    at = open_report(params(env), user={"is_logged_in": True, "email": "ann@example.com", "name": "Ann"})
    assert any("Signing as `ann@example.com`" in str(m.value) for m in at.markdown)
    assert not at.button(key=K + "submit").disabled
    button = next(b.proto for b in at.get("download_button") if b.proto.label == "JSON report")
    downloaded = payloads[button.url.rsplit("/", 1)[-1].split(".")[0]]

    submit(at, "approve", "Within policy; ship it.", "manager")
    assert not at.error, [e.value for e in at.error]
    assert any("Recorded Approve by `ann@example.com`" in s.value for s in at.success)
    added = {k: v for k, v in signoff_tags(env.uri, NAME, "2").items() if k not in before}
    assert len(added) == 1
    ((key, record),) = added.items()
    report = json.loads(downloaded)
    assert record["report_sha256"] == hashlib.sha256(downloaded).hexdigest()
    assert (
        record["repo_sha256"] == report["repo"]["sha256"] and record["deployed_sha256"] == report["deployed"]["sha256"]
    )
    assert (record["decision"], record["reviewer"], record["role"]) == ("approve", "ann@example.com", "manager")
    assert record["comment"] == "Within policy; ship it." and record["verdict"] == report["verdict"]["status"]
    assert version_tags(env.uri, NAME, "1") == before_deployed  # never the deployed version

    rows = re.findall(
        r'<tr data-kind="signoff" data-key="([^"]+)" data-decision="([^"]+)" data-status="([^"]+)"', text_of(at)
    )
    assert rows[0] == (key, "approve", "current")  # newest first, shown at once
    assert f'data-key="{key}"' in text_of(at)

    overview = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    overview.query_params.update(params(env))
    overview.run()
    latest = re.search(r'class="mg-signoff-latest" data-decision="(\w[\w-]*)" data-status="(\w+)"', text_of(overview))
    assert latest is not None and latest.groups() == ("approve", "current")
    assert "ann@example.com (manager)" in text_of(overview)


def test_a_comparison_whose_candidate_moved_is_refused_and_the_form_is_kept(env: Store) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(env.uri, env.uri)
    before = {v: version_tags(env.uri, NAME, v) for v in ("1", "2", "3")}
    at = open_report(params(env, "moving"), user={"is_logged_in": True, "email": "ann@example.com"})
    client.set_registered_model_alias(NAME, "moving", "3")  # after the page showed the comparison
    try:
        submit(at, "reject", "Too many flips.", "lead")
    finally:
        client.set_registered_model_alias(NAME, "moving", "2")
    assert any("stale" in e.value and "Compare again" in e.value for e in at.error), [e.value for e in at.error]
    assert at.text_area(key=K + "comment").value == "Too many flips."  # the form keeps what was typed
    assert at.selectbox(key=K + "decision").value == "reject"
    assert {v: version_tags(env.uri, NAME, v) for v in ("1", "2", "3")} == before
    assert len(at.get("download_button")) == 3  # the rest of the page still works


# ---------------------------------------------------------------- the demo workspace (a fresh copy)


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from modelgap.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("signoff-demo") / "demo")


@pytest.fixture()
def demo_env(demo_copy: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("MODELGAP_DEMO_DIR", str(demo_copy.directory))
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_TRUSTED_TRACKING_URIS", HEADER_ENV):
        monkeypatch.delenv(name, raising=False)
    yield demo_copy


def test_the_demo_signs_as_the_labelled_demo_reviewer(demo_env: Any) -> None:
    ws = demo_env
    at = open_report(
        {
            "repo": ws.challenger_source,
            "deployed": ws.deployed_source,
            "uri": ws.tracking_uri,
            "data": str(ws.sample_path),
            "target": ws.target,
            "shap": "0",
        }
    )
    assert any(DEMO_REVIEWER in w.value and "not a person" in w.value for w in at.warning)
    submit(at, "needs-changes", "Try in the review meeting.")
    assert not at.error, [e.value for e in at.error]
    tags = signoff_tags(ws.tracking_uri, ws.model_name, "3")
    assert [r["reviewer"] for r in tags.values()] == [DEMO_REVIEWER]
    assert signoff_tags(ws.tracking_uri, ws.model_name, "2") == {}  # the demo's deployed champion


def test_the_demo_repo_folder_is_not_logged_so_the_page_points_to_the_registered_challenger(demo_env: Any) -> None:
    at = open_report({"shap": "0"})  # the default demo comparison: the repo model is a saved folder
    assert any("saved, not logged" in i.value and "Log or register the model first" in i.value for i in at.info)
    links = [p.proto for p in at.get("page_link") if "challenger" in p.proto.label]
    assert links and "repo=models%3A%2Fcredit-risk%40challenger" in links[0].query_string
    assert all(b.key != K + "submit" for b in at.button)  # no form: there is nowhere to record a sign-off
