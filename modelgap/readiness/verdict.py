"""The verdict: every check of the registry evaluated under a policy, the worst status, reasons by severity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelgap.jsonsafe import json_safe
from modelgap.readiness.base import SEVERITY_ORDER, VERDICT_WEIGHT, CheckResult, too_few_rows
from modelgap.readiness.policy import Policy, default_policy, load_policy
from modelgap.readiness.registry import CHECKS
from modelgap.values import one_line

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

HEADLINES = {  # the status words of modelgap.words (the app and the reports say the same)
    "pass": "Ready to release: no check found a difference that should hold the release.",
    "warn": "Release with care: {n} check(s) need a look before the release.",
    "fail": "Not ready to release: {n} check(s) fail the release policy.",
}


@dataclass
class Verdict:
    """pass / warn / fail, the check results sorted by severity (fail, warn, info, pass, skipped), the policy."""

    status: str
    checks: list[CheckResult]
    policy: Policy
    too_small: list[str] = field(default_factory=list)  # statistical checks skipped for the sample size
    sample_rows: int | None = None  # the smallest row count that skipped one of them
    sample_words: str = ""  # that count in words, e.g. "1 sample row"

    @property
    def reasons(self) -> list[CheckResult]:
        """The failing then warning checks: why the verdict is not a plain pass."""
        return [c for c in self.checks if c.status in ("fail", "warn")]

    @property
    def headline(self) -> str:
        n = sum(c.status == self.status for c in self.checks)
        text = HEADLINES[self.status].format(n=n)
        if self.too_small:  # a "Ready" from a handful of rows must say how little it rests on
            text += f" Only {self.sample_words}: {len(self.too_small)} statistical check(s) skipped."
        return text

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in SEVERITY_ORDER}

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "status": self.status,
                "headline": self.headline,
                "checks": [c.to_dict() for c in self.checks],
                "reasons": [c.message for c in self.reasons],
                "counts": self.counts(),
                "policy": self.policy.to_dict(),
                "sample": {
                    "min_rows": self.policy.min_rows,
                    "rows": self.sample_rows,
                    "skipped_checks": list(self.too_small),
                },
            }
        )

    def summary_lines(self) -> list[str]:
        lines = [f"Verdict: {self.status.upper()} - {self.headline}"]
        for c in self.checks:
            if c.status in ("fail", "warn", "info"):
                lines.append(f"  [{c.status}] {c.title}: {c.message}")
        skipped = [c.title for c in self.checks if c.status == "skipped"]
        n_pass = sum(c.status == "pass" for c in self.checks)
        lines.append(
            f"  {n_pass} check(s) passed; {len(skipped)} skipped" + (f" ({', '.join(skipped)})" if skipped else "")
        )
        lines.append(f"  policy: {self.policy.source}")
        return lines


def evaluate(report: Mapping[str, Any], policy: Policy | None = None) -> Verdict:
    """Run every registered check on a report dict (comparison_to_dict's form) under `policy`."""
    policy = policy or default_policy()
    results: list[CheckResult] = []
    too_small: list[str] = []
    smallest: dict[str, Any] = {}
    for check in CHECKS:
        if not policy.enabled(check.name):
            results.append(check.stamp(CheckResult(status="skipped", message="Switched off in the policy.")))
            continue
        try:
            result = check.evaluate(report, policy.settings(check.name))
            small = too_few_rows(report, check.needs_rows, policy.min_rows)
            if small is not None and result.status in ("pass", "warn", "fail"):  # its own skip reason wins
                result = check.stamp(small)
                too_small.append(check.name)
                if not smallest or small.details["rows"] < smallest["rows"]:
                    smallest = small.details
            results.append(result)
        except Exception as exc:
            if os.environ.get("MODELGAP_DEBUG"):
                raise
            text = one_line(exc)
            message = f"This check could not read the report ({type(exc).__name__}: {text}); look at it by hand."
            results.append(check.stamp(CheckResult(status="warn", message=message)))
    results.sort(key=lambda r: SEVERITY_ORDER[r.status])  # stable: registry order within a status
    weight = max((VERDICT_WEIGHT[r.status] for r in results), default=0)
    status = {0: "pass", 1: "warn", 2: "fail"}[weight]
    return Verdict(
        status=status,
        checks=results,
        policy=policy,
        too_small=too_small,
        sample_rows=smallest.get("rows"),
        sample_words=str(smallest.get("in_words", "")),
    )


def build_verdict(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (runs last): evaluate the policy on the JSON form of everything built before.

    A bad policy file raises PolicyError (the CLI exits 2); nothing else here is allowed to fail the run.
    """
    from modelgap.report.json_report import comparison_to_dict

    progress("Evaluating release readiness", 0.99)
    policy = load_policy(comparison.options.policy_path)
    comparison.sections.verdict = None  # a rerun judges the sections, not a previous verdict
    comparison.sections.verdict = evaluate(comparison_to_dict(comparison), policy)
