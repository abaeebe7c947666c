"""The Spark engine over Spark Connect (SPARK_REMOTE): a real Spark Connect server, the CLI as a user runs it,
and the JSON report equal to the pandas engine's on the same data and models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from servers import RunningServer, start_spark_connect_server

from tests import factories as fx
from tests.contract import assert_contract

pytest.importorskip("pyspark")
pytest.importorskip("grpc")  # pyspark[connect]'s client libraries (requirements.txt)
pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_spark_connect_server(tmp_path_factory.mktemp("spark-connect"))
    try:
        yield server
    finally:
        server.stop()


def test_compare_over_spark_connect_equals_the_pandas_engine(connect_server: RunningServer, tmp_path: Path) -> None:
    m1, _, _ = fx.fitted("pipeline", "binary")
    m2, _, _ = fx.fitted("pipeline", "binary", seed=1)
    repo, dep = fx.save_skops(m1, tmp_path / "repo.skops"), fx.save_skops(m2, tmp_path / "dep.skops")
    df, y = fx.tabular(n=900, seed=12)
    data = tmp_path / "data.parquet"
    df.assign(y=y).to_parquet(data, row_group_size=400)
    base = ["compare", "--repo", str(repo), "--deployed", str(dep), "--data", str(data), "--target", "y"]
    base += ["--shap-rows", "40", "--fail-on", "never", "--quiet"]
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "MODELGAP_SPARK_MASTER")}
    runs = {}
    for engine, extra_env in (("spark", {"SPARK_REMOTE": connect_server.url}), ("pandas", {})):
        out = tmp_path / f"{engine}.json"
        done = subprocess.run(
            [sys.executable, "-m", "modelgap", *base, "--engine", engine, "--json", str(out)],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        runs[engine] = json.loads(out.read_text())
    spark, pandas_ = runs["spark"], runs["pandas"]
    assert_contract(spark, require=("predictions", "explanations"))
    assert spark["engine"] == "spark" and pandas_["engine"] == "pandas"
    for key in ("n_rows", "n_disagreements", "disagreement_rate", "crosstab", "top", "flips"):
        assert spark["predictions"][key] == pandas_["predictions"][key], key
    assert spark["predictions"]["mean_abs_diff"] == pytest.approx(pandas_["predictions"]["mean_abs_diff"], abs=1e-9)
    assert spark["metrics"] == pandas_["metrics"]
    for a, b in zip(spark["explanations"]["features"], pandas_["explanations"]["features"], strict=True):
        assert a["feature"] == b["feature"]
        assert a["repo_importance"] == pytest.approx(b["repo_importance"], abs=1e-9)
    assert spark["verdict"]["status"] == pandas_["verdict"]["status"]
    labels = pd.Series(m1.predict(df) != m2.predict(df))  # independent: the pipelines' own predictions
    assert spark["predictions"]["n_disagreements"] == int(np.sum(labels))
