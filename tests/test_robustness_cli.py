"""`compare` refuses early what it could not finish, and writes what it can (issue 13, robustness).

- numeric flags: ranges checked by argparse with one line naming the flag and the range;
- --json / --markdown / --html: every path checked before comparing; each report written on its own;
- --log-to-mlflow: a repo model without an MLflow run is refused before comparing;
- a policy naming an unknown metric is refused with the known names;
- --endpoint-shap-rows: SHAP requests to a real `mlflow models serve` endpoint are capped and announced.

CLI cases are real subprocesses, run concurrently once per module. The "before comparing" cases name a model
file that does not exist: had the check come after loading, the line would be about that file instead.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from endpoint_servers import Served
from factories import fitted, save_mlflow, save_skops

from modelgap.cli import build_parser, main
from modelgap.comparison import CompareOptions, run_comparison
from modelgap.sources import load_model
from modelgap.sources.endpoint import EndpointOptions
from modelgap.sources.http_client import HttpResponse, RequestsTransport

REPO_ROOT = Path(__file__).resolve().parent.parent
KNOWN_METRICS = "accuracy, roc_auc, log_loss, f1, mae, rmse, r2"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def line(self) -> str:
        """The one stderr line of a refused run (and the contract around it)."""
        assert self.returncode == 2, self
        assert "Traceback" not in self.stdout + self.stderr
        assert "usage:" not in self.stderr
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("modelgap: error: ")
        return lines[0]


def _run(args: list[str], cwd: Path) -> Result:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "modelgap", "compare", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Workspace:
    dir: Path
    results: dict[str, Result]


def _cases(d: Path) -> dict[str, list[str]]:
    pair = ["--repo", str(d / "repo.skops"), "--deployed", str(d / "deployed.skops")]
    missing = ["--repo", str(d / "missing.skops"), "--deployed", str(d / "missing-too.skops")]
    data = ["--data", str(d / "data.csv"), "--target", "y"]
    log = ["--log-to-mlflow", "--deployed", str(d / "missing.skops"), *data]
    return {
        "outputs": [
            *missing,
            *data,
            "--json", str(d / "a-folder"),
            "--markdown", "/proc/modelgap-report.md",
            "--html", str(d / "no-such-folder" / "r.html"),
        ],
        "partial": [
            *pair,
            *data,
            "--shap-rows", "0",
            "--json", str(d / "out.json"),
            "--markdown", str(d / "out.md"),
            "--html", "/dev/full",  # exists and opens, then refuses the bytes: no space left on device
            "--fail-on", "never",
        ],
        "tolerance_nan": [*pair, *data, "--tolerance", "nan"],
        "log_file": ["--repo", str(d / "repo.skops"), *log],
        "log_dir_without_run": ["--repo", str(d / "mlflow-no-run"), *log],
        "log_dir_without_server": ["--repo", str(d / "mlflow-with-run"), *log],
        "log_endpoint": ["--repo", "http://127.0.0.1:9/invocations", *log],
        "log_run_passes": ["--repo", "runs:/0123456789abcdef/model", *log, "--tracking-uri", f"sqlite:///{d}/x.db"],
        "bogus_metric": [*missing, *data, "--policy", str(d / "bogus.toml")],
        "bad_sample": [*missing, *data, "--policy", str(d / "sample.toml")],
    }  # fmt: skip


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    d = tmp_path_factory.mktemp("robust-cli")
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=12, learning_rate=0.3)
    save_skops(repo, d / "repo.skops")
    save_skops(deployed, d / "deployed.skops")
    X.assign(y=y).to_csv(d / "data.csv", index=False)
    (d / "a-folder").mkdir()
    save_mlflow(deployed, d / "mlflow-no-run", X)
    shutil.copytree(d / "mlflow-no-run", d / "mlflow-with-run")
    mlmodel = d / "mlflow-with-run" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text() + "run_id: 0123456789abcdef\n")
    assert "run_id" not in (d / "mlflow-no-run" / "MLmodel").read_text()
    (d / "bogus.toml").write_text("[checks.metric_deltas]\nallowed_regression_by_metric = {bogus = 0.5}\n")
    (d / "sample.toml").write_text("[sample]\nmin_rows = -3\n")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, args, d) for name, args in _cases(d).items()}
        results = {name: f.result() for name, f in futures.items()}
    return Workspace(d, results)


# ---------------------------------------------------------------- numeric flags


@pytest.mark.parametrize(
    ("flag", "value", "range_words"),
    [
        ("--max-rows", "-5", "a whole number of at least 1"),
        ("--max-rows", "0", "a whole number of at least 1"),
        ("--max-rows", "ten", "a whole number of at least 1"),
        ("--top", "-1", "a whole number of at least 1"),
        ("--top", "2.5", "a whole number of at least 1"),
        ("--shap-rows", "-1", "a whole number of at least 0 (0: no explanations)"),
        ("--endpoint-shap-rows", "-3", "a whole number of at least 0 (0: no SHAP requests to an endpoint)"),
        ("--tolerance", "nan", "a finite number of at least 0"),
        ("--tolerance", "inf", "a finite number of at least 0"),
        ("--tolerance", "-0.1", "a finite number of at least 0"),
    ],
)
def test_numeric_flags_out_of_range_are_refused_in_one_line(
    flag: str, value: str, range_words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["compare", "--repo", "a.skops", "--deployed", "b.skops", flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage:" not in err, err
    assert err.startswith(f"modelgap: error: argument {flag}: must be {range_words}, not '{value}'"), err


def test_numeric_flags_in_range_are_taken() -> None:
    edges = ["--max-rows", "1", "--top", "1", "--shap-rows", "0", "--endpoint-shap-rows", "0", "--tolerance", "0"]
    args = build_parser().parse_args(["compare", "--repo", "a", "--deployed", "b", *edges])
    assert (args.max_rows, args.top, args.shap_rows, args.endpoint_shap_rows, args.tolerance) == (1, 1, 0, 0, 0.0)


def test_a_real_run_refuses_nan_without_usage_or_traceback(ws: Workspace) -> None:
    line = ws.results["tolerance_nan"].line()
    assert "--tolerance" in line and "finite number of at least 0" in line and "'nan'" in line


# ---------------------------------------------------------------- output paths


def test_every_bad_output_path_is_named_before_comparing(ws: Workspace) -> None:
    line = ws.results["outputs"].line()
    assert f"--json {ws.dir / 'a-folder'}: it is a folder, not a file" in line
    assert "--markdown /proc/modelgap-report.md: cannot create a file in /proc" in line
    assert (
        f"--html {ws.dir / 'no-such-folder' / 'r.html'}: the folder {ws.dir / 'no-such-folder'} does not exist" in line
    )
    assert "missing.skops" not in line  # refused before any model was loaded
    assert ws.results["outputs"].stdout == ""
    assert not (ws.dir / "no-such-folder").exists()
    assert list((ws.dir / "a-folder").iterdir()) == []


def test_an_unwritable_path_costs_only_its_own_report(ws: Workspace) -> None:
    result = ws.results["partial"]
    line = result.line()
    assert "Compared, but could not write --html /dev/full (no space left on device)." in line
    assert f"Written: {ws.dir / 'out.json'}, {ws.dir / 'out.md'}" in line
    assert "Verdict:" in result.stdout  # the comparison's summary is printed all the same
    report = json.loads((ws.dir / "out.json").read_text())
    assert report["verdict"]["status"] in ("pass", "warn", "fail")
    assert "# " in (ws.dir / "out.md").read_text()
    # --shap-rows 0 means no explanations (the app's meaning of 0 too)
    assert "explanations" not in report and "Explanations skipped (--shap-rows 0)." in report["notes"]


def test_a_writable_existing_file_is_kept_until_the_report_replaces_it(tmp_path: Path) -> None:
    from modelgap.cli_checks import _unwritable

    existing = tmp_path / "old.json"
    existing.write_text("old")
    assert _unwritable(existing) is None and existing.read_text() == "old"
    fresh = tmp_path / "new.json"
    assert _unwritable(fresh) is None and not fresh.exists()  # the probe file is removed again


# ---------------------------------------------------------------- --log-to-mlflow


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("log_file", "is a model file, so there is no run to record it on"),
        ("log_dir_without_run", "is an MLflow model folder whose MLmodel names no run_id"),
        ("log_dir_without_server", "records the report on run 0123456789abcdef"),
        ("log_endpoint", "is a scoring endpoint"),
    ],
)
def test_log_to_mlflow_without_a_run_is_refused_before_comparing(ws: Workspace, case: str, needle: str) -> None:
    line = ws.results[case].line()
    assert "--log-to-mlflow" in line and needle in line
    assert "missing.skops" not in line  # the deployed model was never loaded


def test_log_to_mlflow_with_a_run_source_passes_the_early_check(ws: Workspace) -> None:
    line = ws.results["log_run_passes"].line()  # it fails later, loading the run from a store that is not there
    assert "--log-to-mlflow" not in line and "x.db" in line


# ---------------------------------------------------------------- the policy


def test_a_policy_naming_an_unknown_metric_is_refused_with_the_known_names(ws: Workspace) -> None:
    line = ws.results["bogus_metric"].line()
    assert "Unknown name 'bogus' in 'checks.metric_deltas.allowed_regression_by_metric'" in line
    assert f"Known names: {KNOWN_METRICS}." in line and "missing.skops" not in line


def test_a_bad_sample_size_in_the_policy_is_refused(ws: Workspace) -> None:
    line = ws.results["bad_sample"].line()
    assert "'sample.min_rows'" in line and "at least 0" in line


# ---------------------------------------------------------------- SHAP requests to a real endpoint


class Counting(RequestsTransport):
    """The real transport, counting the POSTs (scoring requests) it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.posts = 0

    def request(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str], timeout: float
    ) -> HttpResponse:  # type: ignore[override]
        self.posts += method == "POST"
        return super().request(method, url, body=body, headers=headers, timeout=timeout)


def compare_with_endpoint(served: Served, options: CompareOptions) -> dict[str, Any]:
    """Repo: model A's MLflow folder; deployed: model B's real scoring server. POSTs counted per section."""
    X = served.X.head(300)
    data = X.assign(y=served.model_a.predict(X))
    transport = Counting()
    endpoint = load_model(served.url_b, endpoint_options=EndpointOptions(probe=X.head(20), transport=transport))
    repo = load_model(str(served.dir_a))
    marks: dict[str, int] = {}
    messages: list[str] = []

    def progress(message: str, _fraction: float) -> None:
        messages.append(message)
        if message.startswith("Computing "):
            marks[message.split()[1]] = transport.posts

    comparison = run_comparison(repo, endpoint, data=data, options=options, progress=progress)
    return {
        "comparison": comparison,
        "shap_requests": marks["parity"] - marks["explanations"],
        "prediction_requests": marks["metrics"] - marks["predictions"],
        "messages": messages,
    }


def expected_estimate(rows: int, features: int, batch: int = 500) -> int:
    """The README's rule: 4 permutations x ceil(2 x features x 50 background rows / batch) requests a row,
    plus one for the explained rows' own outputs."""
    return rows * 4 * math.ceil(2 * features * 50 / batch) + math.ceil(rows / batch)


@pytest.mark.server
def test_a_default_comparison_sends_few_shap_requests_and_says_how_many(served: Served) -> None:
    run = compare_with_endpoint(served, CompareOptions(target="y"))  # the defaults: --shap-rows 1000
    comparison = run["comparison"]
    assert comparison.options.endpoint_shap_rows == 20
    explained = comparison.sections["explanations"]
    assert explained.n_rows == 20
    estimate = expected_estimate(20, features=len(served.X.columns))
    note = next(n for n in comparison.notes if n.startswith("Endpoint traffic"))
    assert f"about {estimate:,} for SHAP on 20 rows (--endpoint-shap-rows 20)" in note
    assert "about 1 request(s) for predictions (300 rows, 500 per request)" in note
    assert run["prediction_requests"] == 1
    # what really went over the wire: about the estimate, and far from the ~2,700 of 200 uncapped rows
    assert 0.7 * estimate <= run["shap_requests"] <= 1.5 * estimate, (run["shap_requests"], estimate)
    assert any(f"through its endpoint (20/20 rows, about {estimate:,} requests)" in m for m in run["messages"])


@pytest.mark.server
def test_no_shap_requests_with_endpoint_shap_rows_0(served: Served) -> None:
    run = compare_with_endpoint(served, CompareOptions(target="y", endpoint_shap_rows=0))
    assert run["shap_requests"] == 0
    assert "explanations" not in run["comparison"].sections
    assert any("--endpoint-shap-rows 0 sends no SHAP requests" in n for n in run["comparison"].notes)


@pytest.mark.server
def test_the_cli_flag_caps_the_rows_explained(served: Served, tmp_path: Path) -> None:
    data = tmp_path / "sample.csv"
    served.X.head(100).assign(y=served.model_a.predict(served.X.head(100))).to_csv(data, index=False)
    out = tmp_path / "r.json"
    sources = ["--repo", str(served.dir_a), "--deployed", served.url_b, "--data", str(data), "--target", "y"]
    flags = ["--endpoint-shap-rows", "3", "--quiet", "--fail-on", "never", "--json", str(out)]
    code = main(["compare", *sources, *flags])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["explanations"]["n_rows"] == 3
    assert any(f"about {expected_estimate(3, 4):,} for SHAP on 3 rows" in n for n in report["notes"])


def test_the_app_uses_the_cli_default() -> None:
    from components.state import ComparisonSpec

    cli_default = build_parser().parse_args(["compare", "--repo", "a", "--deployed", "b"]).endpoint_shap_rows
    assert ComparisonSpec(repo="a", deployed="b").options().endpoint_shap_rows == cli_default == 20
