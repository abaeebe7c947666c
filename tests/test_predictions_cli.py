"""`python -m modelgap compare --data ...` on bad data: exit 2 with one line naming the problem, never a traceback;
on good data, the JSON's predictions and metrics equal the in-process computation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from factories import fitted, save_skops, tabular

import modelgap
from modelgap.comparison import CompareOptions
from modelgap.predictions import compare_metrics, compare_predictions

REPO_ROOT = Path(__file__).resolve().parent.parent

# case -> (data file, extra args, words the one stderr line must contain)
CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "missing_column": ("missing_column.csv", [], ["lacks columns", "x2"]),
    "missing_target": ("good.csv", ["--target", "label"], ["'label'", "not in the data"]),
    "wrong_dtype": ("wrong_dtype.csv", [], ["'x1'", "'twelve'", "numbers"]),
    "unseen_category": ("unseen.csv", [], ["'cat'", "'zzz'", "never saw"]),
    "nan": ("nan.csv", [], ["missing", "x2 (4 NaN)"]),
    "empty": ("empty.csv", [], ["empty"]),
    "header_only": ("header_only.csv", [], ["no data rows"]),
    "wrong_delimiter": ("colon.csv", [], ["delimiter"]),
    "not_a_table": ("picture.csv", [], ["neither CSV nor Parquet"]),
}


def _write_data(d: Path) -> None:
    X, y = tabular(n=300, seed=8)
    good = X.assign(y=y.to_numpy())
    good.to_csv(d / "good.csv", index=False)
    good.drop(columns=["x2"]).to_csv(d / "missing_column.csv", index=False)
    bad = good.astype({"x1": object})
    bad.loc[17, "x1"] = "twelve"
    bad.to_csv(d / "wrong_dtype.csv", index=False)
    unseen = good.copy()
    unseen.loc[[4, 40], "cat"] = "zzz"
    unseen.to_csv(d / "unseen.csv", index=False)
    nan = good.copy()
    nan.loc[[1, 2, 3, 50], "x2"] = np.nan
    nan.to_csv(d / "nan.csv", index=False)
    (d / "empty.csv").write_bytes(b"")
    (d / "header_only.csv").write_text("x1,x2,x3,cat,y\n")
    good.to_csv(d / "colon.csv", index=False, sep=":")
    (d / "picture.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "modelgap", "compare", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, subprocess.CompletedProcess[str]]]:
    d = tmp_path_factory.mktemp("predictions-cli")
    _write_data(d)
    # The repo model refuses unknown categories; neither model takes NaN (no imputer before the GBM).
    save_skops(fitted("pipeline", pre__cat__handle_unknown="error")[0], d / "repo.skops")
    save_skops(fitted("pipeline", seed=3, model__n_estimators=10)[0], d / "deployed.skops")
    models = ["--repo", str(d / "repo.skops"), "--deployed", str(d / "deployed.skops"), "--no-shap"]
    jobs = {name: [*models, "--data", str(d / file), *extra] for name, (file, extra, _) in CASES.items()}
    jobs["happy"] = [
        *models,
        "--data",
        str(d / "good.csv"),
        "--target",
        "y",
        "--json",
        str(d / "out.json"),
        "--fail-on",
        "never",
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, args, d) for name, args in jobs.items()}
        return d, {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_exits_2_with_one_clear_line(
    runs: tuple[Path, dict[str, subprocess.CompletedProcess[str]]], case: str
) -> None:
    proc = runs[1][case]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelgap: error: "), proc.stderr
    for word in CASES[case][2]:
        assert word in lines[0], (word, lines[0])


def test_json_and_summary_equal_the_in_process_numbers(
    runs: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    d, results = runs
    proc = results["happy"]
    assert proc.returncode == 0, proc.stderr
    report = json.loads((d / "out.json").read_text())
    repo, deployed = modelgap.load_model(str(d / "repo.skops")), modelgap.load_model(str(d / "deployed.skops"))
    mine, _ = compare_predictions(repo, deployed, data_path=d / "good.csv", options=CompareOptions(target="y"))
    p = report["predictions"]
    for key in ("n_rows", "n_disagreements", "disagreement_rate", "mean_abs_diff", "max_abs_diff"):
        assert p[key] == pytest.approx(getattr(mine, key), rel=1e-12), key
    assert [t["row"] for t in p["top"]] == [t["row"] for t in mine.top]
    assert p["flips"] == pytest.approx(mine.flips)
    metrics = compare_metrics(mine.outputs).to_dict()
    assert report["metrics"].keys() == metrics.keys()
    for name, entry in metrics.items():
        assert report["metrics"][name] == pytest.approx(entry, rel=1e-12), name
    assert f"Predictions ({mine.n_rows:,} rows, binary)" in proc.stdout
    assert "Metrics on 300 labelled rows" in proc.stdout
