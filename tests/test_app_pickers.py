"""AppTest of the git-revision and scoring-endpoint pickers, against a real git repository made here and a real
`mlflow models serve` (one per module), with a real sqlite MLflow registry for the endpoint's paired model.

The app runs without the demo (MODELGAP_DEMO_DIR points at an empty folder); the allowed folder is this
module's temp folder, which holds the git repository, the served model, the data and the tracking store.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from factories import fitted, log_registered, save_mlflow, save_skops
from servers import RunningServer, free_port, start_model_server
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 60
MODEL = "model.skops"


def pick(side: str, name: str) -> str:
    return f"modelgap.pick.{side}.{name}"


@dataclass
class World:
    root: Path
    repo: Path  # a git repository with MODEL committed twice
    data: Path  # CSV with the model's columns and a `target` column
    model_dir: Path  # the same model as an MLflow model folder (what the endpoint serves)
    tracking_uri: str
    registered: str  # the model's registered name (version 1)
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url + "/invocations"


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *env_args, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("pickers")
    model, X, y = fitted("logreg")
    model_dir = save_mlflow(model, root / "served_model", X)
    server = start_model_server(str(model_dir), root / "serve")
    try:
        repo = root / "project"
        repo.mkdir()
        git(repo, "init", "-q")
        save_skops(model, repo / MODEL)
        git(repo, "add", MODEL)
        git(repo, "commit", "-q", "-m", "first model")
        (repo / "README.md").write_text("not a model\n")
        git(repo, "add", "README.md")
        git(repo, "commit", "-q", "-m", "docs only")
        save_skops(fitted("logreg", C=0.05)[0], repo / MODEL)
        git(repo, "add", MODEL)
        git(repo, "commit", "-q", "-m", "retrained model")
        data = root / "sample.csv"
        X.assign(target=y).to_csv(data, index=False)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        log_registered(model, X, "served-model", uri)
        yield World(root, repo, data, model_dir, uri, "served-model", server)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def environment(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELGAP_ALLOWED_DIRS", str(world.root))
    monkeypatch.setenv("MODELGAP_DEMO_DIR", str(world.root / "no-demo"))
    monkeypatch.setenv("MODELGAP_GIT_REPO", str(world.repo))
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", world.tracking_uri)  # the operator offers this registry
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", world.url)  # and this endpoint
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOW_PICKLE_UPLOADS", "MODELGAP_ENDPOINT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    no_exception(at)
    return at


def local_link(world: World) -> dict[str, str]:
    """A comparison of the served model's folder with itself: the "previous comparison" a failure must keep."""
    return {
        "repo": str(world.model_dir),
        "deployed": str(world.model_dir),
        "data": str(world.data),
        "uri": world.tracking_uri,
        "shap": "0",
    }


def test_git_picker_lists_the_revisions_that_changed_the_path_and_applies_one(world: World) -> None:
    expected = git(world.repo, "log", "--format=%H", "--", MODEL).split()
    assert len(expected) == 2  # the README commit did not touch the model
    at = open_app()
    for side in ("repo", "deployed"):
        at.selectbox(key=pick(side, "kind")).set_value("git").run()
        at.text_input(key=pick(side, "git_path")).input(MODEL).run()
    revision = at.selectbox(key=pick("repo", "git_rev"))
    assert len(revision.options) == len(expected)
    listed = []
    for i in range(len(revision.options)):
        at.selectbox(key=pick("repo", "git_rev")).select_index(i).run()
        listed.append(at.selectbox(key=pick("repo", "git_rev")).value)
        assert at.selectbox(key=pick("repo", "git_rev")).options[i].startswith(expected[i][:7])
    assert listed == expected  # newest first, exactly git log's list
    at.selectbox(key=pick("repo", "git_rev")).set_value(expected[0]).run()
    at.selectbox(key=pick("deployed", "git_rev")).set_value(expected[1]).run()
    at.selectbox(key="modelgap.pick.data.kind").set_value("path").run()
    at.selectbox(key="modelgap.pick.data.path").set_value(str(world.data)).run()
    at.number_input(key="modelgap.pick.shap_rows").set_value(0).run()
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["repo"] == f"git:{expected[0]}:{MODEL}"
    assert at.query_params["deployed"] == f"git:{expected[1]}:{MODEL}"


def test_endpoint_picker_checks_the_endpoint_and_pairs_it_with_a_registry_model(world: World) -> None:
    at = open_app(**local_link(world))
    at.selectbox(key=pick("deployed", "kind")).set_value("endpoint").run()
    at.selectbox(key=pick("deployed", "endpoint")).set_value(world.url).run()
    at.button(key=pick("deployed", "check")).click().run()
    assert any(s.value.startswith("OK:") and world.url in s.value for s in at.success), [s.value for s in at.success]
    at.selectbox(key=pick("deployed", "meta_model")).set_value(world.registered).run()
    at.selectbox(key=pick("deployed", "meta_ref")).set_value("1").run()
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["deployed"] == world.url
    assert at.query_params["meta"] == f"models:/{world.registered}/1"
    # The paired entry reached the loader: the endpoint's settings are the registered model's, equal to the repo's.
    assert [m.value for m in at.metric if m.label == "Same settings"] == ["Yes"]
    # Without it, the same URL is a bare endpoint whose settings are unknown: not the cached paired model.
    at.selectbox(key=pick("deployed", "meta_model")).set_value("__none__").run()
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    assert "meta" not in at.query_params
    assert [m.value for m in at.metric if m.label == "Same settings"] == ["Unknown"]


def test_a_dead_endpoint_shows_an_error_and_keeps_the_previous_comparison(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/invocations"
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", f"{world.url},{dead}")
    at = open_app(**local_link(world))
    before = dict(at.query_params)
    at.selectbox(key=pick("deployed", "kind")).set_value("endpoint").run()
    at.selectbox(key=pick("deployed", "endpoint")).set_value(dead).run()
    at.button(key=pick("deployed", "check")).click().run()
    assert any("not reachable" in e.value for e in at.error), [e.value for e in at.error]
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    assert any(e.value.startswith("Not changed:") and "not reachable" in e.value for e in at.error)
    assert {k: at.query_params[k] for k in before} == before  # the previous comparison is still the one shown
    assert [m.value for m in at.metric if m.label == "Same settings"] == ["Yes"]


def test_credentials_in_the_endpoint_url_are_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_url = world.url.replace("http://", "http://alice:s3cret@")
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", secret_url)  # an operator listed it with its password
    at = open_app(**local_link(world))
    at.selectbox(key=pick("deployed", "kind")).set_value("endpoint").run()
    at.selectbox(key=pick("deployed", "endpoint")).set_value(secret_url).run()
    assert any("user name and password" in e.value for e in at.error)
    assert "s3cret" not in " ".join(e.value for e in at.error)
    assert pick("deployed", "check") not in [b.key for b in at.button]  # nothing is sent to that URL
