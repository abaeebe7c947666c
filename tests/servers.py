"""Real servers for tests: `mlflow server`, `mlflow models serve`, `streamlit run`, each on a free loopback port.

Started as their own process group and stopped by PID, so nothing outlives the test session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

VENV_BIN = str(Path(sys.executable).parent)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env.update(extra)
    return env


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start_server(
    cmd: Sequence[str],
    url: str,
    ready_path: str,
    log_path: Path,
    *,
    timeout: float = 90,
    env: dict[str, str] | None = None,
) -> RunningServer:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        list(cmd), stdout=log, stderr=subprocess.STDOUT, env=env or server_env(), start_new_session=True
    )
    server = RunningServer(proc, url, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0:3]} exited early:\n{server.log_tail()}")
        try:
            if requests.get(url + ready_path, timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.25)  # polling a port until it answers, not waiting for a result
    server.stop()
    raise RuntimeError(f"{cmd[0:3]} not ready after {timeout}s:\n{server.log_tail()}")


def start_mlflow_server(
    workdir: Path, *, app_name: str | None = None, env: dict[str, str] | None = None, timeout: float = 90
) -> RunningServer:
    """`mlflow server` (sqlite store, one worker) on a free loopback port; `app_name` e.g. "basic-auth"."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        os.path.join(VENV_BIN, "mlflow"),
        "server",
        *(["--app-name", app_name] if app_name else []),
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return start_server(cmd, f"http://127.0.0.1:{port}", "/health", workdir / "server.log", env=env, timeout=timeout)


def start_model_server(model_uri: str, workdir: Path, *, env: dict[str, str] | None = None) -> RunningServer:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        os.path.join(VENV_BIN, "mlflow"),
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return start_server(cmd, f"http://127.0.0.1:{port}", "/ping", workdir / "serve.log", env=env)


def start_streamlit(
    app: Path, workdir: Path, *, env: dict[str, str] | None = None, timeout: float = 90
) -> RunningServer:
    """`streamlit run app` headless on a free loopback port; ready when /_stcore/health answers. The repo's
    app.py starts as `make run` starts it (serve.py, which passes these options on to `streamlit run`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    serve = Path(__file__).resolve().parent.parent / "serve.py"
    launch = [str(serve)] if app.resolve() == serve.with_name("app.py") else ["-m", "streamlit", "run", str(app)]
    cmd = [
        sys.executable,
        *launch,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    return start_server(
        cmd, f"http://127.0.0.1:{port}", "/_stcore/health", workdir / "streamlit.log", timeout=timeout, env=env
    )


def start_spark_connect_server(workdir: Path, *, timeout: float = 120) -> RunningServer:
    """A real Spark Connect server (PySpark's own start-connect-server.sh, local[2]) on a free loopback port.

    Its Python workers import modelgap from this checkout (PYTHONPATH), as a cluster's executors would from an
    installed package. Ready when the port accepts a connection; `url` is the sc:// address for SPARK_REMOTE.
    """
    import pyspark

    workdir.mkdir(parents=True, exist_ok=True)
    home = Path(pyspark.__file__).resolve().parent
    port = free_port()
    env = server_env(
        SPARK_HOME=str(home),
        SPARK_NO_DAEMONIZE="1",
        SPARK_LOG_DIR=str(workdir / "logs"),
        SPARK_PID_DIR=str(workdir),
        PYSPARK_PYTHON=sys.executable,
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    env.pop("SPARK_REMOTE", None)
    cmd = [
        str(home / "sbin" / "start-connect-server.sh"),
        "--master",
        "local[2]",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
    ]
    log_path = workdir / "connect.log"
    proc = subprocess.Popen(
        cmd, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=workdir
    )
    server = RunningServer(proc, f"sc://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"start-connect-server.sh exited early:\n{server.log_tail()}")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.25)  # polling a port until it answers, not waiting for a result
    server.stop()
    raise RuntimeError(f"Spark Connect not ready after {timeout}s:\n{server.log_tail()}")
