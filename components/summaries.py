"""The few numbers the Overview and the section pages show, read from a Comparison (no Streamlit here).

Section results are read through their `to_dict()` (the JSON report's form) and defensively: a key may be
missing while a section is still growing, and then the number is simply not shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from modelgap.comparison import Comparison
from modelgap.family import FamilyChange, family_change
from modelgap.params import ParameterComparison
from modelgap.redact import log_exception
from modelgap.values import number

LOG = logging.getLogger("modelgap.app")
MIN_SLICE_ROWS = 30  # smaller slices are noise; the readiness check's default uses the same floor


@dataclass(frozen=True)
class ParameterCounts:
    same_artifact: bool | None  # None: a side has no artifact hash
    same_params: bool
    params_known: bool
    params_changed: int  # hyperparameters and pipeline structure: changed, added or removed
    hyperparameters_changed: int  # the first part of params_changed
    pipeline_changed: int  # the second part
    params_unknown: int  # recorded on one side only (an artifact format that drops them)
    schema_differences: int  # input columns added, removed or with another type
    order_changed: bool
    library_differences: int  # library and Python versions that differ


def settings_delta(counts: ParameterCounts) -> str | None:
    """What "Settings changed" is made of, as the reports say it: "3 hyperparameters, 1 pipeline change"."""
    from modelgap.words import settings_breakdown

    parts = []
    if counts.params_changed:
        parts.append(settings_breakdown(counts.hyperparameters_changed, counts.pipeline_changed))
    if counts.params_unknown:
        parts.append(f"{counts.params_unknown} not recorded")
    return "; ".join(parts) or None


def parameter_counts(p: ParameterComparison) -> ParameterCounts:
    return ParameterCounts(
        same_artifact=p.same_artifact,
        same_params=p.identical,
        params_known=p.hyperparameters.known and p.pipeline.known,
        params_changed=p.hyperparameters.n_differences + p.pipeline.n_differences,
        hyperparameters_changed=p.hyperparameters.n_differences,
        pipeline_changed=p.pipeline.n_differences,
        params_unknown=len(p.hyperparameters.unknown) + len(p.pipeline.unknown),
        schema_differences=len(p.schema.only_in_repo) + len(p.schema.only_in_deployed) + len(p.schema.dtype_changes),
        order_changed=p.schema.order_changed,
        library_differences=p.environment.n_differences,
    )


def estimator_family(comparison: Comparison) -> FamilyChange | None:
    """The final estimator's class on each side when it differs (read like the reports read it)."""
    report = {
        "parameters": comparison.parameters.to_dict(),
        "repo": {"model_class": comparison.repo.metadata.model_class},
        "deployed": {"model_class": comparison.deployed.metadata.model_class},
    }
    return family_change(report)


def same_artifact(comparison: Comparison) -> bool:
    """Both artifacts hashed here with one SHA-256: one model twice (modelgap.same_artifact)."""
    from modelgap.same_artifact import is_same_artifact

    return is_same_artifact(comparison.repo, comparison.deployed)


def section_dict(comparison: Comparison, name: str) -> dict[str, Any] | None:
    """The section `name`'s `to_dict()`, or None when the section is absent or cannot be rendered."""
    result = comparison.sections.get(name)
    if result is None:
        return None
    if isinstance(result, dict):
        return result
    to_dict = getattr(result, "to_dict", None)
    if not callable(to_dict):
        return None
    try:
        out = to_dict()
    except Exception:  # noqa: BLE001 - one section's bug must not blank the page; logged with its traceback
        log_exception(LOG, "The %s section could not be turned into a dict", name)
        return None
    return out if isinstance(out, dict) else None


def why_missing(comparison: Comparison, name: str) -> str:
    """Plain words for why a section is not there: its error, a note that names it, or the usual reason."""
    if name in comparison.errors:
        return f"It could not be computed: {comparison.errors[name]}"
    notes = [n for n in comparison.notes if name.lower() in n.lower()]
    if notes:
        return " ".join(notes)
    if name in ("predictions", "explanations", "data") and not comparison.data_path and comparison.data is None:
        return "It needs sample data: pick a data file in the sidebar."
    return "This comparison does not include it."


def slice_floor(verdict: dict[str, Any] | None) -> int:
    """The smallest slice the worst-slice check considers: the policy's `min_rows`, else the default."""
    policy = ((verdict or {}).get("policy") or {}).get("checks") or {}
    floor = (policy.get("worst_slice") or {}).get("min_rows")
    return int(floor) if isinstance(floor, int) and not isinstance(floor, bool) else MIN_SLICE_ROWS


def worst_slice(predictions: dict[str, Any], verdict: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The slice (a category or value range of one column) with the highest disagreement rate, big enough.

    The readiness check decides (its `details.slice`, with the policy's `min_rows`), so the Overview, the Report
    and the exported reports name the same slice; the same rule applies when the check did not run."""
    from modelgap.readiness.checks_predictions import slice_records

    for check in (verdict or {}).get("checks") or []:
        found = (check.get("details") or {}).get("slice") if check.get("name") == "worst_slice" else None
        if isinstance(found, dict):
            return found
    floor = slice_floor(verdict)
    records = slice_records(predictions.get("slices"))
    sized = [r for r in records if r.get("rate") is not None and (r.get("size") is None or r["size"] >= floor)]
    if not sized:
        return None
    return max(sized, key=lambda r: float(r["rate"]))


def slice_name(record: dict[str, Any]) -> str:
    """'region = North', or 'credit_score in [462, 605]' for a range (modelgap.words.slice_text)."""
    from modelgap.words import slice_text

    return slice_text(record.get("column"), record.get("label"))


def importance_changes(explanations: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """The features whose importance rank moved most (ties: the larger importance change first)."""
    rows: list[dict[str, Any]] = []
    order: dict[str, tuple[int, float]] = {}
    for f in explanations.get("features") or []:
        if not isinstance(f, dict) or "feature" not in f:
            continue
        r_rank, d_rank = f.get("repo_rank"), f.get("deployed_rank")
        r_imp, d_imp = number(f.get("repo_importance")), number(f.get("deployed_importance"))
        moved = abs(r_rank - d_rank) if isinstance(r_rank, int) and isinstance(d_rank, int) else 0
        change = (r_imp or 0.0) - (d_imp or 0.0)
        name = str(f["feature"])
        order[name] = (moved, abs(change))
        rows.append(
            {
                "feature": name,
                "repo_rank": r_rank,
                "deployed_rank": d_rank,
                "repo_importance": r_imp,
                "deployed_importance": d_imp,
                "change": change,
            }
        )
    changed = [r for r in rows if order[r["feature"]] != (0, 0.0)]
    changed.sort(key=lambda r: order[r["feature"]], reverse=True)
    return changed[:limit]
