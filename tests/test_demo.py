"""The demo workspace: one real build per module, then checked from the outside with MLflow's own client."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelgap.demo import MARKER, DemoWorkspace, build_demo, load_demo
from modelgap.demo_data import NORTH_HIGH_INCOME, make_credit_data


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoWorkspace, float, list[str]]:
    """A fresh build (never the developer's .modelgap/demo), its duration and its progress messages."""
    messages: list[str] = []
    started = time.perf_counter()
    workspace = build_demo(tmp_path_factory.mktemp("demo-build") / "demo", progress=messages.append)
    return workspace, time.perf_counter() - started, messages


@pytest.fixture(scope="module")
def ws(built: tuple[DemoWorkspace, float, list[str]]) -> DemoWorkspace:
    return built[0]


@pytest.fixture(scope="module")
def client(ws: DemoWorkspace) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=ws.tracking_uri, registry_uri=ws.tracking_uri)


@pytest.fixture(scope="module")
def models(ws: DemoWorkspace) -> tuple[Any, Any]:
    """(champion from the registry, repo model from its directory), loaded with plain MLflow."""
    import mlflow.sklearn
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with pytest.MonkeyPatch.context() as patch:  # the process-wide URIs, put back afterwards
        patch.setattr(tracking_utils, "_tracking_uri", ws.tracking_uri)
        patch.setattr(registry_utils, "_registry_uri", ws.tracking_uri)
        champion = mlflow.sklearn.load_model(f"models:/{ws.model_name}@champion")
    return champion, mlflow.sklearn.load_model(str(ws.repo_model_dir))


def test_layout_and_manifest(ws: DemoWorkspace, built: tuple[DemoWorkspace, float, list[str]]) -> None:
    assert ws.directory.is_dir() and not ws.directory.is_symlink()
    assert ws.tracking_uri == f"sqlite:///{ws.directory / 'mlflow.db'}"
    assert ws.tracking_uri.startswith("sqlite:////")
    assert (ws.directory / "mlartifacts").is_dir()
    assert (ws.repo_model_dir / "MLmodel").is_file()
    assert ws.model_name == "credit-risk" and ws.target == "default"
    manifest = json.loads((ws.directory / MARKER).read_text())
    assert manifest["directory"] == str(ws.directory)
    assert load_demo(ws.directory) == ws == DemoWorkspace.load(ws.directory)
    # Nothing but the workspace was left next to it: no staging or set-aside sibling.
    assert [p.name for p in ws.directory.parent.iterdir()] == [ws.directory.name]
    assert built[2] and "built in" in built[2][-1]
    print(f"\ndemo build took {built[1]:.1f} s")


def test_store_records_only_final_paths(ws: DemoWorkspace) -> None:
    """The build ran in a temp sibling: no path MLflow recorded may point there, or outside the workspace."""
    with sqlite3.connect(ws.directory / "mlflow.db") as db:
        locations = [row[0] for row in db.execute("SELECT artifact_location FROM experiments")]
        locations += [row[0] for row in db.execute("SELECT artifact_uri FROM runs")]
        locations += [row[0] for row in db.execute("SELECT storage_location FROM model_versions")]
    assert len(locations) == 2 + 3 + 3
    for location in locations:
        assert location.startswith(ws.directory.as_uri() + "/mlartifacts"), location
        assert "building" not in location


def test_data_files(ws: DemoWorkspace) -> None:
    sample = pd.read_csv(ws.sample_path)
    assert 4_000 <= len(sample) <= 6_000
    expected = {
        "age", "income", "loan_amount", "loan_term_months", "credit_score", "debt_to_income", "employment_years",
        "num_open_accounts", "recent_inquiries", "region", "home_ownership", "purpose", "default",
    }  # fmt: skip
    assert set(sample.columns) == expected
    assert set(sample["default"].unique()) == {0, 1}
    assert 0.05 < sample["default"].mean() < 0.35
    assert set(sample["region"]) == {"North", "South", "East", "West"}
    assert set(sample["loan_term_months"]) <= {12, 24, 36, 60}
    # Only employment_years has gaps, and only a few: both models impute them.
    assert sample.drop(columns="employment_years").notna().all().all()
    assert 0 < sample["employment_years"].isna().mean() < 0.1
    champion_train, repo_train = pd.read_csv(ws.training_path_champion), pd.read_csv(ws.training_path_repo)
    assert len(champion_train) > 10_000 and len(repo_train) > 10_000
    # The planted drift: richer applicants in the North and more recent inquiries in the newer snapshot.
    north = "region == 'North'"
    assert repo_train.query(north)["income"].median() > 1.2 * champion_train.query(north)["income"].median()
    assert repo_train["recent_inquiries"].mean() > 1.3 * champion_train["recent_inquiries"].mean()


def test_data_is_deterministic() -> None:
    pd.testing.assert_frame_equal(make_credit_data(500, 7, "2026-q2"), make_credit_data(500, 7, "2026-q2"))
    assert not make_credit_data(500, 7, "2026-q2").equals(make_credit_data(500, 8, "2026-q2"))
    with pytest.raises(ValueError, match="snapshot"):
        make_credit_data(10, 0, "1999-q1")  # type: ignore[arg-type]


def test_registry_versions_aliases_and_metadata(ws: DemoWorkspace, client: Any) -> None:
    versions = client.search_model_versions(f"name='{ws.model_name}'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    assert int(client.get_model_version_by_alias(ws.model_name, "champion").version) == 2
    assert int(client.get_model_version_by_alias(ws.model_name, "challenger").version) == 3
    registered = client.get_registered_model(ws.model_name)
    assert registered.description
    assert client.get_model_version(ws.model_name, "2").tags["validation_status"] == "approved"
    for version in versions:
        run = client.get_run(version.run_id)
        assert run.info.run_name
        assert "val_auc" in run.data.metrics and 0.6 < run.data.metrics["val_auc"] < 1.0
        assert run.data.params
        training = [d for d in run.inputs.dataset_inputs if any(t.value == "training" for t in d.tags)]
        assert len(training) == 1, f"v{version.version} has no training dataset input"
        source = json.loads(training[0].dataset.source)
        assert Path(source["uri"]).is_file()
    v2_run = client.get_run(client.get_model_version(ws.model_name, "2").run_id)
    assert v2_run.data.params["learning_rate"] == "0.1"


def test_champion_and_repo_model_differ_as_planted(models: tuple[Any, Any]) -> None:
    champion, repo = models
    champion_clf, repo_clf = champion.named_steps["classifier"], repo.named_steps["classifier"]
    assert type(champion_clf).__name__ == type(repo_clf).__name__ == "GradientBoostingClassifier"
    assert (champion_clf.learning_rate, champion_clf.n_estimators) == (0.1, 150)
    assert (repo_clf.learning_rate, repo_clf.n_estimators) == (0.05, 250)
    assert champion_clf.max_depth == repo_clf.max_depth == 3

    def imputer_strategy(pipeline: Any) -> str:
        for name, transformer, _cols in pipeline.named_steps["preprocess"].transformers_:
            if name == "num":
                return str(transformer.named_steps["impute"].strategy)
        raise AssertionError("no numeric branch")

    assert imputer_strategy(champion) == "mean"
    assert imputer_strategy(repo) == "median"
    assert "recent_inquiries" in list(repo.feature_names_in_)
    assert "recent_inquiries" not in list(champion.feature_names_in_)
    assert set(champion.feature_names_in_) < set(repo.feature_names_in_)


def test_disagreement_is_moderate_and_concentrated(ws: DemoWorkspace, models: tuple[Any, Any]) -> None:
    champion, repo = models
    sample = pd.read_csv(ws.sample_path)
    champion_labels = np.asarray(champion.predict(sample[list(champion.feature_names_in_)]))
    repo_labels = np.asarray(repo.predict(sample[list(repo.feature_names_in_)]))
    disagree = champion_labels != repo_labels
    rate = float(np.mean(disagree))
    in_slice = (
        (sample["region"] == "North") & (sample["income"] > NORTH_HIGH_INCOME) & (sample["recent_inquiries"] >= 3)
    ).to_numpy()
    slice_rate, rest_rate = float(np.mean(disagree[in_slice])), float(np.mean(disagree[~in_slice]))
    print(
        f"\ndisagreement {rate:.2%} ({disagree.sum()} of {len(sample)}); North, income > {NORTH_HIGH_INCOME:,.0f},"
        f" recent_inquiries >= 3: {slice_rate:.1%} of {in_slice.sum()} rows, elsewhere {rest_rate:.1%};"
        f" the slice holds {disagree[in_slice].sum() / disagree.sum():.0%} of all disagreements"
    )
    assert 0.01 <= rate <= 0.15
    assert slice_rate > 4 * rest_rate


def test_repo_model_passes_modelgaps_skops_allow_list(ws: DemoWorkspace) -> None:
    from modelgap.sources.trust import trusted_types_for

    assert "sklearn.tree._tree.Tree" in trusted_types_for(ws.repo_model_dir / "model.skops")


def test_second_build_is_a_no_op(ws: DemoWorkspace) -> None:
    db = ws.directory / "mlflow.db"
    before = db.stat().st_mtime_ns
    started = time.perf_counter()
    again = build_demo(ws.directory)
    assert time.perf_counter() - started < 1.0
    assert again == ws
    assert db.stat().st_mtime_ns == before


def test_tracking_uri_is_left_as_it_was(ws: DemoWorkspace) -> None:
    from mlflow.tracking._tracking_service import utils as tracking_utils

    assert tracking_utils._tracking_uri != ws.tracking_uri
    assert os.environ.get("MLFLOW_TRACKING_URI") != ws.tracking_uri


def test_incomplete_workspace_is_not_loaded(tmp_path: Path) -> None:
    """No marker, a stale build symlink, a moved workspace: none of them count as a demo."""
    half = tmp_path / "half"
    (half / "repo_model").mkdir(parents=True)
    (half / "mlflow.db").write_bytes(b"")
    assert load_demo(half) is None
    staging = tmp_path / ".linked.building-x"
    staging.mkdir()
    (tmp_path / "linked").symlink_to(staging)
    assert load_demo(tmp_path / "linked") is None
    assert load_demo(tmp_path / "missing") is None


def test_moved_workspace_is_not_loaded(ws: DemoWorkspace, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("mlflow.db", MARKER, "sample.csv"):
        (moved / name).write_bytes((ws.directory / name).read_bytes())
    (moved / "repo_model").mkdir()
    (moved / "repo_model" / "MLmodel").write_bytes((ws.repo_model_dir / "MLmodel").read_bytes())
    assert load_demo(moved) is None


def test_failed_rebuild_puts_the_previous_workspace_back(ws: DemoWorkspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelgap.demo as demo

    def interrupted(final: Path, staging: Path, say: object) -> dict[str, object]:
        assert final.is_symlink() and load_demo(final) is None  # mid-build, the workspace does not count
        (final / "sample.csv").write_text("half a file")
        raise KeyboardInterrupt

    db_mtime = (ws.directory / "mlflow.db").stat().st_mtime_ns
    monkeypatch.setattr(demo, "_populate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_demo(ws.directory, force=True)
    assert load_demo(ws.directory) == ws
    assert (ws.directory / "mlflow.db").stat().st_mtime_ns == db_mtime
    assert [p.name for p in ws.directory.parent.iterdir()] == [ws.directory.name]


def test_failed_first_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelgap.demo as demo

    def broken(final: Path, staging: Path, say: object) -> dict[str, object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_populate", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build_demo(tmp_path / "demo")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_directory_that_is_not_a_demo(tmp_path: Path) -> None:
    from modelgap.errors import ModelgapError

    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ModelgapError, match="not a modelgap demo workspace"):
        build_demo(precious, force=True)
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]


def test_forced_rebuild_replaces_the_store_this_process_already_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow caches a SQLAlchemy engine per URI: after a rebuild, an old client must see the new database."""
    from mlflow.tracking import MlflowClient

    import modelgap.demo as demo

    monkeypatch.setattr(demo, "SNAPSHOT_ROWS", 1_500)
    monkeypatch.setattr(demo, "SAMPLE_ROWS", 300)
    first = build_demo(tmp_path / "small")
    client = MlflowClient(tracking_uri=first.tracking_uri, registry_uri=first.tracking_uri)
    old_run = client.get_model_version_by_alias(first.model_name, "champion").run_id
    second = build_demo(tmp_path / "small", force=True)
    assert second == first
    new_run = client.get_model_version_by_alias(second.model_name, "champion").run_id
    assert new_run is not None and new_run != old_run
    assert client.get_run(new_run).data.params["training_snapshot"] == "2025-q4"
    assert len(pd.read_csv(second.sample_path)) == 300
    assert [p.name for p in tmp_path.iterdir()] == ["small"]
