"""The reports' data and serving-parity sections, sample-drift judged on sample-vs-training pairs only, the
wording of an endpoint's claimed identity, and `--deployed-meta` without an endpoint.

One real CLI run: a repo model (skops) against a real HTTP scoring endpoint (in-process server) that claims, via
--deployed-meta, to serve model A but answers with model B's labels; training data for both models (two
snapshots of one source) and a sample. Expected numbers are computed here with numpy from the same arrays.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from endpoint_servers import FaultyServer, labels_of
from factories import fitted, numeric, save_mlflow, save_skops, tabular

from modelgap.cli import main
from modelgap.readiness import get_check
from modelgap.report import render_html, render_markdown

PSI_LEVELS = ((0.25, "high"), (0.1, "moderate"), (0.02, "low"))


@dataclass
class Run:
    report: dict[str, Any]
    markdown: str
    html: str
    dir_a: Path
    endpoint: str
    n_differing: int  # rows where model A's and model B's labels differ
    sample_psi: dict[str, dict[str, float]]  # reference file -> column -> PSI of the sample against it
    training_psi: dict[str, float]  # column -> PSI of the repo training data against the deployed one


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """PSI as documented in modelgap/data/drift.py, written independently: decile bins of the reference."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    cuts = [-np.inf, *edges, np.inf]
    r = pd.Series(pd.cut(reference, cuts, right=True)).value_counts(normalize=True, sort=False).to_numpy()
    c = pd.Series(pd.cut(current, cuts, right=True)).value_counts(normalize=True, sort=False).to_numpy()
    r, c = np.maximum(r, eps), np.maximum(c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def severity(value: float) -> str:
    return next((name for floor, name in PSI_LEVELS if value >= floor), "none")


@pytest.fixture(scope="module")
def run(faulty: FaultyServer, tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("report-sections")
    model_a, X, y = fitted("gbm")  # what the registry entry says is deployed
    model_b, _, _ = fitted("gbm", n_estimators=5, max_depth=1)  # what the endpoint really answers with
    repo, _, _ = fitted("gbm", learning_rate=0.05)
    dir_a = save_mlflow(model_a, work / "deployed-a", X)
    save_skops(repo, work / "repo.skops")
    faulty.behaviours["serves-b"] = labels_of(model_b)
    data = work / "data"
    data.mkdir()
    deployed_train = X.assign(y=y)
    repo_train = X.assign(x2=X["x2"] + 1.0, y=y)  # the newer snapshot moved x2 by a standard deviation
    sample_df, sample_y = tabular(seed=1)
    sample = numeric(sample_df).assign(x2=sample_df["x2"] + 0.5, y=sample_y)  # halfway between the two
    deployed_train.to_csv(data / "train_2025-q3.csv", index=False)
    repo_train.to_csv(data / "train_2025-q4.csv", index=False)
    sample.to_csv(work / "sample.csv", index=False)
    out = {kind: work / f"report.{kind}" for kind in ("json", "md", "html")}
    endpoint = faulty.url("serves-b")
    args = ["compare", "--repo", str(work / "repo.skops"), "--deployed", endpoint, "--deployed-meta", str(dir_a)]
    args += ["--data", str(work / "sample.csv"), "--target", "y", "--no-shap", "--fail-on", "never", "--quiet"]
    args += ["--repo-training-data", str(data / "train_2025-q4.csv")]
    args += ["--deployed-training-data", str(data / "train_2025-q3.csv")]
    args += ["--json", str(out["json"]), "--markdown", str(out["md"]), "--html", str(out["html"])]
    assert main(args) == 0
    cols = ["x1", "x2", "x3"]
    Xs = sample[cols]
    return Run(
        report=json.loads(out["json"].read_text()),
        markdown=out["md"].read_text(),
        html=out["html"].read_text(),
        dir_a=dir_a,
        endpoint=endpoint,
        n_differing=int((model_a.predict(Xs) != model_b.predict(Xs)).sum()),
        sample_psi={
            name: {c: psi(ref[c].to_numpy(float), Xs[c].to_numpy(float)) for c in cols}
            for name, ref in (("deployed", deployed_train), ("repo", repo_train))
        },
        training_psi={c: psi(deployed_train[c].to_numpy(float), repo_train[c].to_numpy(float)) for c in cols},
    )


# ---------------------------------------------------------------- (a) data and parity in Markdown and HTML


def test_markdown_has_the_data_section(run: Run) -> None:
    md = run.markdown
    assert "### Data" in md
    assert "**Training data:** different snapshots of the same source" in md  # train_2025-q3 vs -q4, one folder
    top = max(run.sample_psi["deployed"], key=lambda c: run.sample_psi["deployed"][c])
    value = run.sample_psi["deployed"][top]
    assert top == "x2" and severity(value) in ("moderate", "high")
    assert f"| sample data vs deployed training data | {top} | {severity(value)} | {value:.3g} |" in md
    train_top = run.training_psi["x2"]
    assert f"| repo training data vs deployed training data | x2 | {severity(train_top)} | {train_top:.3g} |" in md
    assert md == render_markdown(run.report)  # the CLI's file is the renderer's output for the JSON report


def test_markdown_has_the_parity_section(run: Run) -> None:
    md = run.markdown
    n_requests = math.ceil(600 / 50)  # 600 sample rows in the parity check's batches of 50
    assert "### Serving parity" in md
    assert "| Rows compared | 600 (labels) |" in md
    assert f"| Rows differing with another label | {run.n_differing} (" in md and run.n_differing > 0
    assert f"| Latency per request ({n_requests} requests) | p50 " in md
    assert f"| Failed requests | 0 of {n_requests} requests |" in md


def test_markdown_caps_its_tables_for_a_pull_request_comment(run: Run) -> None:
    from modelgap.report.markdown import MAX_DRIFT_ROWS

    report = copy.deepcopy(run.report)
    pair = report["data"]["drift"][0]
    pair["columns"] = [{"column": f"col{i}", "severity": "high", "psi": 1.0 + i / 100} for i in range(40)]
    md = render_markdown(report)
    lines = md.splitlines()
    start = lines.index("| compared | column | drift | PSI |") + 2
    rows = lines[start : lines.index("", start)]
    assert len(rows) == MAX_DRIFT_ROWS and all(r.startswith("| ") for r in rows)
    assert any(r.startswith(f"| {pair['name']} | col39 | high | 1.39 |") for r in rows)  # worst first
    hidden = sum(_drifted_counts(report)) - MAX_DRIFT_ROWS
    assert f"…and {hidden} more drifted columns" in md
    assert len(md) < 65_536 and len(md.splitlines()) < 150  # GitHub's comment limit, and a readable length


def _drifted_counts(report: dict[str, Any]) -> list[int]:
    return [sum(c.get("severity") in ("moderate", "high") for c in p["columns"]) for p in report["data"]["drift"]]


def test_html_has_the_data_and_parity_sections(run: Run) -> None:
    html = run.html
    assert '<section id="data"' in html and '<section id="parity"' in html
    assert "Training data: different snapshots of the same source" in html
    assert 'id="chart-drift"' in html  # the drift ranking of the sample
    value = run.sample_psi["deployed"]["x2"]
    assert f'<td>x2</td><td>{severity(value)}</td><td class="num">{value:.3g}</td>' in html
    assert f"{run.n_differing} (" in html and "Rows differing with another label" in html
    assert html.index('id="parity"') < html.index('id="predictions"')  # what is deployed comes first


# ---------------------------------------------------------------- (b) sample drift: sample vs training only


def test_sample_drift_judges_the_sample_against_training_data_only(run: Run) -> None:
    check = next(c for c in run.report["verdict"]["checks"] if c["name"] == "sample_drift")
    expected = max(max(cols.values()) for cols in run.sample_psi.values())
    assert max(run.training_psi.values()) > expected  # the training-vs-training pair drifted more
    assert check["value"] == pytest.approx(expected, rel=1e-9)
    assert check["value"] == pytest.approx(run.report["data"]["max_psi_sample_vs_training"], rel=1e-12)
    assert check["status"] == ("warn" if expected > 0.2 else "pass")


def _pair(kind: str, psi_value: float) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": kind,
        "reference": "deployed training data",
        "columns": [{"column": "x", "psi": psi_value}],
    }


@pytest.mark.parametrize(
    ("drift", "status", "value"),
    [
        ([_pair("training_vs_training", 0.9), _pair("sample_vs_training", 0.05)], "pass", 0.05),
        ([_pair("sample_vs_training", 0.3), _pair("training_vs_training", 0.01)], "warn", 0.3),
        ([_pair("training_vs_training", 0.9)], "skipped", None),
        ({"repo_training_vs_deployed_training": {"columns": [{"column": "x", "psi": 0.9}]}}, "skipped", None),
    ],
    ids=["training-pair-ignored", "sample-pair-counts", "only-training-pairs", "only-training-by-name"],
)
def test_sample_drift_ignores_training_vs_training(drift: Any, status: str, value: float | None) -> None:
    result = get_check("sample_drift").evaluate({"data": {"drift": drift}})
    assert result.status == status, result.message
    assert result.value == value


# ---------------------------------------------------------------- (c) an endpoint's identity is a claim


def test_an_endpoint_paired_with_a_registry_entry_only_claims_its_identity(run: Run) -> None:
    check = next(c for c in run.report["verdict"]["checks"] if c["name"] == "artifact_identity")
    assert check["status"] == "info" and check["value"] is False
    assert f"which the endpoint {run.endpoint} claims to serve" in check["message"]
    assert str(run.dir_a) in check["message"] and "not verified" in check["message"]
    assert "claimed, not verified" in run.markdown and "claimed, not verified" in run.html
    same = copy.deepcopy(run.report)
    same["parameters"]["same_artifact"] = True
    result = get_check("artifact_identity").evaluate(same)
    assert result.message.startswith("The repo model file is byte-identical")
    assert "claims to serve" in result.message and "not verified" in result.message
    plain = copy.deepcopy(run.report)
    plain["deployed"]["mlflow"].pop("paired_with")
    plain["deployed"]["flavor"], plain["deployed"]["source"] = "sklearn", "models:/m/1"
    assert "claims" not in get_check("artifact_identity").evaluate(plain).message


def test_html_report_renders_again_from_the_saved_json(run: Run) -> None:
    """The HTML file equals a fresh rendering of the JSON report, but for its timestamp (chart ids are fixed)."""
    import re

    stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert stamp.sub("", render_html(run.report)) == stamp.sub("", run.html)


# ---------------------------------------------------------------- (d) --deployed-meta needs an endpoint


def test_deployed_meta_without_an_endpoint_is_refused(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", "--repo", str(run.dir_a), "--deployed", str(run.dir_a), "--deployed-meta", str(run.dir_a)]
    assert main([*args, "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert "--deployed-meta" in lines[0] and "is not one" in lines[0]
    assert "Drop --deployed-meta, or pass the endpoint's URL as --deployed." in lines[0]
