"""Checks on the two artifacts themselves: identity, input schema and library versions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelgap.readiness.base import Check, CheckResult, Setting, Status, dig, skipped, worst

# ---------------------------------------------------------------- artifact identity


def _claimed(report: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(side, endpoint, registry entry) when a side is an endpoint described by the entry it claims to serve."""
    for side in ("deployed", "repo"):
        source = str(dig(report, f"{side}.source") or "")
        paired = dig(report, f"{side}.mlflow.paired_with")
        endpoint = dig(report, f"{side}.mlflow.endpoint") or source
        if paired and (dig(report, f"{side}.flavor") == "endpoint" or source.startswith(("http://", "https://"))):
            return side, str(endpoint), str(paired)
    return None


def artifact_identity(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether the two model files are byte-identical (always informational).

    Reads: parameters.same_artifact (true / false / null), repo.sha256, deployed.sha256, and for an endpoint
    side {side}.flavor / .source / .mlflow.paired_with / .mlflow.endpoint: an endpoint's hash is that of the
    registry entry it claims to serve, which hashing cannot verify (the serving parity check tests it).
    """
    params = report.get("parameters")
    if not isinstance(params, Mapping):
        return skipped("Not checked: the report has no parameters section.")
    same = params.get("same_artifact")
    r, d = dig(report, "repo.sha256"), dig(report, "deployed.sha256")
    short_r = str(r)[:12] if r else "unknown"
    short_d = str(d)[:12] if d else "unknown"
    claimed = _claimed(report)
    details: dict[str, Any] = {"repo": r, "deployed": d}
    if claimed is not None and same is not None:
        side, endpoint, paired = claimed
        other = "repo" if side == "deployed" else "deployed"
        details["claimed_by_endpoint"] = {"side": side, "endpoint": endpoint, "artifact": paired}
        relation = (
            f"is byte-identical (SHA-256 {short_r}) to"
            if same
            else f"differs (SHA-256 {short_r} in the repo, {short_d} deployed) from"
        )
        msg = (
            f"The {other} model file {relation} {paired}, which the endpoint {endpoint} claims to serve; "
            "what the endpoint really runs cannot be hashed, so this is not verified (serving parity tests it)."
        )
        return CheckResult(status="info", value=same, message=msg, details=details)
    if same is True:
        msg = f"The two model files are byte-identical (SHA-256 {short_r}), so they are the same model."
    elif same is False:
        msg = (
            f"The two model files differ (SHA-256 {short_r} in the repo, {short_d} deployed); "
            "the other checks say whether that matters."
        )
    else:
        msg = "One side has no file to fingerprint (for example a live endpoint), so identity cannot be confirmed."
    return CheckResult(status="info", value=same, message=msg, details=details)


# ---------------------------------------------------------------- schema compatibility


def schema_compatibility(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Whether the repo model accepts what the deployed model is fed today.

    Reads: parameters.schema.only_in_repo (columns the repo model needs that the deployed model is not sent),
    parameters.schema.only_in_deployed (columns the deployed model receives that the repo model no longer
    takes), parameters.schema.dtype_changes [{column, repo, deployed}], repo.features, deployed.features.
    """
    schema = dig(report, "parameters.schema")
    if not isinstance(schema, Mapping):
        return skipped("Not checked: the report has no input schema of the two models.")
    for side in ("repo", "deployed"):
        feats = dig(report, f"{side}.features")
        if isinstance(feats, list) and not feats:
            return skipped(f"Not checked: the {side} model's input columns are unknown.")
    new = [str(c) for c in schema.get("only_in_repo") or []]
    dropped = [str(c) for c in schema.get("only_in_deployed") or []]
    dtypes = [c for c in schema.get("dtype_changes") or [] if isinstance(c, Mapping)]
    findings: list[tuple[Status, str]] = []
    if new:
        findings.append((s["new_columns"], f"needs {_names(new)} that the deployed model is not sent"))
    if dropped:
        findings.append((s["dropped_columns"], f"no longer takes {_names(dropped)} that the deployed model receives"))
    if dtypes:
        changes = ", ".join(f"{c.get('column')} ({c.get('deployed')} -> {c.get('repo')})" for c in dtypes[:5])
        more = f" and {len(dtypes) - 5} more" if len(dtypes) > 5 else ""
        findings.append((s["dtype_changes"], f"expects other types for {changes}{more}"))
    details = {"new_columns": new, "dropped_columns": dropped, "dtype_changes": dtypes}
    n = len(new) + len(dropped) + len(dtypes)
    if not findings:
        return CheckResult(
            status="pass",
            value=0,
            threshold=0,
            message="The repo model takes exactly the input columns and types the deployed model takes.",
            details=details,
        )
    status = worst([f[0] for f in findings])
    return CheckResult(
        status=status,
        value=n,
        threshold=0,
        message="The repo model " + "; it ".join(f[1] for f in findings) + ".",
        details=details,
    )


def _names(cols: list[str], limit: int = 5) -> str:
    shown = ", ".join(cols[:limit]) + (f" and {len(cols) - limit} more" if len(cols) > limit else "")
    return f"{'column' if len(cols) == 1 else 'columns'} {shown}"


# ---------------------------------------------------------------- environment drift

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_change(old: Any, new: Any) -> str:
    """ "major", "minor", "patch" or "unknown" (unparseable) for a change between two version strings."""
    a, b = _VERSION.search(str(old or "")), _VERSION.search(str(new or ""))
    if not a or not b:
        return "unknown"
    pa = [int(x) if x else 0 for x in a.groups()]
    pb = [int(x) if x else 0 for x in b.groups()]
    if pa[0] != pb[0]:
        return "major"
    if pa[1] != pb[1]:
        return "minor"
    return "patch"


def environment_drift(report: Mapping[str, Any], s: Mapping[str, Any]) -> CheckResult:
    """Major / minor version changes of the libraries (and Python) the two models were saved with.

    Reads: parameters.groups.environment.changed [{name, repo, deployed}] and .known.
    A version that cannot be parsed counts as a minor change.
    """
    env = dig(report, "parameters.groups.environment")
    if not isinstance(env, Mapping):
        return skipped("Not checked: the report does not list the models' library versions.")
    ignored = {str(n).lower() for n in s["ignore"]}
    changes = [
        c for c in env.get("changed") or [] if isinstance(c, Mapping) and str(c.get("name")).lower() not in ignored
    ]
    if not changes:
        recorded = bool(dig(report, "repo.library_versions")) or bool(dig(report, "deployed.library_versions"))
        if not recorded:
            return skipped("Not checked: neither model records the library versions it was saved with.")
        return CheckResult(
            status="pass", value=0, threshold=0, message="Both models were saved with the same library versions."
        )
    severity: dict[str, Status] = {
        "major": s["on_major"],
        "minor": s["on_minor"],
        "patch": s["on_patch"],
        "unknown": s["on_minor"],
    }
    graded: list[dict[str, Any]] = []
    for c in changes:
        kind = version_change(c.get("deployed"), c.get("repo"))
        graded.append({"name": c.get("name"), "deployed": c.get("deployed"), "repo": c.get("repo"), "change": kind})
    status = worst([severity[g["change"]] for g in graded])
    notable = [g for g in graded if severity[g["change"]] == status] or graded
    listed = ", ".join(f"{g['name']} {g['deployed']} -> {g['repo']} ({g['change']})" for g in notable[:4])
    more = f" and {len(notable) - 4} more" if len(notable) > 4 else ""
    if status == "pass":
        msg = f"Only patch-level library updates between the two models ({listed}{more})."
    else:
        msg = f"The repo model was saved with other library versions: {listed}{more}; the serving image must match."
    return CheckResult(
        status=status,
        value=len(graded),
        threshold=0,
        message=msg,
        details={"changes": graded},
    )


def checks() -> list[Check]:
    grades = "pass, info, warn or fail"
    return [
        Check(
            name="artifact_identity",
            title="Same artifact",
            description="Are the two model files byte-for-byte the same? Informational: a retrain always differs.",
            reads=("parameters.same_artifact", "repo.sha256", "deployed.sha256"),
            page="parameters",
            fn=artifact_identity,
            unit="",
        ),
        Check(
            name="schema_compatibility",
            title="Input schema compatibility",
            description=(
                "Does the repo model accept the input the deployed model receives today: no new required "
                "columns, no dropped columns, no changed column types?"
            ),
            reads=(
                "parameters.schema.only_in_repo",
                "parameters.schema.only_in_deployed",
                "parameters.schema.dtype_changes",
                "repo.features",
                "deployed.features",
            ),
            page="parameters",
            fn=schema_compatibility,
            settings=(
                Setting("new_columns", "fail", "grade", f"columns the repo model needs but is not sent ({grades})"),
                Setting("dropped_columns", "warn", "grade", f"columns sent that the repo model ignores ({grades})"),
                Setting("dtype_changes", "warn", "grade", f"columns whose expected type changed ({grades})"),
            ),
        ),
        Check(
            name="environment_drift",
            title="Library versions",
            description="Were the two models saved with different major or minor versions of their libraries?",
            reads=("parameters.groups.environment.changed", "repo.library_versions", "deployed.library_versions"),
            page="parameters",
            fn=environment_drift,
            settings=(
                Setting("on_major", "fail", "grade", f"a major version change, e.g. 1.x -> 2.x ({grades})"),
                Setting("on_minor", "warn", "grade", f"a minor version change, e.g. 1.4 -> 1.5 ({grades})"),
                Setting("on_patch", "pass", "grade", f"a patch version change, e.g. 1.4.1 -> 1.4.2 ({grades})"),
                Setting("ignore", [], "names", "library names whose versions are not checked"),
            ),
        ),
    ]
