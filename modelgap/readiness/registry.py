"""The registry: every readiness check, in the order reports list them when their status ties.

Adding a check: write it in one of the checks_* modules, return it from that module's `checks()`, and add
its pass / warn / fail / skipped rows to tests/test_readiness_checks.py (a test fails until you do).
"""

from __future__ import annotations

from modelgap.errors import PolicyError
from modelgap.readiness import checks_data, checks_explanations, checks_model, checks_predictions, checks_retraining
from modelgap.readiness.base import Check

CHECKS: tuple[Check, ...] = (
    *checks_model.checks(),
    *checks_predictions.checks(),
    *checks_explanations.checks(),
    *checks_data.checks(),
    *checks_retraining.checks(),
)


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def get_check(name: str) -> Check:
    for check in CHECKS:
        if check.name == name:
            return check
    raise PolicyError(f"Unknown readiness check {name!r}.", f"Known checks: {', '.join(check_names())}.")
