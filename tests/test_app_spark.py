"""The app with the operator's engine setting MODELGAP_ENGINE=spark: the demo models compared on a Parquet copy of
the demo sample, computed on Spark (local[2]); numbers checked against the natively loaded pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from appdata import disagreement_rate, expander_labelled, table_with
from streamlit.testing.v1 import AppTest

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 300


@pytest.fixture(scope="module")
def spark_app(
    spark: Any, demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppTest, Any, Path]]:
    """The app run once with the engine set; `spark` is the suite's session, which the app reuses."""
    folder = tmp_path_factory.mktemp("spark-app")
    parquet = folder / "sample.parquet"
    pd.read_csv(demo_workspace.sample_path).to_parquet(parquet)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_ENGINE", "spark")
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.setenv("MODELGAP_ALLOWED_DIRS", f"{folder}{':'}{demo_workspace.directory}")
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params.update(
            repo=str(demo_workspace.repo_model_dir),
            deployed=demo_workspace.deployed_source,
            data=str(parquet),
            target=demo_workspace.target,
            uri=demo_workspace.tracking_uri,
            shap="60",
        )
        at.run()
        yield at, demo_workspace, parquet


def test_the_app_compares_on_spark_when_the_operator_says_so(spark_app: tuple[AppTest, Any, Path]) -> None:
    at, demo, _ = spark_app
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    rate = [m.value for m in at.metric if m.label == "Disagreement rate"]
    assert rate == [f"{disagreement_rate(demo, demo.deployed_source) * 100:.2f}%"]
    at.switch_page("pages/explanations.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "recent_inquiries" in set(table_with(at, "Input column", "Rank, repo", "Rank, deployed")["Input column"])
    notes = [str(m.value) for m in expander_labelled(at, "Explanation notes").markdown]
    assert any("computed on the executors; importance aggregated in Spark" in n for n in notes), notes


def test_csv_data_with_the_spark_engine_says_how_to_fix_it(spark: Any, demo_workspace: Any) -> None:
    """The demo's sample is CSV, which the Spark engine does not read: one error with the fix, the page still up."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_ENGINE", "spark")
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MODELGAP_ALLOWED_DIRS", raising=False)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for e in at.error]
    assert any("is CSV" in m and "MODELGAP_ENGINE=pandas" in m for m in messages), messages
    assert at.selectbox(key="modelgap.pick.repo.kind").value  # the pickers stay usable to choose other data
