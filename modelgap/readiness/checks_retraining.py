"""Checks on the `retraining` section (`compare --retrain`): is the deployed model what its recipe makes, and
is the repo-vs-deployed difference larger than what retraining the same recipe with another seed gives?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelgap.readiness.base import (
    Check,
    CheckResult,
    Setting,
    dig,
    fmt,
    grade,
    limit_words,
    number,
    pct,
    section_missing,
    threshold_for,
)

NOT_RUN = "Not checked: training was not re-run (compare --retrain, or Re-run training in the app)."
_WORDS = {
    "reproduced": "Retraining its recorded recipe reproduces the deployed model",
    "within_noise": "Retraining its recorded recipe gives the deployed model up to retraining noise",
    "differs": "The deployed model is not what its recorded recipe makes",
    "not_retrainable": "The deployed model could not be retrained",
}


def deployed_reproducible(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether refitting the deployed model's recipe gives the deployed model back.

    Reads: retraining.deployed.status (reproduced | within_noise | differs | not_retrainable) and its reason.
    """
    side = dig(report, "retraining.deployed")
    if not isinstance(side, Mapping):
        return section_missing(report, "retraining", NOT_RUN)
    status = str(side.get("status") or "")
    if status not in _WORDS:
        return CheckResult(status="skipped", message=f"Not checked: unknown retraining status {status!r}.")
    grade_for = {
        "reproduced": "pass",
        "within_noise": "pass",
        "differs": s["on_differs"],
        "not_retrainable": s["on_not_retrainable"],
    }[status]
    reason = str(side.get("reason") or "").strip()
    message = f"{_WORDS[status]}: {reason[:1].lower()}{reason[1:]}" if reason else f"{_WORDS[status]}."
    if not message.endswith("."):
        message += "."
    return CheckResult(status=grade_for, value=status, message=message, details={"method": side.get("method")})


def noise_excess(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """How many times more the repo and deployed models disagree than refits of one recipe with other seeds.

    Reads: retraining.excess, retraining.noise.disagreement_rate, retraining.repo_vs_deployed_rate (else
    predictions.disagreement_rate).
    """
    retraining = report.get("retraining")
    if not isinstance(retraining, Mapping):
        return section_missing(report, "retraining", NOT_RUN)
    noise = number(dig(retraining, "noise.disagreement_rate"))
    rate = number(retraining.get("repo_vs_deployed_rate"))
    if rate is None:
        rate = number(dig(report, "predictions.disagreement_rate"))
    excess = number(retraining.get("excess"))
    if excess is None and noise is not None and noise > 0 and rate is not None:
        excess = rate / noise
    if excess is None:
        if noise is None:
            why = str(dig(retraining, "noise.reason") or "no recipe could be refitted with other seeds").rstrip(".")
            return CheckResult(status="skipped", message=f"Not checked: the retraining noise is unknown ({why}).")
        if rate is None:
            return CheckResult(status="skipped", message="Not checked: the two models' disagreement is unknown.")
        if rate == 0:
            return CheckResult(status="pass", value=0.0, message="The two models agree on every compared row.")
        return CheckResult(
            status="info",
            value=None,
            message=f"Retraining this recipe with other seeds changes nothing, so all of the {pct(rate)} of rows "
            "where the models disagree is a real difference.",
        )
    status = grade(excess, s["warn"], s["fail"])
    limit = limit_words(status, s["warn"], s["fail"], lambda x: f"{fmt(x)}x", "max")
    assert noise is not None
    return CheckResult(
        status=status,
        value=excess,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=f"The repo model differs {fmt(excess)}x more than retraining noise ({pct(rate or 0.0)} of rows vs "
        f"{pct(noise)} between seeds; {limit}).",
    )


def checks() -> list[Check]:
    return [
        Check(
            name="deployed_reproducible",
            title="Deployed model reproducible",
            description="Does refitting the deployed model's recorded recipe (its hyperparameters on its training "
            "data) give the deployed model back? Needs compare --retrain.",
            reads=("retraining.deployed.status", "retraining.deployed.reason"),
            page="retraining",
            fn=deployed_reproducible,
            unit="",
            settings=(
                Setting("on_differs", "warn", "grade", "status when the refit differs beyond retraining noise"),
                Setting("on_not_retrainable", "info", "grade", "status when the deployed model cannot be retrained"),
            ),
        ),
        Check(
            name="retraining_noise_excess",
            title="Difference beyond retraining noise",
            description="How many times more do the two models disagree than refits of the same recipe with other "
            "seeds? Needs compare --retrain.",
            reads=("retraining.excess", "retraining.noise.disagreement_rate", "retraining.repo_vs_deployed_rate"),
            page="retraining",
            fn=noise_excess,
            limits="max",
            unit="number",
            needs_rows=("retraining.n_rows",),  # a noise rate over a handful of rows is 0 or a wild ratio
            settings=(
                Setting("warn", 2.0, "number", "warn above this many times the retraining noise"),
                Setting("fail", 5.0, "number", "fail above this many times the retraining noise"),
            ),
        ),
    ]
