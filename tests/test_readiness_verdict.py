"""The verdict: worst status wins, reasons by severity, the section builder runs last on real comparisons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from contract import assert_contract
from factories import fitted, save_skops

import modelgap
from modelgap.comparison import CompareOptions, run_comparison, section_builders
from modelgap.readiness import CHECKS, evaluate, load_policy
from modelgap.report import comparison_to_dict


def crafted(**sections: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "schema_version": 1,
        "parameters": {
            "same_artifact": False,
            "schema": {"only_in_repo": [], "only_in_deployed": [], "dtype_changes": []},
        },
    }
    report.update(sections)
    return report


def test_worst_status_wins_and_reasons_are_sorted_by_severity() -> None:
    report = crafted(
        predictions={"n_rows": 500, "task": "binary", "disagreement_rate": 0.5, "max_abs_diff": 0.2},
        explanations={"rank_correlation": 0.9, "top_k_overlap": 0.6, "top_k": 5},
    )
    verdict = evaluate(report)
    assert verdict.status == "fail"
    statuses = [c.status for c in verdict.checks]
    order = {"fail": 0, "warn": 1, "info": 2, "pass": 3, "skipped": 4}
    assert statuses == sorted(statuses, key=order.__getitem__)
    assert [c.name for c in verdict.reasons] == ["disagreement_rate", "max_probability_shift", "top_k_overlap"]
    assert [c.status for c in verdict.reasons] == ["fail", "warn", "warn"]
    assert len(verdict.checks) == len(CHECKS)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.0, "pass"), (0.02, "warn"), (0.2, "fail")],
)
def test_verdict_follows_the_checks(rate: float, expected: str) -> None:
    report = crafted(predictions={"n_rows": 100, "task": "regression", "disagreement_rate": rate, "max_abs_diff": 3})
    assert evaluate(report).status == expected


def test_skipped_and_info_never_fail_a_release() -> None:
    verdict = evaluate({"schema_version": 1, "parameters": {"same_artifact": False}})
    assert {c.status for c in verdict.checks} <= {"skipped", "info"}
    assert verdict.status == "pass"
    assert verdict.reasons == []


def test_to_dict_and_summary_lines() -> None:
    verdict = evaluate(crafted(predictions={"n_rows": 10, "task": "binary", "disagreement_rate": 0.3}))
    d = verdict.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["status"] == "fail"
    assert d["policy"]["source"] == "built-in defaults"
    assert d["counts"]["fail"] == 1
    assert d["reasons"] == [c.message for c in verdict.reasons]
    assert [c["name"] for c in d["checks"]] == [c.name for c in verdict.checks]
    for c in d["checks"]:
        assert {"name", "status", "value", "threshold", "message"} <= set(c)
    lines = verdict.summary_lines()
    assert lines[0].startswith("Verdict: FAIL")
    assert any("Prediction disagreement" in line and "30%" in line for line in lines)


def test_verdict_is_the_last_section_builder() -> None:
    names = [name for name, _ in section_builders()]
    assert names[-1] == "verdict"
    assert names.count("verdict") == 1


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A repo model that needs column x3, and a deployed model trained without it (real sklearn, skops files)."""
    d = tmp_path_factory.mktemp("verdict")
    repo, X, y = fitted("gbm")
    deployed = type(repo)(n_estimators=10, random_state=0).fit(X[["x1", "x2"]], y)
    return {"repo": save_skops(repo, d / "repo.skops"), "deployed": save_skops(deployed, d / "deployed.skops")}


def test_real_comparison_gets_a_verdict(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no modelgap.toml here: the defaults apply
    repo, deployed = modelgap.load_model(str(models["repo"])), modelgap.load_model(str(models["deployed"]))
    comparison = run_comparison(repo, deployed)
    verdict = comparison.sections["verdict"]
    assert verdict.status == "fail"
    [reason] = [c for c in verdict.checks if c.status == "fail"]
    assert reason.name == "schema_compatibility" and "x3" in reason.message
    report = comparison_to_dict(comparison)
    assert_contract(report, require=("verdict",))
    assert report["verdict"]["policy"]["source"] == "built-in defaults"
    identity = next(c for c in report["verdict"]["checks"] if c["name"] == "artifact_identity")
    assert identity["value"] is False  # two different files

    # The same pair under a policy that accepts new columns, picked up from ./modelgap.toml.
    (tmp_path / "modelgap.toml").write_text('[checks.schema_compatibility]\nnew_columns = "pass"\n')
    relaxed = run_comparison(repo, deployed, options=CompareOptions())
    assert relaxed.sections["verdict"].status == "pass"
    assert relaxed.sections["verdict"].policy.source == str(tmp_path / "modelgap.toml")
    again = evaluate(comparison_to_dict(comparison), load_policy(tmp_path / "modelgap.toml"))
    assert again.status == "pass"  # a saved report can be judged again under another policy
