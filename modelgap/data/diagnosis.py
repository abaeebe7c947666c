"""The diagnosis table: per input column, its drift, the disagreement in its slices and its importance change,
so that one look says, e.g., "income drifted, the models disagree for high incomes, and the repo model leans
on income twice as much".

Inputs are the JSON forms of the other sections (`predictions.slices`, `explanations.features`), read
defensively: a section that is absent or shaped otherwise leaves its cells empty.

A column is flagged for:
- "drift": severity moderate or high in either comparison (training sets, or sample vs training);
- "disagreement": a slice of at least MIN_SLICE_ROWS rows whose disagreement rate is at least SLICE_LIFT
  times the overall rate;
- "importance": one model's mean |SHAP| is at least IMPORTANCE_RATIO times the other's, for a column that
  carries at least IMPORTANCE_FLOOR of the largest importance on either side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from modelgap.data.drift import SEVERITIES
from modelgap.data.pairs import DatasetDrift
from modelgap.values import number as _number

MIN_SLICE_ROWS = 30
SLICE_LIFT = 2.0
IMPORTANCE_RATIO = 1.5
IMPORTANCE_FLOOR = 0.05
_FLAGGED = ("moderate", "high")


@dataclass
class DiagnosisRow:
    column: str
    training_psi: float | None = None  # repo training data vs deployed training data
    training_severity: str | None = None
    sample_psi: float | None = None  # sample data vs a model's training data (the larger drift of the two)
    sample_severity: str | None = None
    sample_reference: str | None = None  # which training data that drift is measured against
    slice: str | None = None  # the slice of this column where the models disagree most
    slice_rate: float | None = None
    slice_rows: int | None = None
    slice_lift: float | None = None  # slice rate / overall disagreement rate
    repo_importance: float | None = None
    deployed_importance: float | None = None
    importance_ratio: float | None = None  # repo / deployed
    repo_rank: int | None = None
    deployed_rank: int | None = None
    flags: list[str] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}

    @property
    def sort_key(self) -> tuple[int, float, float]:
        psi = max(self.training_psi or 0.0, self.sample_psi or 0.0)
        ratio = self.importance_ratio
        change = abs(math.log(ratio)) if ratio and ratio > 0 else 0.0
        return (len(self.flags), psi, change)


def _first(rec: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((rec[k] for k in keys if rec.get(k) is not None), None)


def _slices(predictions: Mapping[str, Any] | None) -> tuple[dict[str, dict[str, Any]], float | None]:
    """The most telling slice per column (at least MIN_SLICE_ROWS rows when sizes are known) and the overall
    disagreement rate. Slices: predictions.slices, a list of {column, slice / condition, n_rows, rate, lift, z};
    the predictions section's own ranking (z, how surprising the rate is for the slice's size) decides, else
    the rate."""
    if not isinstance(predictions, Mapping):
        return {}, None
    overall = _number(predictions.get("disagreement_rate"))
    raw = predictions.get("slices")
    worst: dict[str, dict[str, Any]] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        col = _first(item, ("column", "feature"))
        rate = _number(_first(item, ("disagreement_rate", "rate")))
        size = _number(_first(item, ("n_rows", "n", "size", "count", "rows")))
        if col is None or rate is None or (size is not None and size < MIN_SLICE_ROWS):
            continue
        label = _first(item, ("slice", "label", "level", "bin", "range", "value"))
        described = _first(item, ("condition", "rule")) or (f"{col} {label}" if label is not None else None)
        lift = _number(item.get("lift"))
        rec = {
            "label": described,
            "rate": rate,
            "size": size,
            "lift": lift if lift is not None else (rate / overall if overall else None),
            "score": _number(item.get("z")) if _number(item.get("z")) is not None else rate,
        }
        if str(col) not in worst or rec["score"] > worst[str(col)]["score"]:
            worst[str(col)] = rec
    return worst, overall


def _importances(explanations: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not isinstance(explanations, Mapping) or not isinstance(explanations.get("features"), list):
        return {}
    return {str(f["feature"]): f for f in explanations["features"] if isinstance(f, Mapping) and "feature" in f}


def build_diagnosis(
    columns: list[str],
    *,
    training: DatasetDrift | None,
    samples: Sequence[DatasetDrift] = (),
    predictions: Mapping[str, Any] | None,
    explanations: Mapping[str, Any] | None,
) -> list[DiagnosisRow]:
    """One row per column, the columns with the most flags (then the largest drift) first."""
    slices, overall = _slices(predictions)
    importances = _importances(explanations)
    sizes = [_number(f.get(k)) for f in importances.values() for k in ("repo_importance", "deployed_importance")]
    top = max((v for v in sizes if v), default=0.0)
    rows = []
    for col in dict.fromkeys([*columns, *importances]):
        row = DiagnosisRow(column=col)
        drift = training.column(col) if training is not None else None
        if drift is not None:
            row.training_psi, row.training_severity = drift.psi, drift.severity
        found = [(d, pair.reference) for pair in samples if (d := pair.column(col)) is not None]
        if found:
            drift, reference = max(found, key=lambda f: f[0].sort_key)
            row.sample_psi, row.sample_severity, row.sample_reference = drift.psi, drift.severity, reference
        if col in slices:
            rec = slices[col]
            row.slice = None if rec.get("label") is None else str(rec["label"])
            row.slice_rate = rec["rate"]
            row.slice_rows = int(rec["size"]) if rec["size"] is not None else None
            row.slice_lift = rec["lift"]
        if col in importances:
            f = importances[col]
            row.repo_importance = _number(f.get("repo_importance"))
            row.deployed_importance = _number(f.get("deployed_importance"))
            rr, dr = _number(f.get("repo_rank")), _number(f.get("deployed_rank"))
            row.repo_rank, row.deployed_rank = (int(rr) if rr else None), (int(dr) if dr else None)
            if row.repo_importance is not None and row.deployed_importance:
                row.importance_ratio = row.repo_importance / row.deployed_importance
        _flag(row, top)
        row.summary = _summary(row, overall)
        rows.append(row)
    return sorted(rows, key=lambda r: r.sort_key, reverse=True)


def _flag(row: DiagnosisRow, top_importance: float) -> None:
    if row.training_severity in _FLAGGED or row.sample_severity in _FLAGGED:
        row.flags.append("drift")
    if row.slice_lift is not None and row.slice_lift >= SLICE_LIFT:
        row.flags.append("disagreement")
    big = max(row.repo_importance or 0.0, row.deployed_importance or 0.0)
    if big >= IMPORTANCE_FLOOR * top_importance and big > 0:
        ratio = row.importance_ratio
        if ratio is None and (row.deployed_importance or 0.0) == 0.0 and (row.repo_importance or 0.0) > 0:
            row.flags.append("importance")  # used by the repo model only
        elif ratio is not None and (ratio >= IMPORTANCE_RATIO or ratio <= 1 / IMPORTANCE_RATIO):
            row.flags.append("importance")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.1 else f"{100 * x:.0f}%"


def _summary(row: DiagnosisRow, overall: float | None) -> str:
    bits = []
    sample_where = f"in the sample vs the {row.sample_reference or 'training data'}"
    for attr, where in (("training", "between the training sets"), ("sample", sample_where)):
        severity, psi = getattr(row, f"{attr}_severity"), getattr(row, f"{attr}_psi")
        if severity is not None and SEVERITIES.index(severity) >= SEVERITIES.index("moderate"):
            bits.append(f"drifted {where} (PSI {psi:.2f}, {severity})" if psi is not None else f"drifted {where}")
    if "disagreement" in row.flags and row.slice_rate is not None:
        where = f" where {row.slice}" if row.slice else ""
        base = f", {row.slice_lift:.1f}x the overall {_pct(overall)}" if overall and row.slice_lift else ""
        bits.append(f"the models disagree on {_pct(row.slice_rate)} of rows{where}{base}")
    if "importance" in row.flags:
        ratio = row.importance_ratio
        if ratio is None:
            bits.append("only the repo model uses it")
        elif ratio == 0:
            bits.append("only the deployed model uses it")
        elif ratio >= 1:
            bits.append(f"the repo model leans on it {ratio:.1f}x as much as the deployed one")
        else:
            bits.append(f"the repo model leans on it {1 / ratio:.1f}x less than the deployed one")
    return f"{row.column}: " + "; ".join(bits) + "." if bits else ""
