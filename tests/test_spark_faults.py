"""The Spark engine when things go wrong, through the real CLI: no Spark to connect to, a model that fails
inside an executor, a table that does not exist; and an endpoint called from the executors, which must give
the pandas engine's numbers.

The command-line runs are real subprocesses (their stderr is the contract: one line, exit 2), all started at once
by the module fixture `cli_runs` (before the in-process tests) so their start-up costs overlap; each test waits
for its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from endpoint_servers import Served
from servers import VENV_BIN, free_port

from tests import factories as fx

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parent.parent
SENTINEL_ROW = 2400  # beyond the driver's 2,000-row head check: only an executor sees it
SENTINEL = 1_000_000_000
CLI_TIMEOUT = 240  # seconds; a run that hangs (PySpark's default retries) fails the test instead


def _python_model(estimator: Any) -> Any:
    """A real pyfunc: the fitted pipeline's labels, but ValueError with its own message on the sentinel x3.
    The class is local, so cloudpickle saves it by value: the CLI's process and the executors can load it."""
    import mlflow.pyfunc

    class RangeCheckedModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        def __init__(self, model: Any) -> None:
            self.model = model

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            if (model_input["x3"] >= SENTINEL).any():
                raise ValueError("feature x3 out of range: 1e9")
            return self.model.predict(model_input)

    return RangeCheckedModel(estimator)


def save_range_checked(estimator: Any, path: Path) -> Path:
    """mlflow.pyfunc.save_model of the model above, with its task and classes declared in the MLmodel metadata."""
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(
        str(path), python_model=_python_model(estimator), metadata={"task": "binary", "classes": [0, 1]}
    )
    return path


@dataclass
class World:
    repo: Path  # skops pipeline
    deployed: Path  # skops pipeline, another seed
    range_checked: Path  # pyfunc of the repo pipeline that raises on the sentinel
    data: Path  # 300 clean rows
    sentinel_data: Path  # 2,500 rows, x3 = SENTINEL on SENTINEL_ROW
    estimator: Any


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    d = tmp_path_factory.mktemp("spark-faults")
    m1, _, _ = fx.fitted("pipeline", "binary")
    m2, _, _ = fx.fitted("pipeline", "binary", seed=1)
    df, y = fx.tabular(n=300, seed=3)
    df.assign(y=y).to_parquet(d / "data.parquet")
    big, big_y = fx.tabular(n=2500, seed=4)
    big.loc[SENTINEL_ROW, "x3"] = SENTINEL
    big.assign(y=big_y).to_parquet(d / "sentinel.parquet", row_group_size=500)
    return World(
        repo=fx.save_skops(m1, d / "repo.skops"),
        deployed=fx.save_skops(m2, d / "deployed.skops"),
        range_checked=save_range_checked(m1, d / "range-checked"),
        data=d / "data.parquet",
        sentinel_data=d / "sentinel.parquet",
        estimator=m1,
    )


def _start_cli(repo: Path, deployed: Path, data: str, **env: str) -> subprocess.Popen[str]:
    argv = ["compare", "--repo", str(repo), "--deployed", str(deployed), "--data", data, "--target", "y"]
    argv += ["--engine", "spark", "--no-shap", "--quiet", "--fail-on", "never"]
    full_env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "MODELGAP_SPARK_MASTER")}
    full_env.pop("MODELGAP_DEBUG", None)
    full_env.update(PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), **env)
    return subprocess.Popen(
        [sys.executable, "-m", "modelgap", *argv],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def cli_runs(world: World) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Every command-line case, started at once (see the module doc); any still running at the end is killed."""
    nobody = free_port()  # bound and released: nothing listens there
    runs = {
        "remote": _start_cli(world.repo, world.deployed, str(world.data), SPARK_REMOTE=f"sc://127.0.0.1:{nobody}"),
        "master": _start_cli(
            world.repo, world.deployed, str(world.data), MODELGAP_SPARK_MASTER=f"spark://127.0.0.1:{nobody}"
        ),
        "bad_master": _start_cli(world.repo, world.deployed, str(world.data), MODELGAP_SPARK_MASTER="nonsense"),
        "executor": _start_cli(world.range_checked, world.deployed, str(world.sentinel_data)),
        "table": _start_cli(world.repo, world.deployed, "no_such_db.no_such_table"),
    }
    yield runs
    for proc in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the CLI did not finish within {CLI_TIMEOUT} s")
    return proc.returncode, err


def _one_error_line(code: int, err: str) -> str:
    """The CLI contract for a failure: exit 2 and exactly one error line on stderr, no traceback. (A model that
    runs code when it loads is announced once on a `modelgap: note:` line before it; that is not an error.)"""
    lines = [line for line in err.strip().splitlines() if not line.startswith("modelgap: note: ")]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and "\tat " not in err and "py4j" not in err.lower()
    assert lines[0].startswith("modelgap: error: ")
    return lines[0]


# ---------------------------------------------------------------- a model that fails inside an executor


@pytest.mark.usefixtures("cli_runs")  # start the command-line runs first: they run while this test does
def test_model_failing_in_an_executor_is_one_line_with_its_message(spark: Any, world: World) -> None:
    from modelgap.comparison import CompareOptions
    from modelgap.errors import DataError
    from modelgap.sources import load_model
    from modelgap.spark.predictions import compare_predictions_spark

    repo, deployed = load_model(str(world.range_checked)), load_model(str(world.deployed))
    head = pd.read_parquet(world.sentinel_data).iloc[:2000]  # the driver's check passes: the model is fine here
    assert (repo.predict_labels(head.drop(columns="y")) == world.estimator.predict(head)).all()
    with pytest.raises(DataError) as info:
        compare_predictions_spark(
            repo, deployed, spark=spark, data_path=str(world.sentinel_data), options=CompareOptions(target="y")
        )
    text = info.value.one_line()
    assert "ValueError: feature x3 out of range: 1e9" in text and "repo model" in text
    assert "\n" not in text and "Traceback" not in text and "org.apache" not in text


# ---------------------------------------------------------------- an endpoint called from the executors


@pytest.mark.usefixtures("cli_runs")
def test_endpoint_scored_from_executors_equals_pandas_engine(spark: Any, served: Served, tmp_path: Path) -> None:
    """Repo model (MLflow sklearn dir, local) vs the served probability endpoint: the Spark engine's executors
    call the endpoint; its predictions section equals the pandas engine's, and numpy on the models agrees."""
    from modelgap.cli import main

    X, y = fx.tabular(n=600, seed=0)  # the rows the served models were trained on, with their labels
    data = tmp_path / "rows.parquet"
    X.assign(y=y).to_parquet(data, row_group_size=200)
    reports = {}
    for engine in ("pandas", "spark"):
        out = tmp_path / f"{engine}.json"
        argv = ["compare", "--repo", str(served.dir_a), "--deployed", served.url_b, "--data", str(data)]
        argv += ["--target", "y", "--engine", engine, "--no-shap", "--json", str(out), "--fail-on", "never"]
        assert main([*argv, "--quiet"]) == 0
        reports[engine] = json.loads(out.read_text())["predictions"]
    a, b = reports["pandas"], reports["spark"]
    assert b["engine"] == "spark" and b["rows_read"] == 600
    for key in ("n_rows", "n_disagreements", "disagreement_rate", "crosstab", "flips", "top", "diff_histogram"):
        assert a[key] == b[key], key
    assert b["mean_abs_diff"] == pytest.approx(a["mean_abs_diff"], abs=1e-9)
    assert b["max_abs_diff"] == pytest.approx(a["max_abs_diff"], abs=1e-12)
    # independent: the two real models on the same rows
    labels_a, labels_b = served.model_a.predict(X), served.model_b.predict(X)
    assert b["n_disagreements"] == int((labels_a != labels_b).sum()) > 0
    gap = np.abs(served.model_a.predict_proba(X)[:, 1] - served.model_b.predict_proba(X)[:, 1])
    assert b["mean_abs_diff"] == pytest.approx(float(gap.mean()), abs=1e-9)


# ---------------------------------------------------------------- the command line: one line, exit 2


def test_cli_model_failing_in_an_executor(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    line = _one_error_line(*_finish(cli_runs["executor"]))
    assert "ValueError: feature x3 out of range: 1e9" in line and "could not predict" in line


def test_cli_missing_table(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    line = _one_error_line(*_finish(cli_runs["table"]))
    assert "'no_such_db.no_such_table' does not exist in the Spark catalog" in line and "SHOW TABLES" in line


# ---------------------------------------------------------------- the session cannot start


def test_cli_spark_connect_server_not_there(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    line = _one_error_line(*_finish(cli_runs["remote"]))
    assert "sc://127.0.0.1:" in line and "SPARK_REMOTE" in line
    # with PySpark's Connect client installed: nothing answers; without it: how to install it
    assert "Nothing answers at" in line or "pip install 'pyspark[connect]'" in line, line


def test_cli_standalone_master_not_there(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    line = _one_error_line(*_finish(cli_runs["master"]))
    assert "No Spark master answers at master spark://127.0.0.1:" in line and "Connection refused" in line
    assert "Start the master" in line and "MODELGAP_SPARK_MASTER" in line


def test_cli_invalid_master_gives_spark_reason(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    line = _one_error_line(*_finish(cli_runs["bad_master"]))
    assert "master nonsense" in line and "Master must either be yarn or start with spark" in line
    assert "Fix MODELGAP_SPARK_MASTER" in line and "driver's log is" in line
