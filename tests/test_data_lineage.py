"""Lineage against a real MLflow tracking store (sqlite) and a real git repository with `.dvc` files."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import fitted, save_mlflow, save_skops, tabular

from modelgap.data import classify_relation, model_lineage
from modelgap.model import LoadedModel
from modelgap.sources import load_model


@dataclass
class Store:
    uri: str
    runs: dict[str, str]  # a: v1 (+ eval set), b: v1 again, c: v2 same name, d: unrelated, e: none
    local: LoadedModel  # an MLflow model directory whose MLmodel records run a (as log_model writes it)
    frames: dict[str, pd.DataFrame]
    paths: dict[str, Path]

    def model(self, run: str) -> LoadedModel:
        """The local model as a registry source gives it: run id and tracking URI in its metadata."""
        mlflow = {**self.local.metadata.mlflow, "run_id": self.runs[run], "tracking_uri": self.uri}
        return dataclasses.replace(self.local, metadata=dataclasses.replace(self.local.metadata, mlflow=mlflow))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    import mlflow
    import yaml
    from mlflow.tracking import MlflowClient

    from modelgap.sources.tracking import using_uri

    root = tmp_path_factory.mktemp("lineage-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    v1, y1 = tabular(n=300, seed=0)
    v2, _ = tabular(n=300, seed=1)
    other = pd.DataFrame({"clicks": range(50), "country": ["fr", "de"] * 25})
    frames = {"v1": v1.assign(y=y1), "v2": v2, "other": other}
    paths = {"v1": root / "data" / "credit_2024.csv", "v2": root / "data" / "credit_2025.csv"}
    paths["other"] = root / "elsewhere" / "features.csv"
    for key, path in paths.items():
        path.parent.mkdir(exist_ok=True)
        frames[key].to_csv(path, index=False)
    client = MlflowClient(uri, uri)
    exp = client.create_experiment("lineage", artifact_location=(root / "artifacts").as_uri())
    runs: dict[str, str] = {}

    def log(key: str, frame: str | None, name: str = "credit", holdout: bool = False) -> None:
        with mlflow.start_run(experiment_id=exp) as run:
            if frame is not None:
                ds = mlflow.data.from_pandas(frames[frame], source=str(paths[frame]), name=name)
                mlflow.log_input(ds, context="training")
            if holdout:
                mlflow.log_input(mlflow.data.from_pandas(frames["v2"].head(50), name="credit-holdout"), context="eval")
        runs[key] = run.info.run_id

    with using_uri(uri):
        log("a", "v1", holdout=True)
        log("b", "v1")
        log("c", "v2")
        log("d", "other", name="web-features")
        log("e", None)
    est, X, _ = fitted("logreg")
    model_dir = save_mlflow(est, root / "model", X)
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())
    mlmodel["run_id"] = runs["a"]  # what mlflow.sklearn.log_model records in a run
    (model_dir / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    return Store(uri, runs, load_model(str(model_dir)), frames, paths)


def test_dataset_inputs_of_the_models_run(store: Store) -> None:
    import mlflow

    lineage = model_lineage(store.model("a"), "repo")
    assert lineage.run_id == store.runs["a"] and lineage.tracking_uri == store.uri
    assert [(d.name, d.context) for d in lineage.datasets] == [("credit", "training"), ("credit-holdout", "eval")]
    training = lineage.training
    assert training is not None and training.origin == "mlflow"
    assert training.digest == mlflow.data.from_pandas(store.frames["v1"]).digest
    assert training.path == str(store.paths["v1"]) and training.readable_path == str(store.paths["v1"])
    assert training.md5 == hashlib.md5(store.paths["v1"].read_bytes()).hexdigest()
    assert [c["name"] for c in training.schema or []] == list(store.frames["v1"].columns)
    assert training.n_rows == 300
    holdout = lineage.datasets[1]
    assert holdout.readable_path is None and "no file" in holdout.notes[0]  # logged from a DataFrame in code


@pytest.mark.parametrize(
    ("other_run", "relation"),
    [("b", "same_data"), ("c", "different_snapshots"), ("d", "unrelated"), ("e", "unknown")],
)
def test_relation_of_two_runs_training_data(store: Store, other_run: str, relation: str) -> None:
    repo = model_lineage(store.model("a"), "repo")
    deployed = model_lineage(store.model(other_run), "deployed")
    result = classify_relation(repo.training, deployed.training)
    assert result.kind == relation, result.reason
    if other_run == "e":
        assert any("logged no dataset" in n for n in deployed.notes)


def test_local_model_directory_needs_a_tracking_uri(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    model = store.local
    assert model.metadata.mlflow.get("run_id") == store.runs["a"] and not model.metadata.mlflow.get("tracking_uri")
    unknown = model_lineage(model, "repo")
    assert unknown.training is None and any("--tracking-uri" in n for n in unknown.notes)
    known = model_lineage(model, "repo", tracking_uri=store.uri)
    assert known.training is not None and known.training.name == "credit"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    assert model_lineage(model, "repo").training is not None


def test_named_path_is_the_training_data_and_matches_by_digest(store: Store) -> None:
    from modelgap.data.sampling import read_sample

    named = model_lineage(store.local, "repo", training_path=store.paths["v1"])
    training = named.training
    assert training is not None and training.origin == "user"
    training.computed_digest = read_sample(store.paths["v1"], label="x").digest
    deployed = model_lineage(store.model("b"), "deployed")
    assert classify_relation(training, deployed.training).kind == "same_data"


# ---------------------------------------------------------------- DVC in a git repository


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout


def _dvc_file(path: Path, data: Path) -> None:
    md5 = hashlib.md5(data.read_bytes()).hexdigest()
    path.write_text(f"outs:\n- md5: {md5}\n  size: {data.stat().st_size}\n  hash: md5\n  path: {data.name}\n")


@dataclass
class DvcRepo:
    root: Path
    model: LoadedModel
    v1: bytes
    v2: bytes


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory: pytest.TempPathFactory) -> DvcRepo:
    """project/model.skops with project/train.csv.dvc (v1, then v2 in a second commit) and the model itself
    tracked by project/model.skops.dvc (not a dataset)."""
    root = tmp_path_factory.mktemp("dvc-repo")
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    project = root / "project"
    project.mkdir()
    est, X, _ = fitted("logreg")
    save_skops(est, project / "model.skops")
    train = project / "train.csv"
    X.head(200).to_csv(train, index=False)
    v1 = train.read_bytes()
    _dvc_file(project / "train.csv.dvc", train)
    _dvc_file(project / "model.skops.dvc", project / "model.skops")
    (project / ".gitignore").write_text("/train.csv\n")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "v1")
    X.tail(200).to_csv(train, index=False)
    _dvc_file(project / "train.csv.dvc", train)
    _git(root, "commit", "-q", "-am", "v2")
    return DvcRepo(root, load_model(str(project / "model.skops")), v1, train.read_bytes())


def test_dvc_file_next_to_a_local_model(dvc_repo: DvcRepo, tmp_path: Path) -> None:
    lineage = model_lineage(dvc_repo.model, "repo")
    assert [d.name for d in lineage.datasets] == ["train.csv"]  # model.skops.dvc tracks the model, not data
    ref = lineage.training
    assert ref is not None and ref.origin == "dvc"
    assert ref.md5 == hashlib.md5(dvc_repo.v2).hexdigest()
    assert ref.readable_path == str(dvc_repo.root / "project" / "train.csv")
    copy = tmp_path / "copy.csv"
    copy.write_bytes(dvc_repo.v2)
    named = model_lineage(dvc_repo.model, "deployed", training_path=copy).training
    assert classify_relation(ref, named).kind == "same_data"


def test_dvc_file_at_a_git_revision(dvc_repo: DvcRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(dvc_repo.root / "project")  # the git loader takes paths from the repository root
    at: dict[str, Any] = {}
    for rev in ("HEAD~1", "HEAD"):
        model = load_model(f"git:{rev}:project/model.skops")
        assert model.metadata.git["path"] == "project/model.skops"
        at[rev] = model_lineage(model, "repo").training
    old, new = at["HEAD~1"], at["HEAD"]
    assert old.md5 == hashlib.md5(dvc_repo.v1).hexdigest() and new.md5 == hashlib.md5(dvc_repo.v2).hexdigest()
    assert new.readable_path is not None  # the working tree holds v2
    assert old.readable_path is None and any("dvc checkout" in n for n in old.notes)
    assert classify_relation(new, old).kind == "different_snapshots"
    # v1's bytes in the DVC cache make the old revision's training data readable again
    entry = dvc_repo.root / ".dvc" / "cache" / "files" / "md5" / old.md5[:2] / old.md5[2:]
    entry.parent.mkdir(parents=True)
    entry.write_bytes(dvc_repo.v1)
    try:
        cached = model_lineage(load_model("git:HEAD~1:project/model.skops"), "repo").training
        assert cached is not None and cached.readable_path == str(entry)
    finally:
        entry.unlink()
