"""The readiness policy: defaults, where it is read from, strict validation, switching checks off."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from modelgap.errors import PolicyError
from modelgap.readiness import (
    CHECKS,
    default_policy,
    default_policy_toml,
    evaluate,
    load_policy,
    parse_policy,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "modelgap.toml.example"


def test_defaults_when_no_file(tmp_path: Path) -> None:
    policy = load_policy(None, cwd=tmp_path)
    assert policy.source == "built-in defaults"
    assert policy.checks == default_policy().checks
    assert set(policy.checks) == {c.name for c in CHECKS}
    assert all(s["enabled"] for s in policy.checks.values())


def test_modelgap_toml_in_working_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "modelgap.toml").write_text("[checks.disagreement_rate]\nwarn = 0.002\nfail = 0.004\n")
    policy = load_policy(None, cwd=tmp_path)
    assert policy.source == str(tmp_path / "modelgap.toml")
    assert policy.settings("disagreement_rate") == {"enabled": True, "warn": 0.002, "fail": 0.004}
    assert policy.checks["max_probability_shift"] == default_policy().checks["max_probability_shift"]


def test_explicit_path_wins_over_working_directory(tmp_path: Path) -> None:
    (tmp_path / "modelgap.toml").write_text("[checks.disagreement_rate]\nwarn = 0.002\n")
    other = tmp_path / "strict.toml"
    other.write_text("[checks.disagreement_rate]\nwarn = 0.003\n")
    assert load_policy(other, cwd=tmp_path).settings("disagreement_rate")["warn"] == 0.003


def test_example_file_documents_exactly_the_defaults() -> None:
    text = EXAMPLE.read_text()
    assert text == default_policy_toml(), "modelgap.toml.example is stale: regenerate it from default_policy_toml()"
    parsed = parse_policy(tomllib.loads(text), source=str(EXAMPLE))
    assert parsed.checks == default_policy().checks
    for check in CHECKS:
        assert f"[checks.{check.name}]" in text
        for s in check.settings:
            assert f"{s.key} = " in text and s.help in text


BAD = [
    ("unknown_key", "[checks.disagreement_rate]\nwarn_at = 0.1\n", "checks.disagreement_rate.warn_at"),
    ("unknown_check", "[checks.disagreemnt_rate]\nwarn = 0.1\n", "checks.disagreemnt_rate"),
    ("unknown_top_level", "[thresholds]\nx = 1\n", "thresholds"),
    ("not_a_number", '[checks.disagreement_rate]\nwarn = "high"\n', "checks.disagreement_rate.warn"),
    ("bool_is_not_a_number", "[checks.disagreement_rate]\nwarn = true\n", "checks.disagreement_rate.warn"),
    ("rate_above_one", "[checks.disagreement_rate]\nfail = 5\n", "checks.disagreement_rate.fail"),
    (
        "negative_number",
        "[checks.metric_deltas]\nallowed_regression = -0.1\n",
        "checks.metric_deltas.allowed_regression",
    ),
    ("warn_after_fail", "[checks.disagreement_rate]\nwarn = 0.2\n", "checks.disagreement_rate.warn"),
    ("min_direction_order", "[checks.importance_rank_correlation]\nwarn = 0.3\n", "importance_rank_correlation"),
    ("bad_grade", '[checks.schema_compatibility]\nnew_columns = "error"\n', "checks.schema_compatibility.new_columns"),
    ("enabled_not_bool", '[checks.additivity]\nenabled = "no"\n', "checks.additivity.enabled"),
    ("names_not_list", '[checks.environment_drift]\nignore = "numpy"\n', "checks.environment_drift.ignore"),
    ("map_bad_value", '[checks.metric_deltas]\nallowed_regression_by_metric = {mae = "a"}\n', "allowed_regression_by"),
    ("int_not_float", "[checks.worst_slice]\nmin_rows = 2.5\n", "checks.worst_slice.min_rows"),
    ("check_not_table", "[checks]\nadditivity = 1\n", "checks.additivity"),
    ("not_toml", "[checks.additivity\nenabled = false\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "names"), [(t, n) for _, t, n in BAD], ids=[i for i, _, _ in BAD])
def test_invalid_policy_names_the_bad_key(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert names in message
    assert "\n" not in message


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")


def test_a_switched_off_check_is_skipped_and_cannot_fail(tmp_path: Path) -> None:
    report = {
        "schema_version": 1,
        "parameters": {"schema": {"only_in_repo": ["x9"], "only_in_deployed": [], "dtype_changes": []}},
        "predictions": {"n_rows": 100, "task": "binary", "disagreement_rate": 0.5, "max_abs_diff": 0.05},
    }
    assert evaluate(report).status == "fail"
    path = tmp_path / "p.toml"
    path.write_text("[checks.schema_compatibility]\nenabled = false\n[checks.disagreement_rate]\nenabled = false\n")
    verdict = evaluate(report, load_policy(path))
    assert verdict.status == "pass"
    off = {c.name: c for c in verdict.checks if c.name in ("schema_compatibility", "disagreement_rate")}
    assert {c.status for c in off.values()} == {"skipped"}
    assert all("policy" in c.message for c in off.values())


def test_policy_used_is_recorded_in_the_verdict(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[checks.top_k_overlap]\nwarn = 0.9\nfail = 0.5\n[checks.sample_drift]\nenabled = false\n")
    recorded = evaluate({"schema_version": 1}, load_policy(path)).to_dict()["policy"]
    assert recorded["source"] == str(path)
    assert recorded["checks"]["top_k_overlap"] == {"enabled": True, "warn": 0.9, "fail": 0.5}
    assert recorded["checks"]["sample_drift"]["enabled"] is False
    assert set(recorded["checks"]) == {c.name for c in CHECKS}
