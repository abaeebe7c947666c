"""modelgap is a real package: `pip install .` gives a working `modelgap` command, and the direct
dependencies pyproject.toml declares are the ones the pinned lock (requirements.txt) satisfies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_declared_dependencies_are_satisfied_by_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        declared += [Requirement(r) for r in extra]
    assert len(declared) >= 10
    for req in declared:
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{req.name} is declared but not pinned in requirements.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} does not admit the pinned {pins[name]}"
    assert project["scripts"]["modelgap"] == "modelgap.cli:main"


def test_pip_install_gives_a_working_modelgap_command(tmp_path: Path, demo_workspace: Any) -> None:
    # Build from a copy, so no build/ or egg-info lands in the repository.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "modelgap", src / "modelgap", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # The fresh venv sees the already installed third-party libraries (no downloads), but not the repository.
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "modelgap-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "elsewhere"  # not the repository: the installed package must be what runs
    work.mkdir()
    report = work / "report.json"
    ws = demo_workspace
    run = subprocess.run(
        [str(venv / "bin" / "modelgap"), "compare", "--repo", str(ws.repo_model_dir), "--deployed",
         ws.deployed_source, "--tracking-uri", ws.tracking_uri, "--data", str(ws.sample_path), "--no-shap",
         "--max-rows", "400", "--json", str(report), "--quiet", "--fail-on", "never"],
        capture_output=True, text=True, timeout=600, cwd=work,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["schema_version"] == 1 and data["predictions"]["n_rows"] == 400
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import modelgap; print(modelgap.__file__)"],
        capture_output=True, text=True, cwd=work, check=True,
    ).stdout  # fmt: skip
    assert str(venv) in where and str(ROOT) not in where
