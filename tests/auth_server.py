"""A real `mlflow server --app-name basic-auth` for tests: sqlite stores, an admin whose password is set here
(MLflow ships none), users created through MLflow's own AuthServiceClient. Stopped by PID like the others."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servers import RunningServer, server_env, start_mlflow_server

ADMIN = "admin"


@dataclass
class AuthServer:
    server: RunningServer
    admin_password: str

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()


def start_auth_server(workdir: Path) -> AuthServer:
    """Basic auth on, default permission READ, one worker, job execution off."""
    workdir.mkdir(parents=True, exist_ok=True)
    password = "adm-" + secrets.token_hex(8)  # MLflow wants 12+ characters
    config = workdir / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{workdir / 'auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        "auth_cache_ttl_seconds = 60\n"  # PBKDF2 once per user and minute, not on every request
    )
    env = server_env(MLFLOW_AUTH_CONFIG_PATH=str(config), MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16))
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        env.pop(name, None)
    server = start_mlflow_server(workdir, app_name="basic-auth", env=env, timeout=120)
    return AuthServer(server=server, admin_password=password)


@contextmanager
def as_user(username: str, password: str) -> Iterator[None]:
    """MLflow's clients (and modelgap's) read the credentials from the environment: set them, then restore."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = username, password
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
