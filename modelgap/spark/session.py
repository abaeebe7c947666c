"""The Spark session modelgap runs on: Spark Connect (SPARK_REMOTE), a master URL, or local mode.

Resolution order: an explicit `master` argument, then SPARK_REMOTE (Spark Connect, e.g. sc://host:15002), then
MODELGAP_SPARK_MASTER (a master URL such as spark://host:7077 or yarn), else `local[2]`. An existing active
session is reused, so a notebook or a test that already made one keeps its settings. Local sessions get small
memory settings and no Spark UI: they are for one laptop or one CI runner.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING

from modelgap.errors import ModelgapError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_ENV = "MODELGAP_SPARK_MASTER"
REMOTE_ENV = "SPARK_REMOTE"
LOCAL_MASTER = "local[2]"
APP_NAME = "modelgap"
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.python.worker.reuse": "true",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


class SparkEngineError(ModelgapError):
    """Spark could not start, or a Spark job failed for a reason the user can fix."""


def quiet_spark_warnings() -> None:
    """PySpark warns about pandas 3 on every Arrow call; modelgap's own tests cover the paths it uses."""
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")


def import_pyspark() -> None:
    """Fail with one line when PySpark is not installed (the pandas engine never needs it)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkEngineError(
            "The Spark engine needs PySpark, which is not installed.",
            "pip install pyspark (see requirements.txt), or use --engine pandas.",
        ) from exc


def describe_target(master: str | None = None) -> str:
    """Where the session goes, in words for messages: 'Spark Connect sc://...' or 'master local[2]'."""
    remote = os.environ.get(REMOTE_ENV)
    if master is None and remote:
        return f"Spark Connect {remote} ({REMOTE_ENV})"
    chosen = master or os.environ.get(MASTER_ENV) or LOCAL_MASTER
    return f"master {chosen}"


def get_session(master: str | None = None) -> SparkSession:
    """The active session, else a new one as the module doc describes; SparkEngineError naming the target."""
    import_pyspark()
    quiet_spark_warnings()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter (local mode)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    remote = os.environ.get(REMOTE_ENV) if master is None else None
    target = describe_target(master)
    try:
        if remote:
            return SparkSession.builder.remote(remote).appName(APP_NAME).getOrCreate()
        chosen = master or os.environ.get(MASTER_ENV) or LOCAL_MASTER
        builder = SparkSession.builder.master(chosen).appName(APP_NAME)
        if chosen.startswith("local"):
            for key, value in LOCAL_CONF.items():
                builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        raise SparkEngineError(
            f"The Spark session could not start on {target}: {type(exc).__name__}: {text}.",
            f"Check {REMOTE_ENV} / {MASTER_ENV} (unset both for local mode) and that Java 17 is installed.",
        ) from exc
