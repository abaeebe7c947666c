"""`python -m modelgap compare` as scripts and CI run it: exit 2 with one clear line for what cannot be compared.

Every invocation is a real subprocess; they run concurrently once per module to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import fitted, log_registered, save_mlflow, save_skops
from servers import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
NAME = "credit"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Workspace:
    dir: Path
    uri: str
    results: dict[str, Result]


def _cases(d: Path, uri: str, dead_uri: str) -> dict[str, list[str]]:
    ok = ["--data", str(d / "data.csv")]
    repo, deployed = ["--repo", str(d / "repo")], ["--deployed", str(d / "deployed")]
    return {
        "happy": [
            *repo,
            "--deployed",
            f"models:/{NAME}@champion",
            "--tracking-uri",
            uri,
            *ok,
            "--json",
            str(d / "out.json"),
            "--no-shap",
            "--fail-on",
            "never",
        ],
        "unknown_form": ["--repo", "ftp://example.com/model.skops", *deployed, *ok],
        "missing_file": ["--repo", str(d / "no-such-model.skops"), *deployed, *ok],
        "truncated": ["--repo", str(d / "truncated.skops"), *deployed, *ok],
        # The bad source goes first (--repo), so the run stops before loading the other model.
        "missing_alias": ["--repo", f"models:/{NAME}@production", *deployed, "--tracking-uri", uri, *ok],
        "missing_version": ["--repo", f"models:/{NAME}/9", *deployed, "--tracking-uri", uri, *ok],
        "unreachable": ["--repo", f"models:/{NAME}@champion", *deployed, "--tracking-uri", dead_uri, *ok],
        "missing_data": [*repo, *deployed, "--data", str(d / "no-such-data.csv")],
        "binary_data": [*repo, *deployed, "--data", str(d / "binary.csv")],
    }


def _run(args: list[str], cwd: Path) -> Result:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "modelgap", "compare", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from mlflow.tracking import MlflowClient

    d = tmp_path_factory.mktemp("cli")
    base, X, y = fitted("pipeline")
    retuned, _, _ = fitted("pipeline", model__learning_rate=0.05, model__n_estimators=40)
    save_mlflow(retuned, d / "repo", X)
    save_mlflow(base, d / "deployed", X)
    X.assign(default=y).to_csv(d / "data.csv", index=False)
    (d / "binary.csv").write_bytes(bytes(range(256)) * 16)
    skops = save_skops(base, d / "full.skops").read_bytes()
    (d / "truncated.skops").write_bytes(skops[: len(skops) // 2])
    uri = f"sqlite:///{d / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)  # a sqlite store puts artifacts in ./mlruns
        version = log_registered(base, X, NAME, uri, learning_rate="0.1")
        MlflowClient(uri, uri).set_registered_model_alias(NAME, "champion", version)
    dead_uri = f"http://127.0.0.1:{free_port()}"
    cases = _cases(d, uri, dead_uri)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, args, d) for name, args in cases.items()}
        results = {name: f.result() for name, f in futures.items()}
    return Workspace(d, uri, results | {"_dead_uri": Result(0, dead_uri, "")})


@pytest.mark.parametrize(
    ("case", "needles"),
    [
        ("unknown_form", ["Unknown model source form", "ftp://example.com/model.skops"]),
        ("missing_file", ["No model file or directory", "no-such-model.skops"]),
        ("truncated", ["truncated.skops", "not a readable skops file"]),
        ("missing_alias", ["no alias 'production'", "Existing versions: 1", "@champion -> v1"]),
        ("missing_version", ["no version 9", "Existing versions: 1", "@champion -> v1"]),
        ("unreachable", ["Cannot reach the MLflow tracking server at DEAD_URI"]),
        ("missing_data", ["No data file at", "no-such-data.csv"]),
        ("binary_data", ["binary.csv", "neither CSV nor Parquet"]),
    ],
)
def test_cannot_compare_exits_2_with_one_line(ws: Workspace, case: str, needles: list[str]) -> None:
    result = ws.results[case]
    assert result.returncode == 2, result
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("modelgap: error: ")
    for needle in needles:
        assert needle.replace("DEAD_URI", ws.results["_dead_uri"].stdout) in line
    assert result.stdout == ""


def test_compare_prints_and_writes_the_parameter_differences(ws: Workspace) -> None:
    result = ws.results["happy"]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "model__learning_rate: 0.1 -> 0.05" in result.stdout
    assert "model__n_estimators: 30 -> 40" in result.stdout

    report: dict[str, Any] = json.loads((ws.dir / "out.json").read_text())
    assert report["schema_version"] == 1
    for side in ("repo", "deployed"):
        assert {
            "source",
            "flavor",
            "model_class",
            "task",
            "classes",
            "features",
            "sha256",
            "library_versions",
            "mlflow",
        } <= set(report[side])
        assert report[side]["task"] == "binary"
        assert report[side]["classes"] == [0, 1]
        assert [f["name"] for f in report[side]["features"]] == ["x1", "x2", "x3", "cat"]
        assert report[side]["model_class"] == "sklearn.pipeline.Pipeline"
    assert report["repo"]["source"] == str(ws.dir / "repo")
    assert report["deployed"]["source"] == f"models:/{NAME}@champion"
    assert report["deployed"]["mlflow"]["registered_name"] == NAME
    assert report["deployed"]["mlflow"]["aliases"] == ["champion"]
    assert report["deployed"]["mlflow"]["run_params"] == {"learning_rate": "0.1"}

    params = report["parameters"]
    assert params["identical"] is False
    assert params["changed"] == [
        {"name": "model__learning_rate", "repo": 0.05, "deployed": 0.1},
        {"name": "model__n_estimators", "repo": 40, "deployed": 30},
    ]
    assert params["only_in_repo"] == []
    assert params["only_in_deployed"] == []
