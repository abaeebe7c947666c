"""Checks on what the two models predict for the same sample rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelgap.predictions.metrics import LOWER_IS_BETTER, METRIC_NAMES
from modelgap.readiness import checks_accuracy
from modelgap.readiness.base import (
    LABELLED_ROWS,
    SAMPLE_ROWS,
    Check,
    CheckResult,
    Setting,
    Status,
    dig,
    fmt,
    grade,
    limit_words,
    number,
    pct,
    section_missing,
    skipped,
    threshold_for,
)

NO_PREDICTIONS = "Not checked: the models' predictions were not compared (no sample data was given with --data)."


def _predictions(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    p = report.get("predictions")
    return p if isinstance(p, Mapping) else None


# ---------------------------------------------------------------- disagreement rate


def disagreement_rate(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Share of sample rows where the two models disagree (different label, or beyond the regression tolerance).

    Reads: predictions.disagreement_rate, predictions.n_rows, predictions.n_disagreements, predictions.task.
    """
    p = _predictions(report)
    if p is None:
        return section_missing(report, "predictions", NO_PREDICTIONS)
    rate = number(p.get("disagreement_rate"))
    if rate is None:
        return skipped("Not checked: the predictions section has no disagreement rate.")
    n = number(p.get("n_rows"))
    status = grade(rate, s["warn"], s["fail"])
    what = "give a different value" if p.get("task") == "regression" else "predict a different class"
    rows = f" of {int(n):,} sample rows" if n is not None else " of the sample rows"
    limit = limit_words(status, s["warn"], s["fail"], pct, "max")
    return CheckResult(
        status=status,
        value=rate,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"The two models {what} on {pct(rate)}{rows} ({limit}).",
    )


# ---------------------------------------------------------------- max probability shift


def max_probability_shift(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """The largest change of a class probability on any sample row (classifiers with probabilities only).

    Reads: predictions.max_abs_diff, predictions.task, repo.has_probabilities, deployed.has_probabilities.
    """
    p = _predictions(report)
    if p is None:
        return section_missing(report, "predictions", NO_PREDICTIONS)
    task = p.get("task") or dig(report, "repo.task")
    if task == "regression":
        return skipped("Not checked: regression models have no class probabilities (see the disagreement rate).")
    for side in ("repo", "deployed"):
        if dig(report, f"{side}.has_probabilities") is False:
            return skipped(f"Not checked: the {side} model returns labels only, no probabilities.")
    shift = number(p.get("max_abs_diff"))
    if shift is None:
        return skipped("Not checked: the predictions section has no largest probability difference.")
    status = grade(shift, s["warn"], s["fail"])
    limit = limit_words(status, s["warn"], s["fail"], fmt, "max")
    return CheckResult(
        status=status,
        value=shift,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"On the most affected row a class probability moves by {fmt(shift)} ({limit}).",
    )


# ---------------------------------------------------------------- worst slice


def slice_records(slices: Any) -> list[dict[str, Any]]:
    """predictions.slices as [{column, label, rate, size}].

    The documented shape is a list of {column, slice, n_rows, rate, ...} (modelgap/predictions/slices.py);
    an entry without a numeric rate is left out rather than guessed at.
    """
    if not isinstance(slices, list):
        return []
    return [
        {"column": s.get("column"), "label": s.get("slice"), "rate": rate, "size": number(s.get("n_rows"))}
        for s in slices
        if isinstance(s, Mapping) and (rate := number(s.get("rate"))) is not None
    ]


def worst_slice(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """The highest disagreement rate in any slice of the data (a category or a value range of one column)
    with at least `min_rows` rows, so that tiny slices do not decide.

    Reads: predictions.slices [{column, slice, n_rows, rate}].
    """
    p = _predictions(report)
    if p is None:
        return section_missing(report, "predictions", NO_PREDICTIONS)
    if "slices" not in p:
        return skipped("Not checked: the predictions section does not break disagreement down by slice.")
    records = slice_records(p.get("slices"))
    big = [r for r in records if r["size"] is None or r["size"] >= s["min_rows"]]
    if not big:
        return skipped(f"Not checked: no slice of the data has at least {s['min_rows']} rows.")
    top = max(big, key=lambda r: r["rate"])
    rate = top["rate"]
    status = grade(rate, s["warn"], s["fail"])
    where = " = ".join(str(x) for x in (top["column"], top["label"]) if x is not None)
    size = f", {int(top['size']):,} rows" if top["size"] is not None else ""
    limit = limit_words(status, s["warn"], s["fail"], pct, "max")
    return CheckResult(
        status=status,
        value=rate,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"Where they differ most ({where}{size}) the models disagree on {pct(rate)} of rows ({limit}).",
        details={"slice": top},
    )


# ---------------------------------------------------------------- metric deltas


def lower_is_better(metric: str) -> bool:
    """Error metrics (log_loss, mae, rmse): a rise is a regression."""
    return metric in LOWER_IS_BETTER


def metric_deltas(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Change of each metric (repo minus deployed) with its bootstrap interval, against the allowed regression.

    Fails only when the whole interval is worse than the allowed regression (higher-is-better metrics:
    ci_high < -allowed; lower-is-better such as log_loss, mae, rmse: ci_low > allowed); warns when the
    point estimate alone is worse than allowed. Reads: metrics.<name>.{delta, ci_low, ci_high}; a metric whose
    delta is null (it could not be measured on one side) is left out.
    """
    metrics = report.get("metrics")
    if not isinstance(metrics, Mapping):
        return section_missing(
            report, "metrics", "Not checked: no label column was given (--target), so no metrics were measured."
        )
    rows: list[dict[str, Any]] = []
    for name, m in metrics.items():
        if not isinstance(m, Mapping):
            continue
        delta = number(m.get("delta"))
        if delta is None:
            continue
        allowed = float(s["allowed_regression_by_metric"].get(name, s["allowed_regression"]))
        lower = lower_is_better(str(name))
        sign = 1.0 if lower else -1.0  # regression = sign * delta: positive means worse
        lo, hi = number(m.get("ci_low")), number(m.get("ci_high"))
        sure = None if lo is None or hi is None else min(sign * lo, sign * hi)  # regression the interval excludes
        regression = sign * delta
        status: Status = "fail" if sure is not None and sure > allowed else "warn" if regression > allowed else "pass"
        rows.append(
            {
                "metric": str(name),
                "delta": delta,
                "ci_low": lo,
                "ci_high": hi,
                "allowed": allowed,
                "lower_is_better": lower,
                "regression": regression,
                "status": status,
            }
        )
    if not rows:
        return skipped("Not checked: the metrics section has no metric with a delta.")
    order = {"fail": 0, "warn": 1, "pass": 2}
    top = min(rows, key=lambda r: (order[r["status"]], -(r["regression"] - r["allowed"])))
    status = top["status"]
    msg = _metric_message(top, str(status), rows)
    return CheckResult(
        status=status, value=top["delta"], threshold=top["allowed"], message=msg, details={"metrics": rows}
    )


def _metric_message(top: Mapping[str, Any], status: str, rows: list[dict[str, Any]]) -> str:
    name, delta, allowed = top["metric"], top["delta"], top["allowed"]
    interval = f" (95% interval {fmt(top['ci_low'])} to {fmt(top['ci_high'])})" if top["ci_low"] is not None else ""
    worse = "higher" if top["lower_is_better"] else "lower"
    listing = ", ".join(f"{r['metric']} {r['delta']:+.3g}" for r in rows[:4]) + (" ..." if len(rows) > 4 else "")
    if status == "fail":
        return (
            f"{name} is {worse} by {fmt(abs(delta))}{interval}: even the best case in the interval is worse "
            f"than the allowed regression of {fmt(allowed)}."
        )
    if status == "warn":
        return (
            f"{name} is {worse} by {fmt(abs(delta))}{interval}, more than the allowed {fmt(allowed)}, "
            "but the sample cannot rule out chance."
        )
    return f"No metric is worse by more than the allowed {fmt(allowed)} ({listing})."


# ---------------------------------------------------------------- negative flips


def negative_flip_rate(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Share of labelled rows the deployed model got right and the repo model gets wrong (negative flips).

    Reads: predictions.flips.negative_flip_rate (present with --target and a classifier pair).
    """
    flips = dig(report, "predictions.flips")
    if not isinstance(flips, Mapping):
        return section_missing(
            report, "metrics", "Not checked: flips need a label column (--target) and a classifier pair."
        )
    rate = number(flips.get("negative_flip_rate"))
    if rate is None:
        return skipped("Not checked: the flips record has no negative-flip rate.")
    status = grade(rate, s["warn"], s["fail"])
    limit = limit_words(status, s["warn"], s["fail"], pct, "max")
    return CheckResult(
        status=status,
        value=rate,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"The repo model gets {pct(rate)} of rows wrong that the deployed model got right ({limit}).",
    )


def checks() -> list[Check]:
    def limits(warn: float, fail: float, what: str) -> tuple[Setting, Setting]:
        return (
            Setting("warn", warn, "rate", f"warn above this {what}"),
            Setting("fail", fail, "rate", f"fail above this {what}"),
        )

    return [
        Check(
            name="disagreement_rate",
            title="Prediction disagreement",
            description="On what share of the sample rows do the two models give a different answer?",
            reads=("predictions.disagreement_rate", "predictions.n_rows", "predictions.task"),
            page="predictions",
            fn=disagreement_rate,
            settings=limits(0.01, 0.05, "share of rows"),
            limits="max",
            unit="share",
        ),
        Check(
            name="max_probability_shift",
            title="Largest probability shift",
            description="How far does a class probability move on the most affected row (classifiers)?",
            reads=("predictions.max_abs_diff", "predictions.task", "repo.has_probabilities"),
            page="predictions",
            fn=max_probability_shift,
            settings=limits(0.1, 0.3, "probability change"),
            limits="max",
            unit="number",
        ),
        Check(
            name="worst_slice",
            title="Worst slice",
            description="In the part of the data where they differ most, how often do the two models disagree?",
            reads=("predictions.slices",),
            page="predictions",
            fn=worst_slice,
            settings=(*limits(0.1, 0.25, "share of a slice"), Setting("min_rows", 30, "int", "ignore smaller slices")),
            limits="max",
            unit="share",
            needs_rows=SAMPLE_ROWS,  # slices of a small sample are smaller still
        ),
        Check(
            name="metric_deltas",
            title="Metric changes",
            description=(
                "Is the repo model measurably worse on the labelled sample? Fails only when the 95% interval "
                "of the change excludes the allowed regression."
            ),
            reads=("metrics.<name>.delta", "metrics.<name>.ci_low", "metrics.<name>.ci_high"),
            page="predictions",
            fn=metric_deltas,
            unit="number",
            needs_rows=LABELLED_ROWS,  # a bootstrap interval of a few rows is (near) zero-width
            settings=(
                Setting("allowed_regression", 0.01, "number", "largest acceptable worsening of any metric"),
                Setting(
                    "allowed_regression_by_metric",
                    {},
                    "number_map",
                    "per-metric overrides, e.g. {mae = 0.5}",
                    keys=METRIC_NAMES,
                ),
            ),
        ),
        Check(
            name="negative_flip_rate",
            title="Negative flips",
            description="What share of rows does the deployed model get right that the repo model gets wrong?",
            reads=("predictions.flips.negative_flip_rate",),
            page="predictions",
            fn=negative_flip_rate,
            settings=limits(0.02, 0.05, "share of rows"),
            limits="max",
            unit="share",
            needs_rows=LABELLED_ROWS,  # one wrong row of three is a 33% rate
        ),
        *checks_accuracy.checks(),  # McNemar's test of the accuracy change (its own module: this one is full)
    ]
