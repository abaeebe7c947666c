"""The Spark session modelgap runs on: Spark Connect (SPARK_REMOTE), a master URL, or local mode.

Resolution order: an explicit `master` argument, then SPARK_REMOTE (Spark Connect, e.g. sc://host:15002), then
MODELGAP_SPARK_MASTER (a master URL such as spark://host:7077 or yarn), else `local[2]`. An existing active
session is reused, so a notebook or a test that already made one keeps its settings. Local sessions get small
memory settings and no Spark UI: they are for one laptop or one CI runner.

Failing fast: a Spark Connect server is probed once with a short retry policy before the session is made
(PySpark's default retries a missing server for minutes), and a standalone master (spark://) must accept a TCP
connection within MASTER_CONNECT_TIMEOUT seconds (Spark itself tries to register for a minute). The driver JVM
this module starts writes its own output to `driver_log_path()`, not to the terminal, so a command-line error
stays one line; MODELGAP_DEBUG=1 leaves it on the terminal.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgap.errors import ModelgapError
from modelgap.values import one_line

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
PANDAS_ENGINE = "the pandas engine (--engine pandas; MODELGAP_ENGINE=pandas in the app)"  # hints' way out
MASTER_CONNECT_TIMEOUT = 5.0  # seconds for a spark:// master to accept a TCP connection
# Spark Connect's first call: 3 retries from 100 ms (about 1 s in all) instead of PySpark's DefaultPolicy
# (15 retries from 50 ms, x4 each time up to 60 s): a server that is not there fails at once.
PROBE_RETRY_POLICY = {"max_retries": 3, "initial_backoff": 100, "backoff_multiplier": 2.0, "max_backoff": 1000}


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
            f"pip install pyspark (see requirements.txt), or use {PANDAS_ENGINE}.",
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
            _probe_remote(remote, target)
            return SparkSession.builder.remote(remote).appName(APP_NAME).getOrCreate()
        chosen = master or os.environ.get(MASTER_ENV) or LOCAL_MASTER
        _probe_master(chosen, target)
        return _classic_session(chosen, target)
    except SparkEngineError:
        raise
    except ImportError as exc:  # Spark Connect's client libraries (grpcio, ...) are not installed
        raise SparkEngineError(
            f"The Spark session could not start on {target}: {_short(exc)}.",
            "pip install 'pyspark[connect]' for Spark Connect, or unset SPARK_REMOTE to run Spark locally.",
        ) from exc
    except Exception as exc:
        log = f"; the driver's log is {driver_log_path()}" if remote is None else ""
        raise SparkEngineError(
            f"The Spark session could not start on {target}: {type(exc).__name__}: {_short(exc)}.",
            f"Check {REMOTE_ENV} / {MASTER_ENV} (unset both for local mode) and that Java 17 is installed{log}.",
        ) from exc


def driver_log_path() -> Path:
    """Where the driver JVM this process starts writes its stdout and stderr (one file per process)."""
    return Path(tempfile.gettempdir()) / f"modelgap-spark-driver-{os.getpid()}.log"


def _classic_session(master: str, target: str) -> SparkSession:
    """A session on `master`; the driver JVM, when this call starts it, writes to driver_log_path()."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    conf = SparkConf().setMaster(master).setAppName(APP_NAME)
    if master.startswith("local"):
        conf.setAll(list(LOCAL_CONF.items()))
    gateway = _quiet_gateway(conf, target)
    if gateway is not None:
        SparkContext(conf=conf, gateway=gateway)
    session = SparkSession.builder.config(conf=conf).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _quiet_gateway(conf: Any, target: str) -> Any:
    """Start the driver JVM with its output in driver_log_path() (PySpark's `popen_kwargs` hook for this);
    None when a JVM runs already in this process or MODELGAP_DEBUG asks for Spark's output on the terminal."""
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None or os.environ.get("MODELGAP_DEBUG"):
        return None
    path = driver_log_path()
    with path.open("ab") as log:
        start = log.tell()
        try:
            return launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
        except Exception as exc:
            log.flush()
            reason = _log_error(path, start) or _short(exc)
            raise SparkEngineError(
                f"The Spark driver did not start for {target}: {reason}.",
                f"Fix {MASTER_ENV} (local[2], spark://host:7077, yarn, k8s://...) and check that Java 17 is "
                f"installed; the driver's log is {path}.",
            ) from exc


def _log_error(path: Path, start: int) -> str | None:
    """The last exception or error line the driver wrote to its log after byte `start`, without the stack."""
    with path.open("rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").splitlines()
    found = [ln.strip() for ln in lines if re.search(r"(Exception|Error)\b", ln) and not ln.strip().startswith("at ")]
    if not found:
        return None
    return one_line(re.sub(r'^Exception in thread "[^"]*" ', "", found[-1]))


def _probe_remote(remote: str, target: str) -> None:
    """One call to the Spark Connect server with PROBE_RETRY_POLICY; SparkEngineError when it does not answer."""
    from pyspark.sql.connect.client import SparkConnectClient

    client = SparkConnectClient(remote, retry_policy=PROBE_RETRY_POLICY)
    try:
        client.get_configs("spark.app.name")
        client.release_session()
    except Exception as exc:
        raise SparkEngineError(
            f"Nothing answers at {target}: {_short(exc)}.",
            f"Start the server (sbin/start-connect-server.sh) or fix {REMOTE_ENV}; unset it to run Spark locally.",
        ) from exc
    finally:
        client.close()


def _probe_master(master: str, target: str) -> None:
    """A spark://host:port[,host:port] master must accept a TCP connection within MASTER_CONNECT_TIMEOUT."""
    if not master.startswith("spark://"):
        return
    errors = []
    for address in master[len("spark://") :].split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            raise SparkEngineError(
                f"The Spark master URL {master!r} ({target}) is not spark://host:port.",
                f"Fix {MASTER_ENV} (e.g. spark://host:7077), or unset it to run Spark locally.",
            )
        try:
            with socket.create_connection((host, int(port)), timeout=MASTER_CONNECT_TIMEOUT):
                return
        except OSError as exc:
            errors.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    raise SparkEngineError(
        f"No Spark master answers at {target} ({'; '.join(errors)}).",
        f"Start the master (sbin/start-master.sh) or fix {MASTER_ENV}; unset it to run Spark locally.",
    )


def _short(exc: BaseException) -> str:
    """An exception as a short single line: gRPC's `details` when present, else its first line, 200 chars."""
    text = str(exc)
    found = re.search(r'details = "([^"]*)"', text)
    if found:
        text = found.group(1)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return one_line(first).rstrip(".")
