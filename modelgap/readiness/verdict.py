"""The verdict: every check of the registry evaluated under a policy, the worst status, reasons by severity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelgap.jsonsafe import json_safe
from modelgap.readiness.base import SEVERITY_ORDER, VERDICT_WEIGHT, CheckResult
from modelgap.readiness.policy import Policy, default_policy, load_policy
from modelgap.readiness.registry import CHECKS

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

HEADLINES = {
    "pass": "Ready: no check found a difference that should hold the release.",
    "warn": "Ready with caveats: {n} check(s) need a look before the release.",
    "fail": "Not ready: {n} check(s) fail the release policy.",
}


@dataclass
class Verdict:
    """pass / warn / fail, the check results sorted by severity (fail, warn, info, pass, skipped), the policy."""

    status: str
    checks: list[CheckResult]
    policy: Policy

    @property
    def reasons(self) -> list[CheckResult]:
        """The failing then warning checks: why the verdict is not a plain pass."""
        return [c for c in self.checks if c.status in ("fail", "warn")]

    @property
    def headline(self) -> str:
        n = sum(c.status == self.status for c in self.checks)
        return HEADLINES[self.status].format(n=n)

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
    for check in CHECKS:
        if not policy.enabled(check.name):
            results.append(check.stamp(CheckResult(status="skipped", message="Switched off in the policy.")))
            continue
        try:
            results.append(check.evaluate(report, policy.settings(check.name)))
        except Exception as exc:
            if os.environ.get("MODELGAP_DEBUG"):
                raise
            text = " ".join(str(exc).split())[:200]
            message = f"This check could not read the report ({type(exc).__name__}: {text}); look at it by hand."
            results.append(check.stamp(CheckResult(status="warn", message=message)))
    results.sort(key=lambda r: SEVERITY_ORDER[r.status])  # stable: registry order within a status
    weight = max((VERDICT_WEIGHT[r.status] for r in results), default=0)
    status = {0: "pass", 1: "warn", 2: "fail"}[weight]
    return Verdict(status=status, checks=results, policy=policy)


def build_verdict(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (runs last): evaluate the policy on the JSON form of everything built before.

    A bad policy file raises PolicyError (the CLI exits 2); nothing else here is allowed to fail the run.
    """
    from modelgap.report.json_report import comparison_to_dict

    progress("Evaluating release readiness", 0.99)
    policy = load_policy(comparison.options.policy_path)
    comparison.sections.pop("verdict", None)  # a rerun judges the sections, not a previous verdict
    comparison.sections["verdict"] = evaluate(comparison_to_dict(comparison), policy)
