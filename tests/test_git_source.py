"""`git:<rev>:<path>` sources in a real repository made for the test: two revisions of a model, an LFS pointer."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_mlflow, save_skops

from modelgap.errors import SourceError
from modelgap.sources import load_model
from modelgap.sources.git import list_revisions, load_git

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)
DATES = ("2024-01-02T03:04:05+00:00", "2024-02-03T04:05:06+00:00")


@dataclass
class Repo:
    root: Path
    X: pd.DataFrame
    old: Any  # model.skops at HEAD~1
    new: Any  # model.skops at HEAD
    logreg: Any  # the MLflow directory mlmodel/ (committed once, at HEAD~1)


def git(root: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.com"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    out = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=True, text=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("gitrepo")
    git(root, "init", "-q", "-b", "main")
    old, X, _ = fitted("gbm", n_estimators=10)
    new, _, _ = fitted("gbm", n_estimators=25, learning_rate=0.2)
    logreg, _, _ = fitted("logreg")
    save_skops(old, root / "model.skops")
    save_mlflow(logreg, root / "mlmodel", X)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Train the first model", date=DATES[0])
    save_skops(new, root / "model.skops")
    (root / "big.skops").write_text(LFS_POINTER)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Retune: 25 trees", date=DATES[1])
    git(root, "tag", "v2")
    return Repo(root, X, old, new, logreg)


def test_older_revision_loads_the_older_model(repo: Repo) -> None:
    model = load_git("git:HEAD~1:model.skops", repo_dir=repo.root)
    assert model.params is not None and model.params["n_estimators"] == 10
    np.testing.assert_allclose(model.predict_proba(repo.X), repo.old.predict_proba(repo.X), rtol=0, atol=0)
    g = model.metadata.git
    assert g["sha"] == git(repo.root, "rev-parse", "HEAD~1") and g["short_sha"] == g["sha"][: len(g["short_sha"])]
    assert (g["author"], g["author_email"], g["message"]) == (
        "Ada Lovelace",
        "ada@example.com",
        "Train the first model",
    )
    assert g["date"] == DATES[0] and g["revision"] == "HEAD~1" and g["path"] == "model.skops"
    assert model.metadata.location == f"git:{g['sha']}:model.skops"
    newer = load_git("git:v2:model.skops", repo_dir=repo.root)
    assert newer.params is not None and (newer.params["n_estimators"], newer.params["learning_rate"]) == (25, 0.2)
    assert newer.metadata.git["refs"] and "v2" in newer.metadata.git["refs"]


def test_reading_revisions_leaves_the_working_tree_alone(repo: Repo) -> None:
    status = git(repo.root, "status", "--porcelain")
    head = git(repo.root, "rev-parse", "HEAD")
    on_disk = (repo.root / "model.skops").read_bytes()
    index_mtime = (repo.root / ".git" / "index").stat().st_mtime_ns
    load_git("git:HEAD~1:model.skops", repo_dir=repo.root)
    load_git("git:HEAD~1:mlmodel", repo_dir=repo.root)
    assert (repo.root / ".git" / "index").stat().st_mtime_ns == index_mtime  # before `git status` refreshes it
    assert git(repo.root, "status", "--porcelain") == status == ""
    assert git(repo.root, "rev-parse", "HEAD") == head
    assert (repo.root / "model.skops").read_bytes() == on_disk
    assert sorted(p.name for p in repo.root.iterdir()) == [".git", "big.skops", "mlmodel", "model.skops"]


def test_mlflow_directory_at_a_revision(repo: Repo) -> None:
    model = load_git("git:main~1:mlmodel", repo_dir=repo.root)
    assert model.metadata.flavor == "sklearn" and model.feature_names == ["x1", "x2", "x3"]
    np.testing.assert_allclose(model.predict_proba(repo.X), repo.logreg.predict_proba(repo.X), rtol=0, atol=0)


def test_lfs_pointer_is_named_with_the_fix(repo: Repo) -> None:
    with pytest.raises(SourceError) as info:
        load_git("git:HEAD:big.skops", repo_dir=repo.root)
    text = str(info.value)
    assert "big.skops at revision HEAD" in text and "Git LFS pointer" in text
    assert "git lfs fetch" in text and "modelgap-git" not in text  # names the revision, not our temp copy


def test_missing_path_and_unknown_revision_are_named(repo: Repo) -> None:
    with pytest.raises(SourceError) as info:
        load_git("git:HEAD~1:big.skops", repo_dir=repo.root)
    assert "No big.skops at revision HEAD~1" in str(info.value)
    with pytest.raises(SourceError, match="Unknown git revision 'no-such-branch'"):
        load_git("git:no-such-branch:model.skops", repo_dir=repo.root)
    with pytest.raises(SourceError, match="Cannot parse git source"):
        load_git("git:HEAD", repo_dir=repo.root)
    with pytest.raises(SourceError, match="not a git revision"):
        load_git("git:--output=/tmp/x:model.skops", repo_dir=repo.root)


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not inside a git repository"):
        load_git("git:HEAD:model.skops", repo_dir=tmp_path)


def test_revisions_that_changed_a_path_newest_first(repo: Repo) -> None:
    revisions = list_revisions("model.skops", repo_dir=repo.root)
    assert [r.sha for r in revisions] == [git(repo.root, "rev-parse", "HEAD"), git(repo.root, "rev-parse", "HEAD~1")]
    assert [r.subject for r in revisions] == ["Retune: 25 trees", "Train the first model"]
    assert revisions[0].source_for("model.skops") == f"git:{revisions[0].short_sha}:model.skops"
    assert "v2" in revisions[0].label
    assert [r.subject for r in list_revisions("mlmodel", repo_dir=repo.root)] == ["Train the first model"]
    assert len(list_revisions("model.skops", repo_dir=repo.root, limit=1)) == 1
    assert list_revisions("never-committed.skops", repo_dir=repo.root) == []


def test_resolver_and_cli_read_the_repository_from_the_environment(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from modelgap.cli import main

    monkeypatch.setenv("MODELGAP_GIT_REPO", str(repo.root))
    model = load_model("git:HEAD~1:model.skops")
    assert model.source == "git:HEAD~1:model.skops" and model.params is not None
    out = tmp_path / "report.json"
    code = main(
        [
            "compare",
            "--repo",
            "git:HEAD:model.skops",
            "--deployed",
            "git:HEAD~1:model.skops",
            "--quiet",
            "--json",
            str(out),
        ]
    )
    assert code in (0, 1)
    report = json.loads(out.read_text())
    changed = {c["name"]: (c["repo"], c["deployed"]) for c in report["parameters"]["changed"]}
    assert changed["n_estimators"] == (25, 10) and changed["learning_rate"] == (0.2, 0.1)
    assert report["repo"]["git"]["message"] == "Retune: 25 trees"
    assert report["deployed"]["git"]["sha"] == git(repo.root, "rev-parse", "HEAD~1")
