"""The CI gate: `compare --fail-on fail|warn|never` exit codes on crafted comparisons, and bad policies (exit 2).

The repo model needs a column (x3) the deployed model is not sent, so the schema check decides the verdict;
policies turn that finding into fail (default), warn or pass. Real models, the real CLI: a few runs as
subprocesses (the contract scripts see), the rest of the matrix through `modelgap.cli.main` in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from contract import assert_contract
from factories import fitted, save_skops

from modelgap.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
POLICIES = {
    "fail": None,  # built-in defaults: a new required column fails
    "warn": '[checks.schema_compatibility]\nnew_columns = "warn"\n',
    "pass": '[checks.schema_compatibility]\nnew_columns = "pass"\n',
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass
class Workspace:
    dir: Path
    runs: dict[str, Run]

    def args(self, verdict: str, fail_on: str) -> list[str]:
        out = ["compare", "--repo", str(self.dir / "repo.skops"), "--deployed", str(self.dir / "deployed.skops")]
        if POLICIES[verdict] is not None:
            out += ["--policy", str(self.dir / f"{verdict}.toml")]
        return [*out, "--fail-on", fail_on]


def _subprocess(args: list[str], cwd: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "modelgap", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    d = tmp_path_factory.mktemp("gate")
    repo, X, y = fitted("gbm")
    deployed = type(repo)(n_estimators=10, random_state=0).fit(X[["x1", "x2"]], y)
    save_skops(repo, d / "repo.skops")
    save_skops(deployed, d / "deployed.skops")
    for name, text in POLICIES.items():
        if text is not None:
            (d / f"{name}.toml").write_text(text)
    (d / "bad.toml").write_text("[checks.disagreement_rate]\nwarn = 0.01\nfial = 0.05\n")
    bad_cwd = d / "with-bad-modelgap-toml"
    bad_cwd.mkdir()
    (bad_cwd / "modelgap.toml").write_text("[checks.top_k_overlap]\nwarn = 2\n")
    ws = Workspace(d, {})
    reports = ["--json", str(d / "out.json"), "--markdown", str(d / "out.md"), "--html", str(d / "out.html")]
    cases = {
        "fail-fail": (ws.args("fail", "fail"), d),
        "warn-warn": (ws.args("warn", "warn"), d),
        "pass-fail-reports": ([*ws.args("pass", "fail"), *reports], d),
        # The model does not exist: a policy checked first names the policy, not the model.
        "bad-policy": (
            ["compare", "--repo", str(d / "nope.skops"), "--deployed", "x.skops", "--policy", "bad.toml"],
            d,
        ),
        "bad-cwd-policy": (ws.args("fail", "fail"), bad_cwd),
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_subprocess, args, cwd) for name, (args, cwd) in cases.items()}
        ws.runs = {name: f.result() for name, f in futures.items()}
    return ws


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [("fail-fail", 1, "FAIL"), ("warn-warn", 1, "WARN"), ("pass-fail-reports", 0, "PASS")],
)
def test_exit_codes_in_a_subprocess(ws: Workspace, case: str, code: int, status: str) -> None:
    run = ws.runs[case]
    assert run.code == code, run.stderr
    assert run.stderr == ""
    assert f"Verdict: {status}" in run.stdout


def test_reports_written_by_the_cli(ws: Workspace) -> None:
    report = json.loads((ws.dir / "out.json").read_text())
    assert_contract(report, require=("verdict",))
    assert report["verdict"]["status"] == "pass"
    assert report["verdict"]["policy"]["source"] == str(ws.dir / "pass.toml")
    assert report["verdict"]["policy"]["checks"]["schema_compatibility"]["new_columns"] == "pass"
    markdown = (ws.dir / "out.md").read_text()
    assert "PASS · Ready to release" in markdown
    html = (ws.dir / "out.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and 'class="banner pass"' in html


@pytest.mark.parametrize(
    ("verdict", "fail_on", "code"),
    [
        ("fail", "warn", 1),
        ("fail", "never", 0),
        ("warn", "fail", 0),
        ("warn", "never", 0),
        ("pass", "warn", 0),
        ("pass", "never", 0),
    ],
)
def test_fail_on_matrix(
    ws: Workspace,
    verdict: str,
    fail_on: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ws.dir)
    assert main(ws.args(verdict, fail_on)) == code
    assert f"Verdict: {verdict.upper()}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("case", "key"), [("bad-policy", "checks.disagreement_rate.fial"), ("bad-cwd-policy", "top_k_overlap.warn")]
)
def test_invalid_policy_exits_2_naming_the_key(ws: Workspace, case: str, key: str) -> None:
    run = ws.runs[case]
    assert run.code == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("modelgap: error: ") and key in lines[0]
    assert "Traceback" not in run.stderr
