"""Release readiness: small checks with thresholds from a policy, combined into a pass / warn / fail verdict.

Checks read the JSON form of a comparison (modelgap.report.comparison_to_dict), so a saved report can be
judged again under another policy: `evaluate(json.load(f), load_policy("strict.toml"))`.
"""

from __future__ import annotations

from modelgap.readiness.base import STATUSES, Check, CheckResult, Setting
from modelgap.readiness.policy import (
    DEFAULT_POLICY_FILE,
    Policy,
    default_policy,
    default_policy_toml,
    load_policy,
    parse_policy,
)
from modelgap.readiness.registry import CHECKS, check_names, get_check
from modelgap.readiness.verdict import Verdict, build_verdict, evaluate

__all__ = [
    "CHECKS",
    "DEFAULT_POLICY_FILE",
    "STATUSES",
    "Check",
    "CheckResult",
    "Policy",
    "Setting",
    "Verdict",
    "build_verdict",
    "check_names",
    "default_policy",
    "default_policy_toml",
    "evaluate",
    "get_check",
    "load_policy",
    "parse_policy",
]
