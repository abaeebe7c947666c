"""Write-back against a real `mlflow server`: with --log-to-mlflow the reports and verdict land on the REPO
model's run and nowhere else; without the flag the tracking store is unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import fitted, log_registered, save_skops

import modelgap
from modelgap.cli import main
from modelgap.comparison import run_comparison
from modelgap.errors import ModelgapError
from modelgap.writeback import log_to_mlflow

NAME = "writeback-credit"


@dataclass
class Store:
    uri: str
    repo_run: str
    deployed_run: str
    dir: Path


def _artifacts(client: Any, run_id: str, path: str | None = None) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for f in client.list_artifacts(run_id, path):
        out += _artifacts(client, run_id, f.path) if f.is_dir else [(f.path, f.file_size)]
    return out


def snapshot(uri: str) -> dict[str, Any]:
    """Everything a write could change: experiments, runs (tags, params, metrics, artifacts), registry."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    runs = client.search_runs([e.experiment_id for e in experiments], run_view_type=ViewType.ALL, max_results=1000)
    models = client.search_registered_models()
    return {
        "experiments": sorted(
            (e.experiment_id, e.name, e.lifecycle_stage, sorted(e.tags.items())) for e in experiments
        ),
        "runs": {
            r.info.run_id: {
                "status": r.info.status,
                "end_time": r.info.end_time,
                "lifecycle": r.info.lifecycle_stage,
                "tags": dict(r.data.tags),
                "params": dict(r.data.params),
                "metrics": dict(r.data.metrics),
                "artifacts": _artifacts(client, r.info.run_id),
            }
            for r in runs
        },
        "models": {
            m.name: {"tags": dict(m.tags), "aliases": dict(m.aliases), "updated": m.last_updated_timestamp}
            for m in models
        },
        "versions": {
            (v.name, v.version): {
                "tags": dict(v.tags),
                "aliases": sorted(v.aliases),
                "status": v.status,
                "updated": v.last_updated_timestamp,
                "description": v.description,
            }
            for m in models
            for v in client.search_model_versions(f"name='{m.name}'")
        },
    }


@pytest.fixture(scope="module")
def store(mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Store:
    from mlflow.tracking import MlflowClient

    uri = mlflow_server.url
    deployed, X, _ = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
    deployed_version = log_registered(deployed, X, NAME, uri)
    repo_version = log_registered(repo, X, NAME, uri)
    client = MlflowClient(uri, uri)
    client.set_registered_model_alias(NAME, "champion", deployed_version)
    d = tmp_path_factory.mktemp("writeback")
    save_skops(repo, d / "repo.skops")
    return Store(
        uri=uri,
        repo_run=client.get_model_version(NAME, repo_version).run_id,
        deployed_run=client.get_model_version(NAME, deployed_version).run_id,
        dir=d,
    )


def _compare(store: Store, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "compare",
        "--repo",
        f"runs:/{store.repo_run}/model",
        "--deployed",
        f"models:/{NAME}@champion",
        "--tracking-uri",
        store.uri,
        "--json",
        str(tmp_path / "out.json"),
        "--markdown",
        str(tmp_path / "out.md"),
        "--fail-on",
        "never",
        "--quiet",
        *extra,
    ]


@pytest.mark.server
def test_without_the_flag_nothing_changes(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(store.uri)
    assert main(_compare(store, tmp_path)) == 0
    assert json.loads((tmp_path / "out.json").read_text())["verdict"]["status"] in ("pass", "warn", "fail")
    assert snapshot(store.uri) == before


@pytest.mark.server
def test_with_the_flag_the_repo_run_gets_reports_and_tags(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    before = snapshot(store.uri)
    assert main(_compare(store, tmp_path, "--log-to-mlflow")) == 0
    after = snapshot(store.uri)
    local = json.loads((tmp_path / "out.json").read_text())

    run = after["runs"][store.repo_run]
    tags = run["tags"]
    assert tags["modelgap.verdict"] == local["verdict"]["status"]
    assert tags["modelgap.compared_with"] == f"models:/{NAME}@champion"
    assert tags["modelgap.compared_with_sha256"] == local["deployed"]["sha256"]
    assert tags["modelgap.compared_with_version"] == f"{NAME}/1"
    failed = [c["name"] for c in local["verdict"]["checks"] if c["status"] == "fail"]
    assert tags["modelgap.failed_checks"] == ",".join(failed)
    paths = [p for p, _ in run["artifacts"]]
    assert {"modelgap/report.json", "modelgap/report.md", "modelgap/report.html"} <= set(paths)
    client = MlflowClient(store.uri, store.uri)
    logged = json.loads(
        Path(client.download_artifacts(store.repo_run, "modelgap/report.json", str(tmp_path))).read_text()
    )
    assert logged["verdict"]["status"] == local["verdict"]["status"]
    assert logged["repo"]["sha256"] == local["repo"]["sha256"]

    # Nothing else changed: no new run, the deployed run and every registry entry are as they were.
    assert set(after["runs"]) == set(before["runs"])
    for run_id in before["runs"]:
        if run_id != store.repo_run:
            assert after["runs"][run_id] == before["runs"][run_id], run_id
    assert after["versions"] == before["versions"]
    assert after["models"] == before["models"]
    assert after["experiments"] == before["experiments"]
    new_tags = set(tags) - set(before["runs"][store.repo_run]["tags"])
    assert all(t.startswith("modelgap.") for t in new_tags)
    assert before["runs"][store.repo_run]["params"] == run["params"]


@pytest.mark.server
def test_a_repo_model_without_a_run_cannot_be_written_back(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    repo = modelgap.load_model(str(store.dir / "repo.skops"))
    deployed = modelgap.load_model(f"models:/{NAME}@champion", tracking_uri=store.uri)
    comparison = run_comparison(repo, deployed)
    with pytest.raises(ModelgapError, match="MLflow run"):
        log_to_mlflow(comparison, tracking_uri=store.uri)
    same_run = run_comparison(
        modelgap.load_model(f"runs:/{store.deployed_run}/model", tracking_uri=store.uri), deployed
    )
    with pytest.raises(ModelgapError, match="same MLflow run"):
        log_to_mlflow(same_run, tracking_uri=store.uri)
    before = snapshot(store.uri)
    args = ["compare", "--repo", str(store.dir / "repo.skops"), "--deployed", f"models:/{NAME}@champion"]
    assert main([*args, "--tracking-uri", store.uri, "--log-to-mlflow", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Write-back needs a repo model from an MLflow run" in err[0]
    assert snapshot(store.uri) == before
