"""A paired test of the accuracy change against the labels: McNemar's exact test on the discordant rows.

The metric intervals (metric_deltas) ask whether a metric is worse by more than the allowed regression; this
check asks whether a lower accuracy is more than chance on these rows: only the rows the two models get
differently right say anything about the change, and McNemar's test weighs exactly those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelgap.readiness.base import (
    LABELLED_ROWS,
    Check,
    CheckResult,
    Setting,
    dig,
    fmt,
    number,
    pct,
    section_missing,
    skipped,
)

NO_FLIPS = "Not checked: McNemar's test needs a label column (--target) and a classifier pair."


def _count(value: Any) -> str:
    n = number(value)
    return f"{int(n):,}" if n is not None else "?"


def accuracy_change_significance(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Is the repo model's accuracy lower by more than chance? `on_significant_drop` (warn) when the accuracy
    change is negative and McNemar's exact p-value is below `alpha`; pass otherwise.

    Reads: predictions.flips.{accuracy_change, mcnemar_p_value, negative_flips,
    positive_flips, n_rows}, predictions.task.
    """
    if dig(report, "predictions.task") == "regression":
        return skipped("Not checked: regression models have no accuracy (see the metric changes).")
    flips = dig(report, "predictions.flips")
    if not isinstance(flips, Mapping):
        return section_missing(report, "metrics", NO_FLIPS)
    change, p = number(flips.get("accuracy_change")), number(flips.get("mcnemar_p_value"))
    if change is None or p is None:
        return skipped("Not checked: the flips record has no accuracy change or McNemar p-value (an older report).")
    alpha = float(s["alpha"])
    rows = (
        f"{_count(flips.get('negative_flips'))} rows newly wrong, {_count(flips.get('positive_flips'))} newly right"
        f" of {_count(flips.get('n_rows'))} labelled rows"
    )
    details = {"accuracy_change": change, "p_value": p, "alpha": alpha}
    test = f"McNemar's exact test gives p = {fmt(p)}"
    if change < 0 and p < alpha:
        return CheckResult(
            status=s["on_significant_drop"],
            value=p,
            threshold=alpha,
            message=f"The repo model's accuracy is {pct(-change)} lower ({rows}); {test}, below {fmt(alpha)}, "
            "so chance is an unlikely explanation.",
            details=details,
        )
    if change < 0:
        said = f"The repo model's accuracy is {pct(-change)} lower ({rows}), but {test} (not below {fmt(alpha)})"
        message = f"{said}: the sample cannot tell the drop from chance."
    elif change > 0:
        message = f"The repo model's accuracy is {pct(change)} higher ({rows}); {test}."
    else:
        message = f"Both models have the same accuracy on the labelled rows ({rows})."
    return CheckResult(status="pass", value=p, threshold=alpha, message=message, details=details)


def checks() -> list[Check]:
    return [
        Check(
            name="accuracy_change_significance",
            title="Accuracy drop beyond chance",
            description=(
                "Is the repo model's accuracy lower by more than chance? McNemar's exact test on the rows the two "
                "models get differently right (with --target, classifiers); warns when the accuracy is lower and "
                "p < alpha."
            ),
            reads=("predictions.flips.accuracy_change", "predictions.flips.mcnemar_p_value"),
            page="predictions",
            fn=accuracy_change_significance,
            unit="number",
            needs_rows=LABELLED_ROWS,  # an exact test of a handful of rows says little either way
            settings=(
                Setting("alpha", 0.05, "rate", "significance level: warn when McNemar's p-value is below it"),
                Setting("on_significant_drop", "warn", "grade", "status when accuracy is lower and p < alpha"),
            ),
        ),
    ]
