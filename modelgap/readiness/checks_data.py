"""Checks on the data around the models (training lineage, drift of the sample) and on serving parity.

The `data` and `parity` sections are optional and young; these checks read them defensively, accept the
few spellings documented in each docstring, and skip (saying why) when they find nothing they understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
_SAME = {"same", "identical", "unchanged", "same_data", "same data"}

# ---------------------------------------------------------------- training data changed


def training_data_changed(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether the two models were trained on the same data (informational).

    Reads, first found wins: data.lineage.relation / data.training_relation / data.lineage.status (a word such
    as "same", "different_snapshot", "unrelated"); data.lineage.same / data.lineage.same_data /
    data.same_training_data / data.training_data_changed (booleans); else the training dataset digests
    found under data.lineage.repo and data.lineage.deployed (any "digest" whose "context" is training or unset).
    """
    data = report.get("data")
    if not isinstance(data, Mapping):
        return section_missing(report, "data", NO_DATA)
    relation = next(
        (
            v
            for p in ("lineage.relation", "training_relation", "lineage.status", "relation")
            if isinstance(v := dig(data, p), str) and v
        ),
        None,
    )
    same: bool | None = None
    if relation is not None:
        if relation.lower() in ("unknown", "none"):
            return skipped("Not checked: the training data of at least one model is unknown.")
        same = relation.lower() in _SAME
    else:
        for path, negate in (
            ("lineage.same", False),
            ("lineage.same_data", False),
            ("same_training_data", False),
            ("training_data_changed", True),
        ):
            v = dig(data, path)
            if isinstance(v, bool):
                same = (not v) if negate else v
                break
    digests = {side: _training_digests(dig(data, f"lineage.{side}")) for side in ("repo", "deployed")}
    if same is None:
        if not digests["repo"] or not digests["deployed"]:
            return skipped("Not checked: the training data of at least one model is unknown.")
        same = digests["repo"] == digests["deployed"]
    how = f" ({relation.replace('_', ' ')})" if relation and not same else ""
    msg = (
        "Both models were trained on the same data."
        if same
        else f"The two models were trained on different data{how}; differences may come from the data, not the code."
    )
    return CheckResult(
        status="info",
        value=relation or ("same" if same else "changed"),
        message=msg,
        details={k: sorted(v) for k, v in digests.items() if v},
    )


def _training_digests(node: Any, context: str | None = None) -> set[str]:
    """Digests of training datasets anywhere under `node` (records with "digest" and an optional "context")."""
    out: set[str] = set()
    if isinstance(node, Mapping):
        ctx = node.get("context", context)
        digest = node.get("digest")
        if isinstance(digest, str) and digest and (ctx is None or "train" in str(ctx).lower()):
            out.add(digest)
        for value in node.values():
            if isinstance(value, (Mapping, list)):
                out |= _training_digests(value, ctx)
    elif isinstance(node, list):
        for item in node:
            out |= _training_digests(item, context)
    return out


# ---------------------------------------------------------------- sample drift

_SAMPLE_WORDS = ("sample", "production", "serving", "current")


def _psi_records(node: Any, column: str | None = None) -> list[dict[str, Any]]:
    """[{column, psi}] for every mapping under `node` with a numeric "psi"."""
    out: list[dict[str, Any]] = []
    if isinstance(node, Mapping):
        psi = number(node.get("psi"))
        if psi is not None:
            col = node.get("column", node.get("feature", node.get("name", column)))
            out.append({"column": col, "psi": psi})
            return out
        for key, value in node.items():
            if isinstance(value, (Mapping, list)):
                out += _psi_records(value, column if key in ("columns", "features", "items") else str(key))
    elif isinstance(node, list):
        for item in node:
            out += _psi_records(item, column)
    return out


def _label(key: Any, value: Any) -> str:
    bits = [str(key)]
    if isinstance(value, Mapping):
        bits += [str(value.get(k, "")) for k in ("name", "label", "current", "compared", "pair", "against", "title")]
    return " ".join(bits).lower()


def _sample_comparisons(drift: Any) -> list[Any]:
    """The parts of `drift` that compare the sample with training data (never training with training).

    modelgap's own data section is a list of pairs that each name their `kind`: only "sample_vs_training"
    pairs count. Other layouts are told apart by their keys and labels (see sample_drift).
    """
    items = (
        list(drift.items()) if isinstance(drift, Mapping) else list(enumerate(drift)) if isinstance(drift, list) else []
    )
    kinded = [v for _, v in items if isinstance(v, Mapping) and isinstance(v.get("kind"), str)]
    if kinded:
        return [v for v in kinded if v["kind"] == "sample_vs_training"]
    preferred = [v for k, v in items if any(w in _label(k, v) for w in _SAMPLE_WORDS)]
    if preferred:
        return preferred
    if items and all("train" in _label(k, v) for k, v in items):
        return []  # only training data compared with training data: says nothing about the sample
    return [drift]


def sample_drift(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """How far the sample data has drifted from the training data: the largest population stability index.

    Reads: data.drift (or data.distributions): records with "psi" and "column"/"feature"/"name", at any
    nesting, and data.max_psi_sample_vs_training. Only sample-vs-training comparisons count: in a list of
    pairs with a "kind", those of kind "sample_vs_training"; otherwise comparisons whose key or name/label
    mentions sample, production, serving or current; comparisons of training data only are ignored.
    """
    data = report.get("data")
    if not isinstance(data, Mapping):
        return section_missing(report, "data", NO_DATA)
    drift = data.get("drift", data.get("distributions"))
    if drift is None:
        return skipped("Not checked: the data section has no distribution comparison of the sample.")
    records: list[dict[str, Any]] = []
    for part in _sample_comparisons(drift):
        against = part.get("reference") if isinstance(part, Mapping) else None
        records += [{**r, "against": against} for r in _psi_records(part)]
    if not records:
        top_psi = number(data.get("max_psi_sample_vs_training"))
        if top_psi is None:
            return skipped("Not checked: the data section has no drift (PSI) of the sample against training data.")
        records = [{"column": "a column", "psi": top_psi, "against": None}]
    top = max(records, key=lambda r: r["psi"])
    n_over = sum(r["psi"] > s["warn"] for r in records)
    status: Status = "warn" if top["psi"] > s["warn"] else "pass"
    against = f" against the {top['against']}" if top.get("against") else ""
    if status == "warn":
        msg = (
            f"The sample has moved away from the training data in {n_over} column(s); most in {top['column']} "
            f"(PSI {fmt(top['psi'])}{against}, the policy warns above {fmt(s['warn'])})."
        )
    else:
        msg = f"The sample looks like the training data (largest PSI {fmt(top['psi'])} in {top['column']}{against})."
    return CheckResult(
        status=status,
        value=top["psi"],
        threshold=s["warn"],
        message=msg,
        details={"column": top["column"], "columns_over": n_over, "against": top.get("against")},
    )


# ---------------------------------------------------------------- serving parity


def _count(value: Any) -> int | None:
    if isinstance(value, list):
        return len(value)
    f = number(value)
    return int(f) if f is not None else None


def serving_parity(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether a scoring endpoint answers like the artifact it claims to serve (training-serving skew).

    Reads: parity.{differing_rate | mismatch_rate | rate}, else parity.{n_differing | n_mismatches |
    differing_rows (count or list)} / parity.n_rows; parity.{n_errors | errors (count or list)}.
    """
    parity = report.get("parity")
    if not isinstance(parity, Mapping):
        return section_missing(report, "parity", "Not checked: no scoring endpoint was checked against its artifact.")
    rate = next((number(parity[k]) for k in ("differing_rate", "mismatch_rate", "rate") if k in parity), None)
    n_rows = number(parity.get("n_rows"))
    if rate is None:
        n_diff = next(
            (_count(parity[k]) for k in ("n_differing", "n_mismatches", "differing_rows") if k in parity), None
        )
        rate = n_diff / n_rows if n_diff is not None and n_rows else None
    if rate is None:
        return skipped("Not checked: the parity section has no count of differing rows.")
    errors = next((_count(parity[k]) for k in ("n_errors", "errors", "error_count") if k in parity), None) or 0
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
            reads=("parity.differing_rate", "parity.n_differing", "parity.n_rows", "parity.n_errors"),
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
