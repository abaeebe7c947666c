"""Sign-off on a real `mlflow server --app-name basic-auth`: a read-only user can compare but not sign (the
error names the missing write permission, nothing is written), a user with EDIT on the model can, and is the
default reviewer; wrong credentials are an auth error. Users and grants go through MLflow's AuthServiceClient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from auth_server import ADMIN, AuthServer, as_user, start_auth_server
from factories import fitted, log_registered
from test_writeback import snapshot

from modelgap.cli import main
from modelgap.signoff.record import TAG_PREFIX

pytestmark = pytest.mark.server

NAME = "auth-credit"
READER, EDITOR = ("reader", "reader-pass-0123"), ("editor", "editor-pass-0123")


@dataclass
class Secured:
    server: AuthServer
    data: Path

    @property
    def uri(self) -> str:
        return self.server.url

    def admin(self) -> Any:
        return as_user(ADMIN, self.server.admin_password)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    from mlflow.server.auth.client import AuthServiceClient
    from mlflow.tracking import MlflowClient

    work = tmp_path_factory.mktemp("auth-server")
    server = start_auth_server(work)
    try:
        with as_user(ADMIN, server.admin_password):
            auth = AuthServiceClient(server.url)
            auth.create_user(*READER)
            auth.create_user(*EDITOR)
            deployed, X, y = fitted("gbm")
            repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
            log_registered(deployed, X, NAME, server.url)
            log_registered(repo, X, NAME, server.url)
            client = MlflowClient(server.url, server.url)
            client.set_registered_model_alias(NAME, "champion", "1")
            client.set_registered_model_alias(NAME, "challenger", "2")
            auth.grant_user_permission(READER[0], "registered_model", NAME, "READ")
            auth.grant_user_permission(EDITOR[0], "registered_model", NAME, "EDIT")
        X.assign(y=y).to_csv(work / "sample.csv", index=False)
        yield Secured(server=server, data=work / "sample.csv")
    finally:
        server.stop()


def login(monkeypatch: pytest.MonkeyPatch, user: tuple[str, str]) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user[1])


def admin_snapshot(secured: Secured) -> dict[str, Any]:
    with secured.admin():
        return snapshot(secured.uri)


@pytest.fixture()
def report(secured: Secured, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The read-only user compares the challenger with the champion (reading is allowed)."""
    login(monkeypatch, READER)
    out = tmp_path / "report.json"
    args = ["compare", "--repo", f"models:/{NAME}@challenger", "--deployed", f"models:/{NAME}@champion"]
    args += ["--data", str(secured.data), "--no-shap", "--tracking-uri", secured.uri, "--json", str(out)]
    assert main([*args, "--fail-on", "never", "--quiet"]) == 0
    return out


def sign(secured: Secured, report: Path, *extra: str) -> int:
    return main(["signoff", "--report", str(report), "--decision", "approve", "--tracking-uri", secured.uri, *extra])


def test_a_read_only_user_is_refused_with_the_missing_permission_and_nothing_is_written(
    secured: Secured, report: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = admin_snapshot(secured)
    capsys.readouterr()
    login(monkeypatch, READER)
    assert sign(secured, report, "--comment", "looks fine") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert f"The MLflow user 'reader' has no write permission on registered model '{NAME}' version 2" in err[0], err
    assert "nothing was recorded" in err[0] and "EDIT permission" in err[0]
    assert READER[1] not in err[0]  # never the password
    assert admin_snapshot(secured) == before


def test_a_user_with_edit_permission_signs_and_is_the_default_reviewer(
    secured: Secured, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = admin_snapshot(secured)
    login(monkeypatch, EDITOR)
    assert sign(secured, report, "--role", "manager") == 0
    after = admin_snapshot(secured)
    old, new = before["versions"][(NAME, "2")]["tags"], after["versions"][(NAME, "2")]["tags"]
    added = {k: v for k, v in new.items() if k not in old}
    assert len(added) == 1 and next(iter(added)).startswith(TAG_PREFIX)
    record = json.loads(next(iter(added.values())))
    assert (record["reviewer"], record["role"], record["decision"]) == ("editor", "manager", "approve")
    assert after["versions"][(NAME, "1")] == before["versions"][(NAME, "1")]  # the deployed version: untouched
    assert after["runs"] == before["runs"]


def test_wrong_credentials_are_an_auth_error(
    secured: Secured, report: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = admin_snapshot(secured)
    capsys.readouterr()
    login(monkeypatch, (EDITOR[0], "not-the-password"))
    assert sign(secured, report) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused access" in err[0] and "MLFLOW_TRACKING_PASSWORD" in err[0]
    assert "not-the-password" not in err[0]
    assert admin_snapshot(secured) == before
