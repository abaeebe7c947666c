"""The Markdown and JSON reports of one comparison: verdict and every failing check in the Markdown, short and
link-free for a pull-request comment, user strings escaped; the JSON meets DESIGN.md's contract."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from contract import assert_contract, contract_problems
from reportdata import rich_comparison

from modelgap.comparison import Comparison
from modelgap.readiness import CHECKS, evaluate
from modelgap.report import comparison_to_dict, render_markdown, write_json, write_markdown

GITHUB_COMMENT_LIMIT = 65536


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    return rich_comparison(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def report(rich: Comparison) -> dict[str, Any]:
    return comparison_to_dict(rich)


def plain(markdown: str) -> str:
    """Markdown with its backslash escapes removed, to search for the original words."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_json_report_meets_the_contract(rich: Comparison, report: dict[str, Any], tmp_path: Path) -> None:
    assert_contract(report, require=("predictions", "explanations", "metrics", "verdict"))
    path = tmp_path / "r.json"
    write_json(rich, path)
    loaded = json.loads(path.read_text())
    assert_contract(loaded, require=("verdict",))
    assert sorted(c["name"] for c in loaded["verdict"]["checks"]) == sorted(c.name for c in CHECKS)


def test_contract_checker_catches_breaks(report: dict[str, Any]) -> None:
    broken = copy.deepcopy(report)
    del broken["predictions"]["disagreement_rate"]
    broken["verdict"]["status"] = "maybe"
    del broken["repo"]["sha256"]
    problems = contract_problems(broken)
    assert "predictions.disagreement_rate is missing" in problems
    assert "verdict.status is 'maybe'" in problems
    assert "repo.sha256 is missing" in problems


def test_verdict_numbers_match_the_independent_sections(report: dict[str, Any]) -> None:
    checks = {c["name"]: c for c in report["verdict"]["checks"]}
    p = report["predictions"]
    assert checks["disagreement_rate"]["value"] == pytest.approx(p["n_disagreements"] / p["n_rows"])
    assert checks["max_probability_shift"]["value"] == pytest.approx(max(r["abs_diff"] for r in p["top"]))
    big = [s for s in p["slices"] if s["n_rows"] >= 30]
    assert checks["worst_slice"]["value"] == pytest.approx(max(s["rate"] for s in big))
    assert checks["negative_flip_rate"]["value"] == pytest.approx(p["flips"]["negative_flips"] / p["n_rows"])
    assert checks["importance_rank_correlation"]["value"] == pytest.approx(report["explanations"]["rank_correlation"])


def test_markdown_has_the_verdict_and_every_failing_and_warning_check(report: dict[str, Any]) -> None:
    text = render_markdown(report)
    verdict = report["verdict"]
    assert verdict["status"] == "fail"  # the fixture's models disagree on >5% of rows
    lines = text.splitlines()
    assert lines[0] == "## Is the repo model ready to replace the deployed model?"  # the app's title
    assert lines[2].startswith("**❌ FAIL · Not ready to release** — ")  # the app's badge and words
    failing = [c for c in verdict["checks"] if c["status"] == "fail"]
    warning = [c for c in verdict["checks"] if c["status"] == "warn"]
    assert failing and warning
    n_fail, n_warn = len(failing), len(warning)
    assert f"{n_fail} check{'s' if n_fail > 1 else ''} fail" in lines[2]  # the count line agrees with the lists
    body = plain(text)
    for c in failing + warning:
        assert c["title"] in body and c["message"] in body, c["name"]
    assert f"Failing checks ({n_fail})" in body and f"Warnings ({n_warn})" in body
    assert body.index("Failing checks") < body.index("Warnings") < body.index("Key numbers")
    rate = report["predictions"]["disagreement_rate"]
    assert f"{100 * rate:.1f}%" in text


def test_markdown_is_short_and_link_free(report: dict[str, Any], rich: Comparison, tmp_path: Path) -> None:
    huge = copy.deepcopy(report)
    huge["parameters"]["changed"] = [{"name": f"p{i}", "repo": "x" * 500, "deployed": i} for i in range(5000)]
    for text in (render_markdown(report), render_markdown(huge)):
        assert len(text) < GITHUB_COMMENT_LIMIT
        assert "http" not in text and "](" not in text and "<a " not in text
    assert "4990 more setting differences" in render_markdown(huge)
    path = tmp_path / "r.md"
    write_markdown(rich, path)
    assert path.read_text() == render_markdown(rich)  # a Comparison and its dict render the same


def test_markdown_escapes_user_strings(report: dict[str, Any]) -> None:
    evil = copy.deepcopy(report)
    evil["repo"]["source"] = "models/a|b `x` <script>alert(1)</script> [link](javascript:alert(1))"
    evil["parameters"]["changed"] = [{"name": "pipe|name", "repo": "<b>x</b>", "deployed": "*bold*"}]
    evil["verdict"] = evaluate(
        {**evil, "parameters": {**evil["parameters"], "schema": {"only_in_repo": ["<img src=x>|col"]}}}
    ).to_dict()
    text = render_markdown(evil)
    outside_code = re.sub(r"`[^`]*`", "", text)
    assert "<script>" not in outside_code and "<img" not in outside_code and "<b>" not in outside_code
    assert "[link](javascript" not in re.sub(r"`[^`]*`", "", text)
    assert "`models/a|b 'x' <script>alert(1)</script> [link](javascript:alert(1))`" in text  # verbatim code span
    [row] = [line for line in text.splitlines() if line.startswith("| pipe")]
    assert len(re.split(r"(?<!\\)\|", row)) == 5  # escaped pipes keep the row at 3 cells (+ 2 edges)
    assert r"pipe\|name" in text
    assert "&lt;img src=x&gt;\\|col" in text


def test_markdown_without_a_verdict() -> None:
    text = render_markdown({"schema_version": 1, "repo": {"source": "a"}, "deployed": {"source": "b"}})
    assert "No readiness verdict" in text
