"""`runs:/` and `models:/` sources against a real `mlflow server` (http) and a sqlite store without a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, log_registered
from servers import free_port

from modelgap.errors import SourceError, TrackingServerError
from modelgap.params import compare_parameters
from modelgap.sources import load_model

REPO_ROOT = Path(__file__).resolve().parent.parent
NAME = "modelgap-registry-test"  # the server is shared by the session: a name no other module uses


@dataclass
class Version:
    model: Any
    version: str
    run_id: str
    model_id: str
    creation_time: str
    run_params: dict[str, str]


@dataclass
class Registry:
    uri: str
    X: pd.DataFrame
    v1: Version
    v2: Version
    workdir: Path


def _register(model: Any, X: pd.DataFrame, uri: str, **run_params: str) -> Version:
    from mlflow.tracking import MlflowClient

    version = log_registered(model, X, NAME, uri, **run_params)
    mv = MlflowClient(uri, uri).get_model_version(NAME, version)
    assert mv.source.startswith("models:/m-")
    created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC).isoformat(timespec="seconds")
    return Version(model, version, mv.run_id, mv.source.removeprefix("models:/"), created, dict(run_params))


@pytest.fixture(scope="module", params=["server", "sqlite"])
def registry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Two versions: v1 (@champion, tag team=risk), v2 (@challenger, stage Production, retuned)."""
    from mlflow.tracking import MlflowClient

    workdir = tmp_path_factory.mktemp(f"registry-{request.param}")
    if request.param == "server":
        uri = request.getfixturevalue("mlflow_server").url
    else:
        uri = f"sqlite:///{workdir / 'mlflow.db'}"
    m1, X, _ = fitted("pipeline")
    m2, _, _ = fitted("pipeline", model__learning_rate=0.05, model__n_estimators=40)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)  # a sqlite store puts artifacts in ./mlruns
        v1 = _register(m1, X, uri, learning_rate="0.1", training_data="2024-q1")
        v2 = _register(m2, X, uri, learning_rate="0.05", training_data="2024-q1")
        client = MlflowClient(uri, uri)
        client.set_registered_model_alias(NAME, "champion", v1.version)
        client.set_registered_model_alias(NAME, "challenger", v2.version)
        client.set_model_version_tag(NAME, v1.version, "team", "risk")
        client.transition_model_version_stage(NAME, v2.version, "Production")  # deprecated, still supported
    return Registry(uri, X, v1, v2, workdir)


def _check_predictions(loaded: Any, version: Version, X: pd.DataFrame) -> None:
    np.testing.assert_array_equal(loaded.predict_labels(X), version.model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), version.model.predict_proba(X))
    assert loaded.params["model__learning_rate"] == version.model.get_params()["model__learning_rate"]


@pytest.mark.parametrize(
    ("form", "which"),
    [("models:/{name}/1", "v1"), ("models:/{name}@champion", "v1"), ("models:/{name}/Production", "v2")],
)
def test_registered_forms(registry: Registry, form: str, which: str) -> None:
    expected: Version = getattr(registry, which)
    loaded = load_model(form.format(name=NAME), tracking_uri=registry.uri)
    _check_predictions(loaded, expected, registry.X)

    info = loaded.metadata.mlflow
    assert info["registered_name"] == NAME
    assert info["version"] == expected.version
    assert info["run_id"] == expected.run_id
    assert info["logged_model_id"] == expected.model_id
    assert info["creation_time"] == expected.creation_time
    assert info["run_params"] == expected.run_params
    assert loaded.params is not None
    assert not set(expected.run_params) & set(loaded.params)  # run params never mixed into hyperparameters
    if which == "v1":
        assert info["aliases"] == ["champion"]
        assert info["tags"] == {"team": "risk"}
    else:
        assert info["aliases"] == ["challenger"]
        assert info["stage"] == "Production"
        assert info["tags"] == {}
    assert loaded.metadata.flavor == "sklearn"
    assert loaded.task == "binary"
    assert {f.name: f.dtype for f in loaded.features}["cat"] == "string"


def test_logged_model_form(registry: Registry) -> None:
    loaded = load_model(f"models:/{registry.v2.model_id}", tracking_uri=registry.uri)
    _check_predictions(loaded, registry.v2, registry.X)
    info = loaded.metadata.mlflow
    assert info["logged_model_id"] == registry.v2.model_id
    assert info["run_id"] == registry.v2.run_id
    assert info["run_params"] == registry.v2.run_params


def test_run_form(registry: Registry) -> None:
    loaded = load_model(f"runs:/{registry.v1.run_id}/model", tracking_uri=registry.uri)
    _check_predictions(loaded, registry.v1, registry.X)
    info = loaded.metadata.mlflow
    assert info["run_id"] == registry.v1.run_id
    assert info["run_params"] == registry.v1.run_params
    assert "registered_name" not in info


def test_missing_alias_names_what_exists(registry: Registry) -> None:
    with pytest.raises(SourceError) as err:
        load_model(f"models:/{NAME}@production", tracking_uri=registry.uri)
    message = str(err.value)
    assert "no alias 'production'" in message
    assert "Existing versions: 1, 2" in message
    assert "@challenger -> v2" in message
    assert "@champion -> v1" in message


def test_missing_version_names_what_exists(registry: Registry) -> None:
    with pytest.raises(SourceError) as err:
        load_model(f"models:/{NAME}/7", tracking_uri=registry.uri)
    assert "no version 7" in str(err.value)
    assert "Existing versions: 1, 2" in str(err.value)


def test_empty_stage_names_what_exists(registry: Registry) -> None:
    with pytest.raises(SourceError, match=r"no version in stage 'Staging'.*Existing versions: 1, 2"):
        load_model(f"models:/{NAME}/Staging", tracking_uri=registry.uri)


def test_unknown_registered_model_lists_what_exists(registry: Registry) -> None:
    with pytest.raises(SourceError) as err:
        load_model("models:/no-such-model@champion", tracking_uri=registry.uri)
    assert "No registered model named 'no-such-model'" in str(err.value)
    assert NAME in str(err.value)


def test_unknown_run_and_logged_model(registry: Registry) -> None:
    with pytest.raises(SourceError, match="run 0123456789abcdef0123456789abcdef"):
        load_model("runs:/0123456789abcdef0123456789abcdef/model", tracking_uri=registry.uri)
    with pytest.raises(SourceError, match="logged model m-0123456789abcdef"):
        load_model("models:/m-0123456789abcdef", tracking_uri=registry.uri)
    with pytest.raises(SourceError, match="no-such-path"):
        load_model(f"runs:/{registry.v1.run_id}/no-such-path", tracking_uri=registry.uri)


def test_same_model_through_two_routes_shows_no_difference(registry: Registry, tmp_path: Path) -> None:
    """A local copy of the logged model vs models:/...@champion: nothing differs, same artifact."""
    import mlflow
    import mlflow.artifacts

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(registry.uri)  # runs:/ downloads look the logged model up in the global store
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"runs:/{registry.v1.run_id}/model", dst_path=str(tmp_path), tracking_uri=registry.uri
        )
    finally:
        mlflow.set_tracking_uri(previous)
    repo = load_model(local)
    deployed = load_model(f"models:/{NAME}@champion", tracking_uri=registry.uri)
    diff = compare_parameters(repo, deployed)

    assert diff.hyperparameters.identical and diff.hyperparameters.unchanged
    assert diff.pipeline.identical and diff.pipeline.unchanged
    assert diff.schema.identical
    assert diff.environment.identical and diff.environment.unchanged
    assert diff.same_artifact is True
    assert repo.metadata.sha256 == deployed.metadata.sha256
    out = diff.to_dict()
    assert out["identical"] is True
    assert out["changed"] == out["only_in_repo"] == out["only_in_deployed"] == out["unknown"] == []


def test_champion_vs_challenger_differ_in_what_was_retuned(registry: Registry) -> None:
    repo = load_model(f"models:/{NAME}@challenger", tracking_uri=registry.uri)
    deployed = load_model(f"models:/{NAME}@champion", tracking_uri=registry.uri)
    diff = compare_parameters(repo, deployed)
    assert {c["name"]: (c["repo"], c["deployed"]) for c in diff.to_dict()["changed"]} == {
        "model__learning_rate": (0.05, 0.1),
        "model__n_estimators": (40, 30),
    }
    assert diff.same_artifact is False
    # Run params are diffed on their own, as strings the way MLflow stores them.
    assert [(c["name"], c["repo"], c["deployed"]) for c in diff.run_params.changed] == [
        ("learning_rate", "0.05", "0.1")
    ]
    assert [e["name"] for e in diff.run_params.unchanged] == ["training_data"]


def test_loading_leaves_the_callers_mlflow_uris_alone(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook or the app keeps using mlflow after a load: its (unset) tracking URI must stay unset."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow accepts None: "unset"
    try:
        default = mlflow.get_tracking_uri()
        load_model(f"models:/{NAME}@champion", tracking_uri=registry.uri)
        load_model(f"runs:/{registry.v1.run_id}/model", tracking_uri=registry.uri)
        assert mlflow.get_tracking_uri() == default != registry.uri
        assert "MLFLOW_TRACKING_URI" not in os.environ
        assert "MLFLOW_REGISTRY_URI" not in os.environ
    finally:
        mlflow.set_tracking_uri(previous)


# --- without a usable store -----------------------------------------------------------------------------


def test_unreachable_server_is_a_tracking_server_error_naming_the_uri() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingServerError) as err:
        load_model("models:/anything@champion", tracking_uri=uri)
    assert uri in str(err.value)


def test_mlflow_http_settings_are_lean_in_a_fresh_process() -> None:
    """Without user settings, MLflow's 7 retries / 120 s timeout would hang for minutes: modelgap lowers them."""
    script = """
import json
from mlflow.environment_variables import (
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR as B, MLFLOW_HTTP_REQUEST_MAX_RETRIES as R, MLFLOW_HTTP_REQUEST_TIMEOUT as T)
from modelgap.errors import TrackingServerError
from modelgap.sources import load_model
from modelgap.sources.tracking import HEALTH_TIMEOUT_S
before = [R.get(), T.get()]
try:
    load_model("models:/m@champion", tracking_uri=URI)
    error = None
except TrackingServerError as exc:
    error = str(exc)
print(json.dumps({"before": before, "retries": R.get(), "timeout": T.get(), "backoff": B.get(),
                  "health": HEALTH_TIMEOUT_S, "error": error}))
"""
    uri = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", script.replace("URI", repr(uri))], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["before"][0] > 0 and out["before"][1] > 10  # MLflow's own defaults, which modelgap must override
    assert out["retries"] == 0
    assert out["backoff"] == 0
    assert out["timeout"] <= 10
    assert out["health"] <= 10
    assert out["error"] is not None and uri in out["error"]


def test_missing_sqlite_store_is_refused_and_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "nothere.db"
    with pytest.raises(SourceError) as err:
        load_model("models:/credit@champion", tracking_uri=f"sqlite:///{db}")
    assert str(db) in str(err.value)
    with pytest.raises(SourceError):
        load_model("runs:/0123456789abcdef/model", tracking_uri=f"sqlite:///{db}")
    assert list(tmp_path.iterdir()) == []  # no database, no mlruns folder: nothing written


def test_registry_source_without_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(SourceError, match="No MLflow tracking URI"):
        load_model("models:/credit@champion")


@pytest.mark.parametrize("source", ["models:/", "models:/credit", "models:/credit/latest-ish", "runs:/model"])
def test_unparsable_registry_uri(source: str) -> None:
    with pytest.raises(SourceError, match="Cannot parse"):
        load_model(source, tracking_uri="sqlite:///unused.db")
