"""Checks on how the two models reason: SHAP importance ranks, top features and additivity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelgap.readiness.base import (
    SAMPLE_ROWS,
    Check,
    CheckResult,
    Setting,
    fmt,
    grade,
    limit_words,
    number,
    pct,
    section_missing,
    skipped,
    threshold_for,
)

NO_EXPLANATIONS = "Not checked: SHAP explanations were not computed (--no-shap, or no sample data)."


def _explanations(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    e = report.get("explanations")
    return e if isinstance(e, Mapping) else None


def importance_rank_correlation(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Spearman correlation of the two models' feature-importance ranks (1 = same order).

    Reads: explanations.rank_correlation (null when there are too few features), explanations.features.
    """
    e = _explanations(report)
    if e is None:
        return section_missing(report, "explanations", NO_EXPLANATIONS)
    rho = number(e.get("rank_correlation"))
    if rho is None:
        return skipped("Not checked: too few features (or constant importances) to correlate their ranks.")
    status = grade(rho, s["warn"], s["fail"], "min")
    limit = limit_words(status, s["warn"], s["fail"], fmt, "min")
    meaning = (
        "the models rank their features in much the same order"
        if status == "pass"
        else "the models rely on their features in a different order"
    )
    return CheckResult(
        status=status,
        value=rho,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"Feature importance ranks correlate at {fmt(rho)}: {meaning} ({limit}).",
    )


def top_weighted_rank_agreement(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Rank-biased overlap of the two importance rankings (1 = same order): agreement at the top weighs most.

    Reads: explanations.rank_biased_overlap, explanations.rank_biased_overlap_p, explanations.top_k_repo,
    explanations.top_k_deployed.
    """
    e = _explanations(report)
    if e is None:
        return section_missing(report, "explanations", NO_EXPLANATIONS)
    rbo = number(e.get("rank_biased_overlap"))
    if rbo is None:
        return skipped("Not checked: the explanations section has no rank-biased overlap (an older report).")
    p = number(e.get("rank_biased_overlap_p"))
    status = grade(rbo, s["warn"], s["fail"], "min")
    limit = limit_words(status, s["warn"], s["fail"], fmt, "min")
    meaning = "the models agree on which features matter most"
    if status != "pass":
        meaning = "the models disagree on which features matter most"
    r_top, d_top = e.get("top_k_repo"), e.get("top_k_deployed")
    lead = ""
    if isinstance(r_top, list) and isinstance(d_top, list) and r_top and d_top and r_top[0] != d_top[0]:
        lead = f"; the most important is {r_top[0]} in the repo model, {d_top[0]} in the deployed one"
    weight = f", p = {fmt(p)}" if p is not None else ""
    return CheckResult(
        status=status,
        value=rbo,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"The importance rankings overlap at {fmt(rbo)} (rank-biased overlap{weight}): {meaning}{lead} "
        f"({limit}).",
    )


def top_k_overlap(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Share of the deployed model's k most important features that are also among the repo model's top k.

    Reads: explanations.top_k_overlap (0..1), explanations.top_k, explanations.top_k_repo,
    explanations.top_k_deployed.
    """
    e = _explanations(report)
    if e is None:
        return section_missing(report, "explanations", NO_EXPLANATIONS)
    overlap = number(e.get("top_k_overlap"))
    if overlap is None:
        return skipped("Not checked: the explanations section has no top-k feature overlap.")
    k = e.get("top_k")
    k_text = f"top {k}" if isinstance(k, int) else "most important"
    status = grade(overlap, s["warn"], s["fail"], "min")
    limit = limit_words(status, s["warn"], s["fail"], pct, "min")
    r_top, d_top = e.get("top_k_repo"), e.get("top_k_deployed")
    details: dict[str, Any] = {}
    if isinstance(r_top, list) and isinstance(d_top, list):
        details = {
            "new_in_top": [f for f in r_top if f not in d_top],
            "left_top": [f for f in d_top if f not in r_top],
        }
    change = ""
    if details.get("new_in_top"):
        change = f"; new: {', '.join(map(str, details['new_in_top'][:3]))}"
    return CheckResult(
        status=status,
        value=overlap,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"{pct(overlap)} of the {k_text} features are shared by both models{change} ({limit}).",
        details=details,
    )


def additivity(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether each model's SHAP values add up to its output (if not, its explanations are unreliable).

    Reads: explanations.additivity.{repo, deployed}.{failed, max_error, tolerance}.
    """
    e = _explanations(report)
    if e is None:
        return section_missing(report, "explanations", NO_EXPLANATIONS)
    add = e.get("additivity")
    if not isinstance(add, Mapping) or not add:
        return skipped("Not checked: the explanations section has no additivity check.")
    failed = [side for side in ("repo", "deployed") if isinstance(add.get(side), Mapping) and add[side].get("failed")]
    errors = {side: number(v.get("max_error")) for side, v in add.items() if isinstance(v, Mapping)}
    if not failed:
        return CheckResult(
            status="pass",
            value=0,
            threshold=0,
            message="For both models the SHAP contributions add up to the model output, so the explanations hold.",
            details={"max_error": errors},
        )
    who = " and ".join(f"the {side} model" for side in failed)
    return CheckResult(
        status=s["on_failure"],
        value=len(failed),
        threshold=0,
        message=f"For {who} the SHAP contributions do not add up to the output, so read its explanations with care.",
        details={"failed": failed, "max_error": errors},
    )


def checks() -> list[Check]:
    return [
        Check(
            name="importance_rank_correlation",
            title="Feature importance order",
            description="Do the two models rank their features by importance (mean |SHAP|) in the same order?",
            reads=("explanations.rank_correlation",),
            page="explanations",
            fn=importance_rank_correlation,
            unit="number",
            needs_rows=SAMPLE_ROWS,  # mean |SHAP| of a few rows ranks those rows, not the model
            settings=(
                Setting("warn", 0.8, "correlation", "warn below this Spearman correlation"),
                Setting("fail", 0.5, "correlation", "fail below this Spearman correlation"),
            ),
            limits="min",
        ),
        Check(
            name="top_weighted_rank_agreement",
            title="Top-weighted importance order",
            description=(
                "Do the two models agree on which features matter most? The rank-biased overlap of the importance "
                "rankings (persistence 0.9) weighs the top ranks most. Not a double count of Feature importance "
                "order: Spearman's correlation weighs every rank alike (with 30 features, a swap of the two most "
                "important moves it by 0.0005, this by 0.1) and top-k overlap ignores the order inside the top k."
            ),
            reads=("explanations.rank_biased_overlap", "explanations.rank_biased_overlap_p"),
            page="explanations",
            fn=top_weighted_rank_agreement,
            unit="number",
            needs_rows=SAMPLE_ROWS,  # as for the Spearman check: a few rows rank those rows, not the model
            settings=(
                Setting("warn", 0.8, "rate", "warn below this rank-biased overlap"),
                Setting("fail", 0.5, "rate", "fail below this rank-biased overlap"),
            ),
            limits="min",
        ),
        Check(
            name="top_k_overlap",
            title="Top features shared",
            description="Are the few features that matter most the same for both models?",
            reads=("explanations.top_k_overlap", "explanations.top_k", "explanations.top_k_repo"),
            page="explanations",
            fn=top_k_overlap,
            unit="share",
            needs_rows=SAMPLE_ROWS,
            settings=(
                Setting("warn", 0.8, "rate", "warn below this share of shared top-k features"),
                Setting("fail", 0.4, "rate", "fail below this share of shared top-k features"),
            ),
            limits="min",
        ),
        Check(
            name="additivity",
            title="Explanations add up",
            description="Do each model's SHAP contributions sum to its prediction, as they must?",
            reads=("explanations.additivity.repo.failed", "explanations.additivity.deployed.failed"),
            page="explanations",
            fn=additivity,
            settings=(Setting("on_failure", "warn", "grade", "status when a model's SHAP values do not add up"),),
        ),
    ]
