"""Serving parity: an artifact against a real `mlflow models serve` of it, of another model, and a failing one."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from endpoint_servers import FaultyServer, Reply, Served, json_reply, labels_of

from modelgap.comparison import CompareOptions, Comparison
from modelgap.errors import EndpointError
from modelgap.options import SourceContext
from modelgap.params import compare_parameters
from modelgap.parity import build_parity, check_parity
from modelgap.sources import load_model
from modelgap.sources.endpoint import EndpointModel, EndpointOptions
from modelgap.sources.endpoint_client import EndpointSettings

pytestmark = pytest.mark.server

SETTINGS = EndpointSettings(batch_size=100, concurrency=2, timeout=5.0, retries=0)


def _endpoint(url: str, meta: str, probe: pd.DataFrame | None) -> EndpointModel:
    model = load_model(url, endpoint_options=EndpointOptions(deployed_meta=meta, probe=probe, settings=SETTINGS))
    assert isinstance(model, EndpointModel)
    return model


def test_labels_endpoint_serving_its_artifact_has_parity(served: Served) -> None:
    X = served.X
    artifact = load_model(str(served.dir_a))
    result = check_parity(artifact, _endpoint(served.url_a, str(served.dir_a), X.head(20)), X, batch_size=40)
    d = result.to_dict()
    assert d["compared"] == "labels"  # the default MLflow sklearn server answers labels
    assert (d["n_rows"], d["n_requested"], d["n_differing"], d["differing_rate"]) == (600, 600, 0, 0.0)
    assert d["n_errors"] == 0 and d["differing"] == []
    assert d["n_requests"] == math.ceil(600 / 40) == d["latency_ms"]["n"]
    lat = d["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    json.dumps(d, allow_nan=False)


def test_probability_endpoint_serving_its_artifact_has_parity(served: Served) -> None:
    X = served.X
    result = check_parity(
        load_model(str(served.dir_b)), _endpoint(served.url_b, str(served.dir_b), X.head(20)), X, max_rows=300
    )
    assert result.compared == "probabilities" and result.tolerance == 1e-6
    assert (result.n_rows, result.n_differing) == (300, 0)
    assert result.max_abs_diff < 1e-12


def test_endpoint_serving_another_model_shows_the_expected_disagreement(served: Served) -> None:
    """Endpoint B claims to serve A (same classes, another model): rows differ where their probabilities do."""
    X = served.X
    artifact = load_model(str(served.dir_a))
    wrong = _endpoint(served.url_b, str(served.dir_a), X.head(20))
    result = check_parity(artifact, wrong, X, top_n=10)
    expected = np.abs(served.model_a.predict_proba(X) - served.model_b.predict_proba(X)).max(axis=1)
    differs = expected > 1e-6
    assert result.compared == "probabilities"
    assert result.n_differing == int(differs.sum()) > 0
    assert result.differing_rate == pytest.approx(differs.mean())
    assert result.max_abs_diff == pytest.approx(expected.max(), abs=1e-12)
    top_rows = [r["row"] for r in result.differing]
    assert top_rows == [int(i) for i in np.argsort(-expected, kind="stable")[:10]]
    assert result.differing[0]["abs_diff"] == pytest.approx(expected.max(), abs=1e-12)
    # labels-only comparison of the same pair: the A server (labels) against model B's artifact
    labels = check_parity(load_model(str(served.dir_b)), _endpoint(served.url_a, str(served.dir_b), None), X)
    label_diff = served.model_a.predict(X) != served.model_b.predict(X)
    assert labels.compared == "labels" and labels.n_differing == int(label_diff.sum())


def test_failed_requests_are_counted_and_the_rest_compared(served: Served, faulty: FaultyServer) -> None:
    X = served.X
    good = labels_of(served.model_a)

    def answer(frame: pd.DataFrame, server: FaultyServer) -> Reply:
        if int(frame["x3"].iloc[0]) % 2 == 0:  # decided by the rows, so concurrency cannot change it
            return json_reply(500, {"error_code": "INTERNAL_ERROR", "message": "out of memory"})
        return good(frame, server)

    faulty.behaviours["half"] = answer
    artifact = load_model(str(served.dir_a))
    result = check_parity(artifact, _endpoint(faulty.url("half"), str(served.dir_a), None), X, batch_size=50)
    starts = range(0, len(X), 50)
    failed = [s for s in starts if int(X["x3"].iloc[s]) % 2 == 0]
    assert 0 < len(failed) < len(starts)
    assert result.n_errors == len(failed) and result.n_requests == len(starts)
    assert result.n_error_rows == sum(min(50, len(X) - s) for s in failed)
    assert result.n_rows == len(X) - result.n_error_rows and result.n_differing == 0
    assert any("out of memory" in m for m in result.error_messages)
    assert any("requests failed" in line for line in result.summary_lines())

    faulty.behaviours["down"] = lambda _f, _s: json_reply(503, {"message": "no capacity"})
    with pytest.raises(EndpointError, match="every request"):
        check_parity(artifact, _endpoint(faulty.url("down"), str(served.dir_a), None), X.head(20))


def _comparison(
    repo: object, deployed: object, sample: pd.DataFrame | None, deployed_meta: str | None = None
) -> Comparison:
    return Comparison(
        repo=repo,  # type: ignore[arg-type]
        deployed=deployed,  # type: ignore[arg-type]
        options=CompareOptions(sources=SourceContext(deployed_meta=deployed_meta)),
        parameters=compare_parameters(repo, deployed),  # type: ignore[arg-type]
        sample=sample,
    )


def test_section_builder(served: Served) -> None:
    X = served.X.head(200)
    artifact = load_model(str(served.dir_a))
    paired = _endpoint(served.url_a, str(served.dir_a), X.head(10))
    comparison = _comparison(artifact, paired, X)
    build_parity(comparison, lambda _m, _f: None)
    section = comparison.sections["parity"].to_dict()
    assert section["n_rows"] == 200 and section["n_differing"] == 0 and section["n_errors"] == 0
    assert section["artifact"] == str(served.dir_a) and section["endpoint"] == served.url_a
    assert comparison.sections["parity"].summary_lines()[0].startswith("Serving parity")

    # no sample: noted, skipped
    comparison = _comparison(artifact, paired, None)
    build_parity(comparison, lambda _m, _f: None)
    assert "parity" not in comparison.sections and any("sample data" in n for n in comparison.notes)

    # a bare endpoint: the artifact comes from --deployed-meta when the builder runs
    bare = load_model(served.url_a, endpoint_options=EndpointOptions(probe=X.head(10), settings=SETTINGS))
    comparison = _comparison(artifact, bare, X, deployed_meta=str(served.dir_a))
    build_parity(comparison, lambda _m, _f: None)
    assert comparison.sections["parity"].n_differing == 0
    comparison = _comparison(artifact, bare, X)
    build_parity(comparison, lambda _m, _f: None)
    assert "parity" not in comparison.sections and any("--deployed-meta" in n for n in comparison.notes)

    # no endpoint on either side: nothing at all
    comparison = _comparison(artifact, artifact, X)
    build_parity(comparison, lambda _m, _f: None)
    assert "parity" not in comparison.sections and not comparison.notes
