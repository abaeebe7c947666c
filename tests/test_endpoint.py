"""Endpoint sources against real `mlflow models serve` processes, and against a real server that answers badly."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from endpoint_servers import FaultyServer, Reply, Served, json_reply, labels_of
from factories import fitted, tabular
from servers import free_port

from modelgap.errors import EndpointError, SchemaMismatchError
from modelgap.sources import load_model
from modelgap.sources.endpoint import EndpointModel, EndpointOptions
from modelgap.sources.endpoint_client import EndpointSettings
from modelgap.sources.http_client import short_error_text

pytestmark = pytest.mark.server

ROWS = tabular(n=60)[0]  # input rows for the misbehaving server (its answers do not depend on them)
FAST = EndpointSettings(batch_size=64, concurrency=2, timeout=5.0, retries=0)


def _endpoint(url: str, **options: object) -> EndpointModel:
    settings = options.pop("settings", FAST)
    model = load_model(url, endpoint_options=EndpointOptions(settings=settings, **options))  # type: ignore[arg-type]
    assert isinstance(model, EndpointModel)
    return model


# ---------------------------------------------------------------- the real scoring server


def test_bare_labels_endpoint_predicts_like_the_local_model(served: Served) -> None:
    X = served.X
    ep = _endpoint(served.url_a, probe=X.head(40))
    assert ep.task == "binary" and ep.classes == [0, 1]
    assert ep.features == [] and ep.params is None and ep.metadata.sha256 is None
    assert ep.proba_fn is None and ep.estimator is None  # a black box: SHAP goes model-agnostic
    assert any("unknown" in w for w in ep.metadata.warnings)
    labels = ep.predict_labels(X)
    np.testing.assert_array_equal(labels, served.model_a.predict(X))
    # 600 rows in batches of 64 -> 10 requests, each with its latency kept on the model
    assert len(ep.latencies) >= math.ceil(len(X) / 64)
    assert all(t > 0 for t in ep.latencies)


def test_paired_probability_endpoint_gives_probabilities_params_and_hash(served: Served) -> None:
    X = served.X
    local_b = load_model(str(served.dir_b))
    settings = EndpointSettings(batch_size=7, concurrency=3, timeout=5.0, retries=0)
    ep = _endpoint(served.url_b, deployed_meta=str(served.dir_b), probe=X.head(20), settings=settings)
    assert ep.task == "binary" and ep.classes == [0, 1]
    assert ep.feature_names == ["x1", "x2", "x3", "cat"]
    assert ep.params == local_b.params and ep.params["model__n_estimators"] == 8
    assert ep.metadata.sha256 == local_b.metadata.sha256 and ep.metadata.flavor == "endpoint"
    assert ep.fingerprint != local_b.fingerprint  # the endpoint's answers never share the artifact's cache entries
    rows = X.iloc[:150]
    before = len(ep.latencies)
    proba = ep.predict_proba(rows)
    np.testing.assert_allclose(proba, served.model_b.predict_proba(rows), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ep.predict_labels(rows), served.model_b.predict(rows))
    assert len(ep.latencies) - before == math.ceil(150 / 7)  # labels reused the same answers: one pass
    # columns in another order and extra columns are fine: the paired entry's features are sent
    shuffled = rows[["cat", "x3", "x2", "x1"]].assign(extra=1.0)
    np.testing.assert_allclose(ep.predict_proba(shuffled), proba, rtol=0, atol=1e-12)


def test_bare_probability_endpoint_is_read_as_a_classifier_with_numbered_classes(served: Served) -> None:
    ep = _endpoint(served.url_b, probe=served.X.head(30))
    assert ep.task == "binary" and ep.classes == [0, 1] and ep.has_proba
    assert any("class" in w and "deployed-meta" in w for w in ep.metadata.warnings)
    np.testing.assert_allclose(ep.predict_proba(served.X), served.model_b.predict_proba(served.X), atol=1e-12)


def test_prediction_functions_take_frames_of_any_size(served: Served) -> None:
    ep = _endpoint(served.url_b, deployed_meta=str(served.dir_b))  # no probe: labels only, with a note
    assert ep.proba_fn is None
    assert any("probabilities is unknown" in w for w in ep.metadata.warnings)
    big = served.X.sample(2000, replace=True, random_state=1).reset_index(drop=True)
    for frame in (big.head(1), big):
        np.testing.assert_array_equal(ep.labels_fn(frame), served.model_b.predict(frame))
    assert ep.labels_fn(big.head(0)).shape == (0,)
    with_proba = _endpoint(served.url_b, deployed_meta=str(served.dir_b), probe=big.head(5))
    assert with_proba.predict_proba(big.head(0)).shape == (0, 2)


def test_wrong_column_names_get_a_short_message_from_the_real_server(served: Served) -> None:
    ep = _endpoint(served.url_a)
    bad = served.X.head(300).rename(columns={"x1": "renamed"})
    with pytest.raises(EndpointError) as info:
        ep.predict_labels(bad)
    text = info.value.one_line()
    assert "HTTP 400" in text and "missing inputs ['x1']" in text
    assert len(text) < 500 and f"{bad['x2'].iloc[5]:.6f}" not in text  # the echoed payload is gone
    paired = _endpoint(served.url_a, deployed_meta=str(served.dir_a))
    with pytest.raises(SchemaMismatchError, match="x1"):
        paired.predict_labels(bad)


def test_cli_compare_with_deployed_meta_from_the_registry(
    served: Served, mlflow_server: object, tmp_path: Path
) -> None:
    from factories import log_registered
    from mlflow.tracking import MlflowClient

    from modelgap.cli import main

    uri = mlflow_server.url  # type: ignore[attr-defined]
    name = "modelgap-endpoint-test"
    version = log_registered(served.model_a, served.X, name, uri)
    MlflowClient(uri, uri).set_registered_model_alias(name, "serving", version)
    data = tmp_path / "sample.csv"
    served.X.head(200).assign(y=1).to_csv(data, index=False)
    out = tmp_path / "report.json"
    code = main(
        [
            "compare",
            "--repo", str(served.dir_a),
            "--deployed", served.url_a,
            "--deployed-meta", f"models:/{name}@serving",
            "--tracking-uri", uri,
            "--data", str(data),
            "--target", "y",
            "--no-shap",
            "--quiet",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code in (0, 1)
    report = json.loads(out.read_text())
    deployed = report["deployed"]
    assert deployed["flavor"] == "endpoint" and deployed["params_known"] is True
    assert deployed["mlflow"]["paired_with"] == f"models:/{name}@serving"
    assert deployed["mlflow"]["version"] == version
    assert [f["name"] for f in deployed["features"]] == ["x1", "x2", "x3", "cat"]
    assert report["parameters"]["identical"] is True  # the same model object, logged to the registry


# ---------------------------------------------------------------- faults


def test_endpoint_down_fails_with_a_clear_message() -> None:
    url = f"http://127.0.0.1:{free_port()}/invocations"
    with pytest.raises(EndpointError) as info:
        _endpoint(url, settings=EndpointSettings(timeout=2.0, retries=0))
    assert "not reachable" in str(info.value) and "connection refused" in str(info.value)
    assert url in str(info.value)


def _big_payload(frame: pd.DataFrame, times: int) -> str:
    return frame.to_string() * times


def test_http_500_with_a_huge_html_body_is_shortened(faulty: FaultyServer) -> None:
    def answer(frame: pd.DataFrame, _s: FaultyServer) -> Reply:
        page = (
            "<html><head><style>body { color: red }</style><script>var x = 1;</script></head><body>"
            "<h1>Internal Server Error</h1><p>worker crashed while scoring</p><pre>"
            + _big_payload(frame, 300)
            + "</pre></body></html>"
        )
        return 500, "text/html", page.encode()

    faulty.behaviours["crash"] = answer
    ep = _endpoint(faulty.url("crash"))
    with pytest.raises(EndpointError) as info:
        ep.predict_labels(ROWS.head(50))
    text = info.value.one_line()
    assert "HTTP 500" in text and "Internal Server Error" in text and "worker crashed" in text
    assert "<" not in text and "color: red" not in text and "var x" not in text
    assert len(text) < 600


def test_http_400_echoing_a_large_payload_is_shortened(faulty: FaultyServer) -> None:
    def answer(frame: pd.DataFrame, _s: FaultyServer) -> Reply:
        echoed = _big_payload(frame, 100)  # MLflow echoes the frame twice, then gives the reason
        message = f"Failed to predict data '{echoed}'. \nError: Failed to enforce schema of data '{echoed}' with "
        message += "schema '['x1': double (required)]'. Error: Model is missing inputs ['income']."
        trace = "Traceback (most recent call last):\n  ...\nKeyError: 'income'"
        return json_reply(400, {"error_code": "BAD_REQUEST", "message": message, "stack_trace": trace})

    faulty.behaviours["reject"] = answer
    frame = ROWS.head(50)
    assert len(answer(frame, faulty)[2]) > 300_000
    ep = _endpoint(faulty.url("reject"))
    with pytest.raises(EndpointError) as info:
        ep.predict_labels(frame)
    text = info.value.one_line()
    assert "HTTP 400" in text and "BAD_REQUEST: Model is missing inputs ['income']" in text
    assert len(text) < 400 and str(frame["x1"].iloc[0])[:8] not in text


def test_non_json_answer(faulty: FaultyServer) -> None:
    faulty.behaviours["html"] = lambda _f, _s: (200, "text/html; charset=utf-8", b"<html><body>Sign in</body></html>")
    ep = _endpoint(faulty.url("html"))
    with pytest.raises(EndpointError, match=r"not JSON \(text/html\): Sign in"):
        ep.predict_labels(ROWS.head(5))


def test_wrong_number_of_predictions(faulty: FaultyServer) -> None:
    faulty.behaviours["short"] = lambda f, _s: json_reply(200, {"predictions": [0] * (len(f) - 1)})
    ep = _endpoint(faulty.url("short"))
    with pytest.raises(EndpointError, match="returned 4 predictions for 5 rows"):
        ep.predict_labels(ROWS.head(5))


def test_slow_answer_times_out(faulty: FaultyServer) -> None:
    def answer(frame: pd.DataFrame, server: FaultyServer) -> Reply:
        server.release.wait(timeout=20)  # held until the module's server shuts down
        return json_reply(200, {"predictions": [0] * len(frame)})

    faulty.behaviours["slow"] = answer
    ep = _endpoint(faulty.url("slow"), settings=EndpointSettings(timeout=0.5, retries=1, backoff=0.01))
    with pytest.raises(EndpointError) as info:
        ep.predict_labels(ROWS.head(5))
    assert "did not answer rows 0-4: no answer within 0.5 s" in str(info.value)
    assert "MODELGAP_ENDPOINT_TIMEOUT" in str(info.value)
    assert len(faulty.seen("slow")) == 2  # one retry


def test_unavailable_is_retried_then_succeeds(faulty: FaultyServer) -> None:
    model, X, _ = fitted("pipeline")
    calls = {"n": 0}
    lock = threading.Lock()
    good = labels_of(model)

    def answer(frame: pd.DataFrame, server: FaultyServer) -> Reply:
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        return (503, "text/plain", b"warming up") if first else good(frame, server)

    faulty.behaviours["flaky"] = answer
    ep = _endpoint(faulty.url("flaky"), settings=EndpointSettings(batch_size=1000, retries=2, backoff=0.01))
    np.testing.assert_array_equal(ep.predict_labels(X), model.predict(X))
    records = list(ep.predictor.client.records)  # type: ignore[union-attr]
    assert [r.attempts for r in records] == [2]


def test_credentials_come_from_the_environment_and_are_never_shown(
    faulty: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, X, _ = fitted("pipeline")

    def answer(frame: pd.DataFrame, server: FaultyServer) -> Reply:
        return labels_of(model)(frame, server)

    faulty.behaviours["auth"] = answer
    monkeypatch.setenv("MODELGAP_ENDPOINT_TOKEN", "s3cret-token")
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", faulty.base)  # the token is configured for this server
    ep = _endpoint(faulty.url("auth"))
    ep.predict_labels(X.head(3))
    assert faulty.seen("auth")[-1]["auth"] == "Bearer s3cret-token"
    monkeypatch.delenv("MODELGAP_ENDPOINT_TOKEN")
    url = faulty.url("auth").replace("http://", "http://alice:pa55word@")
    ep = _endpoint(url)
    ep.predict_labels(X.head(3))
    import base64

    assert faulty.seen("auth")[-1]["auth"] == "Basic " + base64.b64encode(b"alice:pa55word").decode()
    shown = json.dumps([ep.source, ep.metadata.location, ep.metadata.mlflow, ep.metadata.warnings])
    assert "pa55word" not in shown and "alice" not in shown


def test_refused_credentials_say_so(faulty: FaultyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    faulty.behaviours["locked"] = lambda _f, _s: json_reply(401, {"message": "Unauthorized"})
    monkeypatch.setenv("MODELGAP_ENDPOINT_TOKEN", "wrong-token")
    monkeypatch.setenv("MODELGAP_ALLOWED_ENDPOINTS", faulty.base)
    ep = _endpoint(faulty.url("locked"))
    with pytest.raises(EndpointError) as info:
        ep.predict_labels(ROWS.head(3))
    assert "refused the credentials (HTTP 401)" in str(info.value) and "wrong-token" not in str(info.value)


def test_error_text_sanitiser_on_plain_bodies() -> None:
    huge = json.dumps({"error_code": "BAD_REQUEST", "message": "Failed to predict data '" + "1.5 " * 10**6 + "'"})
    cut = short_error_text(huge.encode())  # beyond the read limit: the JSON is cut, the payload still elided
    assert cut == "BAD_REQUEST: Failed to predict data '...'"
    assert short_error_text(b"") == "(empty answer)"
    long = short_error_text(("word " * 500).encode())
    assert len(long) <= 300 and long.endswith("...")
    assert short_error_text(b"<p>a &amp; b</p>") == "a & b"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELGAP_ENDPOINT_BATCH_SIZE", "17")
    monkeypatch.setenv("MODELGAP_ENDPOINT_TIMEOUT", "2.5")
    s = EndpointSettings.from_env(concurrency=3)
    assert (s.batch_size, s.timeout, s.concurrency) == (17, 2.5, 3)
    monkeypatch.setenv("MODELGAP_ENDPOINT_RETRIES", "many")
    with pytest.raises(Exception, match="MODELGAP_ENDPOINT_RETRIES"):
        EndpointSettings.from_env()


def test_transport_is_injectable(served: Served) -> None:
    """A caller's transport (here: the default one, wrapped to record) carries every request."""
    from modelgap.sources.http_client import HttpResponse, RequestsTransport

    class Recording(RequestsTransport):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, str, str | None]] = []

        def request(
            self, method: str, url: str, *, body: bytes | None, headers: dict[str, str], timeout: float
        ) -> HttpResponse:  # type: ignore[override]
            self.calls.append((method, url.rsplit("/", 1)[-1], headers.get("Content-Type")))
            return super().request(method, url, body=body, headers=headers, timeout=timeout)

    transport = Recording()
    settings = EndpointSettings(batch_size=250, concurrency=1, timeout=5.0, retries=0)
    ep = _endpoint(served.url_a, transport=transport, settings=settings)
    np.testing.assert_array_equal(ep.predict_labels(served.X), served.model_a.predict(served.X))
    assert transport.calls == [
        ("GET", "ping", None),
        ("GET", "version", None),
        *[("POST", "invocations", "application/json")] * 3,
    ]
    assert ep.metadata.mlflow["server_mlflow_version"] == __import__("mlflow").__version__


def test_floats_reach_the_server_exactly(faulty: FaultyServer) -> None:
    """Rows are sent with every digit: a rounded float could cross a split threshold and fake a difference."""
    faulty.behaviours["echo"] = lambda f, _s: json_reply(200, {"predictions": f["x1"].tolist()})
    rows = ROWS.assign(x1=ROWS["x1"] / 3 + 1e-13, x2=np.nan)  # 17 significant digits, and NaN as null
    ep = _endpoint(faulty.url("echo"), probe=rows.head(10))
    assert ep.task == "regression"
    np.testing.assert_array_equal(ep.predict_values(rows), rows["x1"].to_numpy())
