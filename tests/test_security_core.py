"""Issue 13 in the core: what runs code loads only from allowed origins; credentials go only where configured.

Every malicious artifact is built here, in a temp folder, and would create a marker file if any of its code
ran. The assertions are that the marker is absent, the refusal is one line, and sys.path / sys.modules gained
nothing from the attempt.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from factories import fitted, save_mlflow

from modelgap.errors import EndpointError, ModelgapError, SourceError, TrackingServerError, UntrustedModelError
from modelgap.redact import redact
from modelgap.sources import Trust, load_model
from modelgap.sources.codecheck import code_risks, safe_plan
from modelgap.sources.credentials import check_endpoint_destination, check_mlflow_destination

# ------------------------------------------------------------------ malicious artifacts


class _Marker:
    """Unpickling this creates `path`: proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, ...]]:
        return (os.mkdir, (str(self.path),))


def _mlmodel(path: Path, flavors: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "MLmodel").write_text(yaml.safe_dump({"flavors": flavors, "mlflow_version": "3.17.2"}))


def f1_lightgbm_pickle(root: Path, marker: Path) -> Path:
    """F1: a lightgbm flavor whose model_class is not the Booster, so MLflow cloudpickle-loads its data."""
    model = root / "f1"
    _mlmodel(model, {"lightgbm": {"model_class": "lightgbm.LGBMClassifierX", "data": "model.pkl"}})
    (model / "model.pkl").write_bytes(pickle.dumps(_Marker(marker)))
    return model


def f2_xgboost_code(root: Path, marker: Path) -> Path:
    """F2: no pickle at all: a code/ folder MLflow puts on sys.path, and a model_class it imports from there."""
    model = root / "f2"
    _mlmodel(model, {"xgboost": {"code": "code", "model_class": "evil_mod.Evil", "data": "model.xgb"}})
    (model / "code").mkdir()
    (model / "code" / "evil_mod.py").write_text(f"import os\nos.mkdir({str(marker)!r})\nclass Evil: pass\n")
    (model / "model.xgb").write_bytes(b"{}")
    return model


def pyfunc_loader_module(root: Path, marker: Path) -> Path:
    """A python_function model whose loader_module lives in its own code/ folder."""
    model = root / "pyfunc"
    _mlmodel(model, {"python_function": {"loader_module": "evil_loader", "code": "code", "data": "x"}})
    (model / "code").mkdir()
    (model / "code" / "evil_loader.py").write_text(
        f"import os\nos.mkdir({str(marker)!r})\ndef _load_pyfunc(path): return None\n"
    )
    return model


def skops_with_code(root: Path) -> Path:
    """A harmless skops sklearn model whose flavor says `code: code` (it used to pass and poison sys.path)."""
    model, X, _ = fitted("gbm", "binary")
    path = save_mlflow(model, root / "skops-code", X)
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"]["code"] = "code"
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    (path / "code").mkdir()
    (path / "code" / "helper_mod_for_test.py").write_text("VALUE = 1\n")
    return path


@dataclass
class Snapshot:
    path: list[str] = field(default_factory=lambda: list(sys.path))
    modules: set[str] = field(default_factory=lambda: set(sys.modules))

    def unchanged(self) -> bool:
        return sys.path == self.path and set(sys.modules) <= self.modules


def _refused(source: Path, trust: Trust) -> UntrustedModelError:
    with pytest.raises(UntrustedModelError) as err:
        load_model(str(source), trust=trust)
    return err.value


@pytest.fixture()
def marker(tmp_path: Path) -> Path:
    return tmp_path / "CODE-RAN"


@pytest.mark.parametrize("build", [f1_lightgbm_pickle, f2_xgboost_code, pyfunc_loader_module])
def test_code_bearing_models_are_refused_from_untrusted_origins(tmp_path: Path, marker: Path, build: Any) -> None:
    model = build(tmp_path, marker)
    assert code_risks(model, yaml.safe_load((model / "MLmodel").read_text())), "the check must see the risk"
    _refused(model, Trust.nothing())  # warm up modelgap's own imports
    before = Snapshot()
    err = _refused(model, Trust.nothing())
    assert not marker.exists()
    assert before.unchanged()
    assert "\n" not in str(err) and "would run code" in str(err)
    # An operator who allowed another folder does not allow this one either.
    elsewhere = tmp_path / "allowed-elsewhere"
    elsewhere.mkdir()
    _refused(model, Trust(code_dirs=(elsewhere,)))
    assert not marker.exists()


def test_an_upload_folder_below_an_allowed_folder_stays_untrusted(tmp_path: Path, marker: Path) -> None:
    uploads = tmp_path / "uploads"
    model = f1_lightgbm_pickle(uploads, marker)
    trust = Trust(code_dirs=(tmp_path,), never_dirs=(uploads,))
    assert not trust.local_may_run_code(model)
    _refused(model, trust)
    assert not marker.exists()


def test_a_skops_model_that_ships_code_is_refused_untrusted_and_leaves_sys_path_alone(tmp_path: Path) -> None:
    path = skops_with_code(tmp_path)
    _refused(path, Trust.nothing())
    before = Snapshot()
    err = _refused(path, Trust.nothing())
    assert "code folder" in str(err)
    assert before.unchanged() and "helper_mod_for_test" not in sys.modules
    assert not any(str(path) in p for p in sys.path)


def test_the_cli_trust_loads_code_bearing_models_and_says_so_once(tmp_path: Path, marker: Path) -> None:
    told: list[str] = []
    model, X, _ = fitted("gbm", "binary")
    import joblib

    pkl = tmp_path / "model.joblib"
    joblib.dump(model, pkl)
    loaded = load_model(str(pkl), trust=Trust.cli(notice=told.append))
    assert loaded.metadata.runs_code
    assert len(told) == 1 and "runs any code" in told[0]
    np.testing.assert_array_equal(loaded.predict_labels(X), model.predict(X))


def test_the_cli_prints_the_code_notice_once_on_stderr(tmp_path: Path, demo_workspace: Any) -> None:
    import joblib

    model, X, y = fitted("gbm", "binary")
    pkl = tmp_path / "model.joblib"
    joblib.dump(model, pkl)
    data = tmp_path / "data.csv"
    X.assign(y=y).to_csv(data, index=False)
    out = subprocess.run(
        [sys.executable, "-m", "modelgap", "compare", "--repo", str(pkl), "--deployed", str(pkl), "--data", str(data),
         "--no-shap", "--quiet", "--fail-on", "never"],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if "runs any code" in line]
    assert len(notes) == 1, out.stderr  # the same file on both sides: said once
    assert "Traceback" not in out.stderr


SAFE_KINDS = [
    ("gbm", "binary"),
    ("xgboost", "binary"),
    ("lgbm_booster", "binary"),
    ("xgboost", "regression"),
    ("lightgbm", "binary"),
]


def _safe_model(kind: str, task: str, root: Path) -> tuple[Path, Any, Any]:
    if kind == "lgbm_booster":
        import lightgbm as lgb

        _, X, y = fitted("gbm", task)
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lgb.Dataset(X, y), 10)
        return save_mlflow(booster, root / "lgb", X), booster, X
    model, X, _ = fitted(kind, task)
    return save_mlflow(model, root / f"{kind}-{task}", X), model, X


@pytest.mark.parametrize(("kind", "task"), SAFE_KINDS)
def test_safe_formats_load_from_untrusted_origins_without_mlflow_loaders(tmp_path: Path, kind: str, task: str) -> None:
    path, model, X = _safe_model(kind, task, tmp_path)
    assert safe_plan(path, yaml.safe_load((path / "MLmodel").read_text())) is not None
    load_model(str(path), trust=Trust.nothing())  # warm up the libraries' own imports
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    before = Snapshot()
    loaded = load_model(str(copy), trust=Trust.nothing())
    assert before.unchanged()
    assert not loaded.metadata.runs_code
    expected = model.predict(X) if kind != "lgbm_booster" else (model.predict(X) > 0.5).astype(int)
    if task == "regression":
        np.testing.assert_allclose(loaded.predict_values(X), expected, rtol=1e-6)
    else:
        np.testing.assert_array_equal(np.asarray(loaded.predict_labels(X)).astype(int), expected)


def test_a_data_file_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("tree\n")
    model = tmp_path / "escape"
    _mlmodel(model, {"lightgbm": {"model_class": "lightgbm.basic.Booster", "data": "../secret.txt"}})
    with pytest.raises(SourceError, match="outside the model folder"):
        load_model(str(model), trust=Trust.nothing())


def test_an_lfs_pointer_inside_an_mlflow_folder_is_named(tmp_path: Path) -> None:
    model, X, _ = fitted("gbm", "binary")
    path = save_mlflow(model, tmp_path / "lfs", X)
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n"
    (path / "model.skops").write_bytes(pointer)
    with pytest.raises(SourceError) as err:
        load_model(str(path))
    assert "Git LFS pointer" in str(err.value) and "git lfs" in str(err.value)
    assert "BadZipFile" not in str(err.value)


# ------------------------------------------------------------------ registries


def _log_cloudpickled(tracking_uri: str, name: str) -> None:
    import mlflow
    import mlflow.sklearn
    from mlflow.tracking import MlflowClient

    model, _, _ = fitted("ridge", "regression")
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model, name="model", pip_requirements=["scikit-learn"], serialization_format="cloudpickle"
            )
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        client.create_registered_model(name)
        version = client.create_model_version(name, info.model_uri, model_id=info.model_id)
        client.set_registered_model_alias(name, "champion", version.version)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


def test_a_registry_the_operator_did_not_list_cannot_supply_code(mlflow_server: Any) -> None:
    _log_cloudpickled(mlflow_server.url, "pickled-model")
    source = "models:/pickled-model@champion"
    with pytest.raises(UntrustedModelError, match="would run code"):
        load_model(source, tracking_uri=mlflow_server.url, trust=Trust(code_registries=("http://127.0.0.1:1",)))
    loaded = load_model(source, tracking_uri=mlflow_server.url, trust=Trust(code_registries=(mlflow_server.url,)))
    assert loaded.metadata.runs_code and loaded.metadata.flavor == "sklearn"


# ------------------------------------------------------------------ credentials go only where configured


@dataclass
class Listener:
    """A local HTTP server that records every request and reflects its headers in a 500 answer."""

    httpd: ThreadingHTTPServer
    seen: list[dict[str, str]] = field(default_factory=list)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture()
def listener() -> Iterator[Listener]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    box = Listener(httpd)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self) -> None:
            box.seen.append({"path": self.path, "auth": self.headers.get("Authorization") or ""})
            if self.path.endswith(("/ping", "/health")):
                status, body = 200, b"OK"
            else:  # a proxy that reflects what it received, Authorization included
                status, body = 500, json.dumps({"message": f"bad input; headers were {dict(self.headers)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

    httpd.RequestHandlerClass = Handler
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield box
    httpd.shutdown()
    httpd.server_close()


def test_mlflow_credentials_never_reach_an_unconfigured_tracking_server(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # what they were configured for
    monkeypatch.delenv("MODELGAP_TRUSTED_TRACKING_URIS", raising=False)
    with pytest.raises(TrackingServerError) as err:
        load_model("models:/anything@champion", tracking_uri=listener.base)
    assert listener.seen == []  # not a single request: the credentials never left
    assert "s3cret-pass" not in str(err.value) and "\n" not in str(err.value)
    # Listed by the operator, it is configured: the request goes out, with the credentials.
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", listener.base)
    check_mlflow_destination(listener.base)
    with pytest.raises(SourceError):
        load_model("models:/anything@champion", tracking_uri=listener.base)
    assert listener.seen and listener.seen[0]["auth"].startswith("Basic ")


def test_endpoint_credentials_go_only_to_listed_endpoints_and_never_into_messages(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-ABCDEF123456"
    monkeypatch.setenv("MODELGAP_ENDPOINT_TOKEN", token)
    monkeypatch.delenv("MODELGAP_ALLOWED_ENDPOINTS", raising=False)
    url = f"{listener.base}/invocations"
    with pytest.raises(EndpointError) as err:
        load_model(url)
    assert listener.seen == [] and "MODELGAP_ALLOWED_ENDPOINTS" in str(err.value)
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", listener.base)
    check_endpoint_destination(url)
    from modelgap.sources.endpoint import EndpointOptions

    probe = fitted("gbm", "binary")[1].head(3)
    with pytest.raises(ModelgapError) as err:
        load_model(url, endpoint_options=EndpointOptions(probe=probe))
    posted = [s for s in listener.seen if s["path"].endswith("/invocations")]
    assert posted and posted[0]["auth"] == f"Bearer {token}"  # the listed endpoint did get it
    assert token not in str(err.value)  # ... but the reflected header is not echoed back to the user


def test_redaction_covers_urls_headers_and_configured_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2-pw")
    text = (
        "GET http://bob:pw1@host:5000/x failed; Authorization: Basic Ym9iOnB3MQ== cookie=abc123; "
        "'authorization': 'Bearer eyJhbGciOi.xyz' and the password hunter2-pw"
    )
    out = redact(text)
    for secret in ("pw1", "Ym9iOnB3MQ==", "abc123", "eyJhbGciOi.xyz", "hunter2-pw"):
        assert secret not in out
    assert "http://***@host:5000/x" in out
    err = SourceError(f"Cannot reach sqlite://x and https://u:p4ss@h/{'a' * 3}", "Authorization: Bearer zzzzzzzz")
    assert "p4ss" not in str(err) and "zzzzzzzz" not in str(err)


def test_an_unknown_tracking_uri_scheme_is_one_clear_line() -> None:
    with pytest.raises(SourceError, match="unknown scheme 'htp'"):
        load_model("models:/x@y", tracking_uri="htp:/x")


def test_reports_carry_no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelgap.comparison import CompareOptions, run_comparison
    from modelgap.report import comparison_to_dict, render_html, render_markdown

    monkeypatch.setenv("MODELGAP_ENDPOINT_TOKEN", "tok-in-a-tag-9876")
    model, X, _ = fitted("gbm", "binary")
    path = save_mlflow(model, tmp_path / "m", X)
    repo = load_model(str(path))
    deployed = load_model(str(path))
    # What a registry may hand back: an artifact URL with userinfo, a tag that quotes a token.
    repo.metadata.mlflow["model_version_source"] = "https://bob:pw-in-url@store.example/artifacts/1"
    repo.metadata.mlflow["tags"] = {"note": "deployed with tok-in-a-tag-9876"}
    data = tmp_path / "data.csv"
    X.head(50).to_csv(data, index=False)
    comparison = run_comparison(repo, deployed, data_path=data, options=CompareOptions(no_shap=True))
    texts = [json.dumps(comparison_to_dict(comparison)), render_markdown(comparison), render_html(comparison)]
    for text in texts:
        assert "pw-in-url" not in text and "tok-in-a-tag-9876" not in text
    assert "https://***@store.example/artifacts/1" in texts[0]
