"""The `data` section inside a real comparison: lineage, drift pairs, diagnosis, readiness, bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_skops, tabular

from modelgap.comparison import CompareOptions, Comparison, run_comparison
from modelgap.data import TableSample, build_diagnosis, compare_tables
from modelgap.model import LoadedModel
from modelgap.options import DataOptions
from modelgap.report.json_report import comparison_to_dict
from modelgap.sources import load_model


@dataclass
class Setup:
    repo: LoadedModel
    deployed: LoadedModel
    sample: Path
    train_repo: Path
    train_deployed: Path
    folder: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """A GBM (repo) and a logistic regression (deployed) on x1..x3; the repo's training data (2025) has x2
    shifted by +1.5 against the deployed model's (2024); the sample looks like the 2024 data."""
    folder = tmp_path_factory.mktemp("data-section")
    paths = {}
    for name, seed, shift in (("train_2024", 1, 0.0), ("train_2025", 0, 1.5), ("sample", 2, 0.0)):
        df, y = tabular(n=800, seed=seed)
        df["x2"] = df["x2"] + shift
        paths[name] = folder / f"{name}.csv"
        df.assign(y=y).to_csv(paths[name], index=False)
    gbm, _, _ = fitted("gbm")
    logreg, _, _ = fitted("logreg")
    repo = load_model(str(save_skops(gbm, folder / "repo.skops")))
    deployed = load_model(str(save_skops(logreg, folder / "deployed.skops")))
    return Setup(repo, deployed, paths["sample"], paths["train_2025"], paths["train_2024"], folder)


def _compare(
    setup: Setup,
    *,
    shap: bool = False,
    repo_training_data: str | None = None,
    deployed_training_data: str | None = None,
) -> Comparison:
    training = DataOptions(repo_training_data=repo_training_data, deployed_training_data=deployed_training_data)
    options = CompareOptions(target="y", no_shap=not shap, shap_rows=120, data=training)
    return run_comparison(setup.repo, setup.deployed, data_path=setup.sample, options=options)


@pytest.fixture(scope="module")
def full(setup: Setup) -> Comparison:
    return _compare(
        setup, shap=True, repo_training_data=str(setup.train_repo), deployed_training_data=str(setup.train_deployed)
    )


def test_data_section_in_the_json_report(full: Comparison) -> None:
    report = comparison_to_dict(full)
    json.dumps(report, allow_nan=False)
    data = report["data"]
    assert "data" not in full.errors and data["errors"] == []
    assert data["training_data_relation"] == data["lineage"]["relation"] == "different_snapshots"
    assert data["lineage"]["repo"]["training"]["origin"] == "user"
    assert data["lineage"]["schema"]["identical"] is True
    pairs = {(d["reference"], d["current"]): d for d in data["drift"]}
    assert set(pairs) == {
        ("deployed training data", "repo training data"),
        ("deployed training data", "sample data"),
        ("repo training data", "sample data"),
    }
    for pair in pairs.values():
        assert {c["column"] for c in pair["columns"]} == {"x1", "x2", "x3"}  # the models' inputs; not cat, not y
    training = pairs[("deployed training data", "repo training data")]
    assert training["columns"][0]["column"] == "x2" and training["columns"][0]["severity"] == "high"
    quiet = pairs[("deployed training data", "sample data")]
    assert all(c["severity"] in ("none", "low") for c in quiet["columns"])
    moved = pairs[("repo training data", "sample data")]
    assert moved["columns"][0]["column"] == "x2"
    sample_psis = [c["psi"] for key in (quiet, moved) for c in key["columns"]]
    assert data["max_psi_sample_vs_training"] == pytest.approx(max(sample_psis))
    assert [t["column"] for t in data["target_drift"]] == ["y", "y", "y"]


def test_readiness_reads_the_data_section(full: Comparison) -> None:
    checks = {c["name"]: c for c in comparison_to_dict(full)["verdict"]["checks"]}
    assert checks["training_data_changed"]["status"] == "info"
    assert "different snapshots" in checks["training_data_changed"]["message"]
    assert checks["sample_drift"]["status"] == "warn" and "x2" in checks["sample_drift"]["message"]


def test_diagnosis_lines_up_drift_slices_and_importance(full: Comparison) -> None:
    data = full.sections["data"]
    rows = {r.column: r for r in data.diagnosis}
    assert set(rows) == {"x1", "x2", "x3"}
    x2 = rows["x2"]
    assert x2.training_severity == "high" and "drift" in x2.flags
    # the sample looks like the deployed model's training data, not the repo model's: the larger drift shows
    assert x2.sample_severity == "high" and x2.sample_reference == "repo training data"
    features = {f["feature"]: f for f in full.sections["explanations"].to_dict()["features"]}
    for col, row in rows.items():
        assert row.repo_importance == pytest.approx(features[col]["repo_importance"])
        assert row.importance_ratio == pytest.approx(
            features[col]["repo_importance"] / features[col]["deployed_importance"]
        )
    slices = [s for s in full.sections["predictions"].to_dict()["slices"] if s["column"] == "x2"]
    most_telling = max(slices, key=lambda s: s["z"])  # the predictions section's own ranking
    assert x2.slice == most_telling["condition"] and x2.slice_rate == most_telling["rate"]
    lines = "\n".join(data.summary_lines())
    assert "Training data: different snapshots of the same source" in lines and "x2 (PSI" in lines


def test_diagnosis_from_section_dicts() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"income": rng.normal(50, 10, 2000), "age": rng.normal(40, 10, 2000)})
    cur = ref.assign(income=ref["income"] * 1.6)
    pair = compare_tables(
        TableSample("deployed training data", ref, len(ref)),
        TableSample("repo training data", cur, len(cur)),
        kind="training_vs_training",
    )
    predictions = {
        "disagreement_rate": 0.05,
        "slices": [
            {"column": "income", "slice": "(80, 120]", "condition": "income > 80", "n_rows": 400, "rate": 0.2},
            {"column": "income", "slice": "(0, 40]", "n_rows": 10, "rate": 0.9},  # too small to count
            {"column": "age", "slice": "(50, 90]", "n_rows": 300, "rate": 0.06},
        ],
    }
    keys = ("feature", "repo_importance", "deployed_importance", "repo_rank", "deployed_rank")
    features = [("income", 0.4, 0.2, 1, 2), ("age", 0.3, 0.31, 2, 1)]
    explanations = {"features": [dict(zip(keys, f, strict=True)) for f in features]}
    rows = build_diagnosis(["income", "age"], training=pair, predictions=predictions, explanations=explanations)
    income, age = rows
    assert income.column == "income" and income.flags == ["drift", "disagreement", "importance"]
    assert income.slice == "income > 80" and income.slice_lift == pytest.approx(4.0)
    assert income.importance_ratio == pytest.approx(2.0)
    assert "leans on it 2.0x as much" in income.summary and "income > 80" in income.summary
    assert age.flags == [] and age.summary == ""
    empty = build_diagnosis(["income"], training=None, predictions=None, explanations=None)
    assert empty[0].flags == [] and empty[0].repo_importance is None


# ---------------------------------------------------------------- bad input


def _bad_file(folder: Path, kind: str) -> Path:
    path = folder / f"bad_{kind}.csv"
    if kind == "unreadable":
        path.write_bytes(b"\x00\x9f\x92\x96 not a table")
    elif kind == "schema":
        pd.DataFrame({"clicks": [1, 2, 3], "country": ["fr", "de", "it"]}).to_csv(path, index=False)
    elif kind == "empty":
        path.write_text("x1,x2,x3,cat,y\n")
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("unreadable", "Could not read the repo model's training data: .* neither CSV nor Parquet"),
        ("schema", "share none of the columns to compare"),
        ("empty", "Could not read the repo model's training data: .* no data rows"),
        ("missing", None),
    ],
)
def test_bad_training_data_gives_a_message_and_the_rest_still_runs(
    setup: Setup, tmp_path: Path, kind: str, message: str | None
) -> None:
    import re

    bad = _bad_file(tmp_path, kind) if kind != "missing" else tmp_path / "nowhere.csv"
    comparison = _compare(setup, repo_training_data=str(bad), deployed_training_data=str(setup.train_deployed))
    assert "predictions" in comparison.sections and "verdict" in comparison.sections
    data = comparison_to_dict(comparison)["data"]
    if message is None:
        assert data["errors"] == []
        assert any("No file at" in n for n in data["lineage"]["repo"]["training"]["notes"])
    else:
        assert any(re.search(message, e) for e in data["errors"]), data["errors"]
    kinds = [(d["reference"], d["current"]) for d in data["drift"]]
    assert ("deployed training data", "sample data") in kinds  # the pair that can still be computed


def test_bad_sample_data_keeps_lineage_and_the_training_pair(setup: Setup, tmp_path: Path) -> None:
    from modelgap.data import build_data

    options = CompareOptions(
        data=DataOptions(repo_training_data=str(setup.train_repo), deployed_training_data=str(setup.train_deployed))
    )
    comparison = Comparison(setup.repo, setup.deployed, options, parameters=None)  # type: ignore[arg-type]
    comparison.data_path = str(_bad_file(tmp_path, "empty"))
    build_data(comparison, lambda _m, _f: None)
    data = comparison.sections["data"].to_dict()
    assert any("Could not read the sample data" in e and "no data rows" in e for e in data["errors"])
    assert [d["kind"] for d in data["drift"]] == ["training_vs_training"]
    assert data["max_psi_sample_vs_training"] is None


def test_unknown_lineage_is_reported_not_guessed(setup: Setup) -> None:
    comparison = _compare(setup)
    data = comparison_to_dict(comparison)["data"]
    assert data["training_data_relation"] == "unknown" and data["drift"] == []
    assert any("--repo-training-data" in n for n in data["notes"])
    checks = {c["name"]: c for c in comparison_to_dict(comparison)["verdict"]["checks"]}
    assert checks["training_data_changed"]["status"] == "skipped"


def test_one_file_for_both_models_is_the_same_data_and_compared_once(setup: Setup) -> None:
    same = str(setup.train_deployed)
    data = comparison_to_dict(_compare(setup, repo_training_data=same, deployed_training_data=same))["data"]
    assert data["training_data_relation"] == "same_data"
    assert [(d["kind"], d["reference"]) for d in data["drift"]] == [
        ("sample_vs_training", "training data of both models")
    ]
