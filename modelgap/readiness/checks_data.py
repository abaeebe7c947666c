"""Checks on the data around the models (training lineage, drift of the sample) and on serving parity.

The `data` and `parity` sections are optional: each check reads the documented keys (docs/report-format.md)
and skips, saying why, when its section or a key it needs is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelgap.data.relation import RELATION_WORDS, RELATIONS
from modelgap.readiness.base import (
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
    worst,
)

NO_DATA = "Not checked: the report has no training-data information (data section)."

# ---------------------------------------------------------------- training data changed


def training_data_changed(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether the two models were trained on the same data (informational).

    Reads: data.lineage.relation (same_data | different_snapshots | unrelated | unknown, see
    modelgap/data/relation.py), data.lineage.relation_words, and each side's data.lineage.<side>.training digest.
    """
    data = report.get("data")
    if not isinstance(data, Mapping):
        return section_missing(report, "data", NO_DATA)
    relation = dig(data, "lineage.relation")
    if not isinstance(relation, str) or relation not in RELATIONS or relation == "unknown":
        return skipped("Not checked: the training data of at least one model is unknown.")
    same = relation == "same_data"
    words = dig(data, "lineage.relation_words") or RELATION_WORDS[relation]
    msg = (
        "Both models were trained on the same data."
        if same
        else f"The two models were trained on different data ({words}); differences may come from the data, "
        "not the code."
    )
    digests = {side: _training_digest(dig(data, f"lineage.{side}.training")) for side in ("repo", "deployed")}
    return CheckResult(
        status="info",
        value=relation,
        message=msg,
        details={side: [d] for side, d in digests.items() if d},  # a list per side, as reports have had it
    )


def _training_digest(training: Any) -> str | None:
    """The fingerprint a side's training dataset was compared by (MLflow digest, else its computed one)."""
    if not isinstance(training, Mapping):
        return None
    found = training.get("digest") or training.get("computed_digest")
    return str(found) if found else None


# ---------------------------------------------------------------- sample drift


def sample_drift(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """How far the sample data has drifted from the training data: the largest population stability index.

    Reads: data.drift [{kind, reference, columns: [{column, psi}]}]; only pairs of kind "sample_vs_training"
    count (training data compared with training data says nothing about the sample).
    """
    data = report.get("data")
    if not isinstance(data, Mapping):
        return section_missing(report, "data", NO_DATA)
    drift = data.get("drift")
    pairs = [d for d in drift if isinstance(d, Mapping)] if isinstance(drift, list) else []
    sample_pairs = [d for d in pairs if d.get("kind") == "sample_vs_training"]
    if not sample_pairs:
        return skipped("Not checked: the data section has no distribution comparison of the sample.")
    records: list[tuple[float, Any, Any]] = [
        (psi, c.get("column"), pair.get("reference"))
        for pair in sample_pairs
        for c in pair.get("columns") or []
        if isinstance(c, Mapping) and (psi := number(c.get("psi"))) is not None
    ]
    if not records:
        return skipped("Not checked: the data section has no drift (PSI) of the sample against training data.")
    top_psi, top_column, top_against = max(records, key=lambda r: r[0])
    n_over = sum(r[0] > s["warn"] for r in records)
    status: Status = "warn" if top_psi > s["warn"] else "pass"
    against = f" against the {top_against}" if top_against else ""
    if status == "warn":
        msg = (
            f"The sample has moved away from the training data in {n_over} column(s); most in {top_column} "
            f"(PSI {fmt(top_psi)}{against}, the policy warns above {fmt(s['warn'])})."
        )
    else:
        msg = f"The sample looks like the training data (largest PSI {fmt(top_psi)} in {top_column}{against})."
    return CheckResult(
        status=status,
        value=top_psi,
        threshold=s["warn"],
        message=msg,
        details={"column": top_column, "columns_over": n_over, "against": top_against},
    )


# ---------------------------------------------------------------- serving parity


def serving_parity(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether a scoring endpoint answers like the artifact it claims to serve (training-serving skew).

    Reads: parity.differing_rate (null when no row was compared), parity.n_errors.
    """
    parity = report.get("parity")
    if not isinstance(parity, Mapping):
        return section_missing(report, "parity", "Not checked: no scoring endpoint was checked against its artifact.")
    rate = number(parity.get("differing_rate"))
    if rate is None:
        return skipped("Not checked: no row was compared between the endpoint and its artifact.")
    errors = int(number(parity.get("n_errors")) or 0)
    status = grade(rate, s["warn"], s["fail"])
    limit = limit_words(status, s["warn"], s["fail"], pct, "max")
    msg = f"The endpoint and its artifact answer differently on {pct(rate)} of rows ({limit})"
    if errors:
        status = worst([status, s["on_errors"]])
        msg += f"; {errors} request(s) to the endpoint failed"
    return CheckResult(
        status=status,
        value=rate,
        threshold=threshold_for(status, s["warn"], s["fail"]),
        message=msg + ".",
        details={"errors": errors},
    )


def checks() -> list[Check]:
    return [
        Check(
            name="training_data_changed",
            title="Training data",
            description="Were the two models trained on the same data? Informational.",
            reads=("data.lineage",),
            page="data",
            fn=training_data_changed,
            unit="",
        ),
        Check(
            name="sample_drift",
            title="Sample vs training data",
            description="Has the sample (production-like) data drifted away from the training data?",
            reads=("data.drift",),
            page="data",
            fn=sample_drift,
            limits="max",
            unit="number",
            needs_rows=SAMPLE_ROWS,  # PSI over bins of one or two rows explodes (8.4 on a 1-row sample)
            settings=(Setting("warn", 0.2, "number", "warn above this population stability index (PSI)"),),
        ),
        Check(
            name="serving_parity",
            title="Serving parity",
            description="Does the scoring endpoint give the same answers as the artifact it claims to serve?",
            reads=("parity.differing_rate", "parity.n_errors"),
            page="parity",
            fn=serving_parity,
            unit="share",
            settings=(
                Setting("warn", 0.0, "rate", "warn above this share of differing rows"),
                Setting("fail", 0.01, "rate", "fail above this share of differing rows"),
                Setting("on_errors", "warn", "grade", "status when some requests to the endpoint failed"),
            ),
            limits="max",
        ),
    ]
