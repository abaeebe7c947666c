"""Issue 13 through the app (AppTest): malicious uploads run nothing, links cannot reach other hosts, uploads are
private to their session, and the sidebar survives bad tracking URIs without losing the user's picks.

Real components only: real MLflow model folders zipped as a browser would upload them, a real `mlflow server`
(the conftest fixture) as the foreign registry behind a recording HTTP proxy made here, a real HTTP listener
as the foreign scoring endpoint, and the demo workspace's sqlite registry. Malicious artifacts create a marker
file when their code runs: every test asserts the marker is absent.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import pickle
import secrets
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from factories import fitted, save_mlflow, save_skops
from servers import RunningServer, free_port
from streamlit.testing.v1 import AppTest

from components import catalog, compute, config, uploads
from components.wording import app_words

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 240
SECRET_PASSWORD = "s3cret-pw-7781"
SECRET_TOKEN = "tok-s3cret-5512"


def pick(side: str, name: str) -> str:
    return f"modelgap.pick.{side}.{name}"


DATA_KIND, DATA_PATH, DATA_UPLOAD, TARGET = (
    "modelgap.pick.data.kind",
    "modelgap.pick.data.path",
    "modelgap.pick.data.upload",
    "modelgap.pick.data.target",
)
URI, APPLY, SHAP = "modelgap.pick.uri", "modelgap.pick.apply", "modelgap.pick.shap_rows"


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def one_line_error(at: AppTest) -> str:
    """The page shows exactly one error, on one line; it is returned."""
    shown = errors(at)
    assert len(shown) == 1, shown
    assert "\n" not in shown[0]
    return shown[0]


# ------------------------------------------------------------------ malicious and harmless MLflow zips


def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


class _OpensMarker:
    """Unpickling this calls open(marker, "w"): the marker exists if and only if the pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def lightgbm_pickle_zip(folder: Path, marker: Path) -> bytes:
    """F1: a lightgbm flavor whose unknown model_class makes MLflow cloudpickle-load model.pkl."""
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text(
        "flavors:\n"
        "  lightgbm:\n"
        "    model_class: lightgbm.LGBMClassifierX\n"
        "    data: model.pkl\n"
        "    lgb_version: 4.5.0\n"
        "  python_function:\n"
        "    loader_module: mlflow.lightgbm\n"
        "    data: model.pkl\n"
    )
    (folder / "model.pkl").write_bytes(pickle.dumps(_OpensMarker(marker), protocol=4))
    return zip_folder(folder)


def xgboost_code_zip(folder: Path, marker: Path) -> bytes:
    """F2: no pickle at all: MLflow would put code/ on sys.path and import evil_mod.Evil."""
    (folder / "code").mkdir(parents=True)
    (folder / "MLmodel").write_text(
        "flavors:\n"
        "  xgboost:\n"
        "    code: code\n"
        "    model_class: evil_mod.Evil\n"
        "    data: model.xgb\n"
        "    xgb_version: 2.1.0\n"
    )
    (folder / "model.xgb").write_text("{}")
    (folder / "code" / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\n\nclass Evil:\n    pass\n")
    return zip_folder(folder)


def skops_with_code_zip(model: Any, X: Any, folder: Path, marker: Path) -> bytes:
    """A harmless skops sklearn model whose flavor says `code: code`: it must not reach sys.path either."""
    save_mlflow(model, folder, X)
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("    code: null\n", "    code: code\n"))
    assert "code: code" in mlmodel.read_text()
    (folder / "code").mkdir()
    (folder / "code" / "harmless_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    return zip_folder(folder)


# ------------------------------------------------------------------ a folder the operator allows


@dataclass
class World:
    root: Path  # MODELGAP_ALLOWED_DIRS; it also holds the upload folder (the strongest case for privacy)
    model: Path  # a harmless skops model on the server
    data: Path  # its sample data with a `target` column
    estimator: Any
    X: Any

    def link(self, **extra: str) -> dict[str, str]:
        params = {"repo": str(self.model), "deployed": str(self.model), "data": str(self.data), "shap": "0"}
        params.update(extra)
        return params


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("security").resolve()
    estimator, X, y = fitted("logreg")
    model = save_skops(estimator, root / "ok.skops")
    data = root / "data.csv"
    X.assign(target=y).to_csv(data, index=False)
    return World(root, model, data, estimator, X)


@pytest.fixture()
def app_env(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """No demo, the world's folder allowed, no operator lists; the upload folder inside the allowed folder."""
    monkeypatch.setenv("MODELGAP_ALLOWED_DIRS", str(world.root))
    monkeypatch.setenv("MODELGAP_DEMO_DIR", str(world.root / "no-demo"))
    for name in (
        "MLFLOW_TRACKING_URI",
        "MODELGAP_TRUSTED_TRACKING_URIS",
        "MODELGAP_ALLOWED_ENDPOINTS",
        "MODELGAP_ALLOW_PICKLE_UPLOADS",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN",
        "MODELGAP_ENDPOINT_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    inside = world.root / "uploads"
    inside.mkdir(exist_ok=True)
    monkeypatch.setattr(config, "_UPLOAD_ROOT", inside)  # as if the operator allowed the temp folder
    yield world


def open_app(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    no_exception(at)
    return at


def upload_repo(at: AppTest, name: str, data: bytes) -> None:
    at.selectbox(key=pick("repo", "kind")).set_value("upload").run()
    at.file_uploader(key=pick("repo", "upload")).set_value((name, data, "application/zip"))
    at.run()
    no_exception(at)


def from_uploads(before: set[str]) -> list[str]:
    """Modules imported since `before` whose file lies in the upload folder."""
    root = str(config.upload_root())
    return [
        name
        for name, module in list(sys.modules.items())
        if name not in before and str(getattr(module, "__file__", "") or "").startswith(root)
    ]


# ------------------------------------------------------------------ F1 / F2: uploads run no code


@pytest.mark.parametrize("form", ["lightgbm-pickle", "xgboost-code", "skops-with-code"])
def test_a_code_bearing_upload_is_refused_in_one_line_and_runs_nothing(
    app_env: World, tmp_path: Path, form: str
) -> None:
    marker = tmp_path / "marker"
    name = f"{form}.zip"
    if form == "lightgbm-pickle":
        data = lightgbm_pickle_zip(tmp_path / "m", marker)
    elif form == "xgboost-code":
        data = xgboost_code_zip(tmp_path / "m", marker)
    else:
        data = skops_with_code_zip(app_env.estimator, app_env.X, tmp_path / "m", marker)
    at = open_app(**app_env.link())
    before_params = dict(at.query_params)
    path_before, modules_before = list(sys.path), set(sys.modules)
    upload_repo(at, name, data)
    at.button(key=APPLY).click().run()
    no_exception(at)
    message = one_line_error(at)
    assert message.startswith("Not changed:") and "would run code" in message, message
    assert name in message and str(config.upload_root()) not in message  # the user's file name, not the path
    assert not marker.exists()
    assert sys.path == path_before
    assert not from_uploads(modules_before) and "evil_mod" not in sys.modules and "harmless_mod" not in sys.modules
    assert dict(at.query_params) == before_params  # nothing loaded: the previous comparison is still the one shown


def test_a_code_free_mlflow_zip_upload_compares(app_env: World, tmp_path: Path) -> None:
    """The control: the same upload path loads a skops MLflow model, named by its file everywhere."""
    data = zip_folder(save_mlflow(app_env.estimator, tmp_path / "good", app_env.X))
    at = open_app(**app_env.link())
    upload_repo(at, "good-model.zip", data)
    at.button(key=APPLY).click().run()
    no_exception(at)
    assert not errors(at), errors(at)
    assert at.query_params["repo"] == f"upload:{hashlib.sha256(data).hexdigest()[:12]}/good-model.zip"
    badges = "\n".join(str(m.value) for m in at.markdown)
    assert "upload: good-model.zip" in badges and str(config.upload_root()) not in badges


# ------------------------------------------------------------------ F4 in AppTest: another session's upload


def test_uploads_are_private_to_their_session(app_env: World) -> None:
    csv = app_env.data.read_bytes()
    a = open_app(**app_env.link())
    a.selectbox(key=DATA_KIND).set_value("upload").run()
    a.file_uploader(key=DATA_UPLOAD).set_value(("my-sample.csv", csv, "text/csv"))
    a.run()
    a.button(key=APPLY).click().run()
    no_exception(a)
    assert not errors(a), errors(a)
    link = a.query_params["data"]
    assert link == f"upload:{hashlib.sha256(csv).hexdigest()[:12]}/my-sample.csv"
    a_path = a.session_state["modelgap.uploads"][-1]["path"]
    assert Path(a_path).read_bytes() == csv and Path(a_path).is_relative_to(app_env.root)  # in an allowed folder

    catalog.data_files.clear()  # list the folder afresh, now that it holds A's upload
    b = open_app(**app_env.link())
    b.selectbox(key=DATA_KIND).set_value("path").run()
    listed = b.selectbox(key=DATA_PATH).options
    assert str(app_env.data) in listed or app_env.data.name in " ".join(listed)  # the scan covers that folder
    assert not any("my-sample" in o or "uploads" in o for o in listed), listed
    for shared in (a_path, link):  # a link with A's server path, and A's own shared link
        c = open_app(**app_env.link(data=shared))
        message = one_line_error(c)
        assert "uploaded in another session" in message and a_path not in message, message
        assert not c.metric  # nothing was compared
        assert c.selectbox(key=pick("repo", "kind")).value  # the pickers keep working
    # The same bytes uploaded in B are B's own copy: cached models and comparisons are keyed by per-session paths.
    b.selectbox(key=DATA_KIND).set_value("upload").run()
    b.file_uploader(key=DATA_UPLOAD).set_value(("my-sample.csv", csv, "text/csv"))
    b.run()
    b_path = b.session_state["modelgap.uploads"][-1]["path"]
    assert b_path != a_path and Path(b_path).read_bytes() == csv


def test_the_sweep_removes_uploads_older_than_the_cache_ttl(app_env: World) -> None:
    assert uploads.UPLOAD_TTL_S == compute.TTL_S
    folder = uploads.session_folder(secrets.token_hex(16), owner="")
    stored = Path(uploads.store_data_upload(b"a,b\n1,2\n", "x.csv", folder))
    uploads.sweep()
    assert stored.exists()  # young, and its session is not known to have ended: kept
    removed = uploads.sweep(now=time.time() + uploads.UPLOAD_TTL_S + 5)
    assert stored.parent in removed and not stored.exists() and not folder.exists()


def test_session_liveness_uses_one_pinned_streamlit_internal() -> None:
    """Outside `streamlit run` the answer is unknown (the TTL applies); the internal it reads still exists.

    tests/test_browser_security.py checks the real answer: an ended session's folder is removed."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    assert uploads.session_alive("no-such-session") is None
    assert "self._session_mgr" in inspect.getsource(Runtime.__init__)
    assert callable(getattr(WebsocketSessionManager, "get_session_info", None))


# ------------------------------------------------------------------ F3: links naming other hosts


@dataclass
class Recorder:
    """A tiny HTTP listener that records every request (and its Authorization header); with `target`, it
    forwards each request there and returns the answer (a recording proxy in front of a real server)."""

    target: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Recorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.seen.append(
                    {"method": self.command, "path": self.path, "authorization": self.headers.get("Authorization")}
                )
                if recorder.target is None:
                    status, content, ctype = 200, b'{"predictions": [0]}', "application/json"
                else:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    resp = requests.request(
                        self.command, recorder.target + self.path, headers=headers, data=body, timeout=30
                    )
                    status, content = resp.status_code, resp.content
                    ctype = resp.headers.get("Content-Type", "application/octet-stream")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Foreign:
    registry: Recorder  # a recording proxy in front of a real `mlflow server` holding a malicious model
    endpoint: Recorder  # a listener posing as a scoring endpoint
    model: str  # models:/<name>/1: a cloudpickle model whose unpickling creates `marker`
    marker: Path


@pytest.fixture(scope="module")
def foreign(mlflow_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Foreign]:
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("foreign")
    marker = root / "marker"
    folder = root / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n"
        "    sklearn_version: 1.5.0\n"
    )
    (folder / "model.pkl").write_bytes(pickle.dumps(_OpensMarker(marker), protocol=4))
    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    name = f"evil-{uuid.uuid4().hex[:8]}"
    run = client.create_run(client.create_experiment(name))
    client.log_artifacts(run.info.run_id, str(folder), "model")
    client.create_registered_model(name)
    client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    registry, endpoint = Recorder(target=mlflow_server.url).start(), Recorder().start()
    try:
        yield Foreign(registry, endpoint, f"models:/{name}/1", marker)
    finally:
        registry.stop()
        endpoint.stop()


@pytest.fixture()
def server_credentials(app_env: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The app's server holds MLflow and endpoint credentials (configured for other hosts than the link's)."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRET_PASSWORD)
    monkeypatch.setenv("MODELGAP_ENDPOINT_TOKEN", SECRET_TOKEN)
    return app_env


def test_a_link_to_a_foreign_registry_is_refused_and_reaches_nothing(
    server_credentials: World, foreign: Foreign
) -> None:
    foreign.registry.seen.clear()
    at = open_app(uri=foreign.registry.url, repo=foreign.model, deployed=foreign.model, shap="0")
    message = one_line_error(at)
    assert "not one this server offers" in message, message
    assert SECRET_PASSWORD not in message and "alice" not in message
    assert foreign.registry.seen == []  # no request at all, so no credentials either
    assert not foreign.marker.exists()
    assert at.selectbox(key=pick("repo", "kind")).value  # the pickers keep working
    assert URI not in [s.key for s in at.selectbox]  # nothing offered: the link's URI is not among the choices


def test_a_link_to_a_foreign_endpoint_is_refused_and_sends_nothing(server_credentials: World, foreign: Foreign) -> None:
    foreign.endpoint.seen.clear()
    at = open_app(**server_credentials.link(deployed=foreign.endpoint.url + "/invocations"))
    message = one_line_error(at)
    assert "not one this server may call" in message, message
    assert SECRET_TOKEN not in message
    assert foreign.endpoint.seen == []  # neither the token nor the sample rows left the server
    at.selectbox(key=pick("deployed", "kind")).set_value("endpoint").run()
    no_exception(at)
    assert any("MODELGAP_ALLOWED_ENDPOINTS" in i.value for i in at.info)  # how the operator adds one
    assert foreign.endpoint.seen == []


def test_listed_hosts_get_their_credentials_which_proves_the_listeners_record(
    server_credentials: World, foreign: Foreign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the two tests above: once the operator lists them, the same hosts are reached."""
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", foreign.registry.url)
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", foreign.endpoint.url + "/invocations")
    foreign.registry.seen.clear()
    foreign.endpoint.seen.clear()
    at = open_app()
    assert at.selectbox(key=URI).options == [foreign.registry.url]
    assert foreign.model.split("/")[1] in at.selectbox(key=pick("repo", "model")).options
    basic = "Basic " + base64.b64encode(f"alice:{SECRET_PASSWORD}".encode()).decode()
    assert foreign.registry.seen and {r["authorization"] for r in foreign.registry.seen} == {basic}
    at.selectbox(key=pick("deployed", "kind")).set_value("endpoint").run()
    at.button(key=pick("deployed", "check")).click().run()
    assert foreign.endpoint.seen and foreign.endpoint.seen[0]["authorization"] == f"Bearer {SECRET_TOKEN}"
    assert not foreign.marker.exists()  # listing a registry loads no model


# ------------------------------------------------------------------ the sidebar (issue 13's last bullet)
# AppTest runs the whole script where the browser reruns only the sidebar's fragment, and a whole run keeps a
# hidden selectbox's value: the lost @champion and label column reproduce only in the browser, so
# tests/test_browser_security.py is the test that fails without the fix; these pin the rest of the behaviour.


@pytest.fixture()
def demo(demo_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
    for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MODELGAP_TRUSTED_TRACKING_URIS", raising=False)
    return demo_workspace


def test_an_unknown_scheme_shows_one_error_and_correcting_it_keeps_champion(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", "htp:/x")
    at = open_app()
    assert not errors(at), errors(at)
    assert at.selectbox(key=pick("deployed", "ref")).value == "@champion"
    at.selectbox(key=URI).set_value("htp:/x").run()
    no_exception(at)
    message = one_line_error(at)
    assert "unknown scheme" in message and "Choose another tracking URI" in message, message
    assert at.selectbox(key=pick("deployed", "kind")).value == "registry"  # the pickers are still there
    assert pick("deployed", "ref") not in [s.key for s in at.selectbox]  # not drawn: the registry is unusable
    at.selectbox(key=URI).set_value(demo.tracking_uri).run()
    no_exception(at)
    assert not errors(at), errors(at)  # the old error is gone
    assert at.selectbox(key=pick("deployed", "ref")).value == "@champion"  # not silently @challenger


def test_a_link_with_an_unknown_scheme_is_refused_and_the_pickers_stay(demo: Any) -> None:
    at = open_app(uri="htp:/x")
    message = one_line_error(at)
    assert "not one this server offers" in message
    assert at.selectbox(key=URI).value == demo.tracking_uri  # the pickers fall back to the offered registry
    assert at.selectbox(key=pick("deployed", "ref")).value == "@champion"


def test_an_unreachable_server_is_worded_for_the_app_and_compare_adds_nothing(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", dead)
    at = open_app()
    at.selectbox(key=URI).set_value(dead).run()
    message = one_line_error(at)
    assert "Cannot reach" in message and "Choose another tracking URI above" in message, message
    assert "--" not in message
    at.button(key=APPLY).click().run()
    no_exception(at)
    assert errors(at) == [message]  # no "Choose both models and the sample data first" on top


def test_the_label_column_survives_a_data_upload(demo: Any) -> None:
    at = open_app()
    assert at.selectbox(key=TARGET).value == demo.target == "default"
    at.selectbox(key=DATA_KIND).set_value("upload").run()
    assert TARGET not in [s.key for s in at.selectbox]  # hidden while no file is uploaded
    at.file_uploader(key=DATA_UPLOAD).set_value(("sample.csv", demo.sample_path.read_bytes(), "text/csv"))
    at.run()
    no_exception(at)
    assert at.selectbox(key=TARGET).value == "default"
    at.file_uploader(key=DATA_UPLOAD).set_value(("other.csv", b"a,b\n1,2\n3,4\n", "text/csv"))
    at.run()
    assert at.selectbox(key=TARGET).value == "__none__"  # a column the file lacks is not kept


def test_an_old_error_goes_away_once_the_pick_is_fixed(demo: Any) -> None:
    at = open_app()
    at.selectbox(key=pick("deployed", "kind")).set_value("text").run()
    at.text_input(key=pick("deployed", "text")).input(f"models:/{demo.model_name}@nope").run()
    at.button(key=APPLY).click().run()
    message = one_line_error(at)
    assert message.startswith("Not changed:") and "nope" in message
    at.text_input(key=pick("deployed", "text")).input(f"models:/{demo.model_name}@champion").run()
    assert not errors(at), errors(at)  # fixed, not yet compared: the stale reason is gone


def test_cli_flags_in_core_messages_become_app_words() -> None:
    assert app_words("No MLflow tracking URI is set. Pass --tracking-uri or set MLFLOW_TRACKING_URI.") == (
        "No MLflow tracking URI is set. Choose an MLflow tracking URI in the sidebar."
    )
    assert "--" not in app_words("Check that --deployed-meta names the model the endpoint serves.")
    assert app_words("Nothing to map here.") == "Nothing to map here."


def test_the_server_binds_loopback_and_watches_no_files() -> None:
    import tomllib

    settings = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())["server"]
    assert settings["address"] == "127.0.0.1" and settings["fileWatcherType"] == "none"
    assert settings["enableXsrfProtection"] is True
