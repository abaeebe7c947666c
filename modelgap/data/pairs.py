"""Drift between two datasets the user can reach (two training sets, or a training set and the sample)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelgap.data.drift import SEVERITIES, ColumnDrift, compare_column, compare_frames
from modelgap.data.sampling import TableSample
from modelgap.errors import SchemaMismatchError

MAX_LISTED_COLUMNS = 12


@dataclass
class DatasetDrift:
    """Per-column drift of `current` against `reference`, most drifted column first."""

    kind: str  # training_vs_training | sample_vs_training
    reference: str  # labels, e.g. "deployed training data"
    current: str
    reference_source: str | None
    current_source: str | None
    reference_rows: int
    current_rows: int
    reference_rows_used: int
    current_rows_used: int
    columns: list[ColumnDrift]
    missing_in_reference: list[str] = field(default_factory=list)
    missing_in_current: list[str] = field(default_factory=list)
    target: ColumnDrift | None = None  # the label column's drift, kept apart from the inputs
    notes: list[str] = field(default_factory=list)
    reference_key: str | None = None  # keys of DataComparison.tables: repo_training, deployed_training, sample
    current_key: str | None = None

    @property
    def name(self) -> str:
        return f"{self.current} vs {self.reference}"

    @property
    def sampled(self) -> bool:
        return self.reference_rows_used < self.reference_rows or self.current_rows_used < self.current_rows

    @property
    def max_psi(self) -> float | None:
        values = [c.psi for c in self.columns if c.psi is not None]
        return max(values) if values else None

    def drifted(self, at_least: str = "moderate") -> list[ColumnDrift]:
        floor = SEVERITIES.index(at_least)
        return [c for c in self.columns if SEVERITIES.index(c.severity) >= floor]

    def column(self, name: str) -> ColumnDrift | None:
        return next((c for c in self.columns if c.column == name), None)

    def to_dict(self) -> dict[str, Any]:
        counts = {s: sum(c.severity == s for c in self.columns) for s in SEVERITIES}
        return {
            "name": self.name,
            "kind": self.kind,
            "reference_key": self.reference_key,
            "current_key": self.current_key,
            "reference": self.reference,
            "current": self.current,
            "reference_source": self.reference_source,
            "current_source": self.current_source,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reference_rows_used": self.reference_rows_used,
            "current_rows_used": self.current_rows_used,
            "sampled": self.sampled,
            "max_psi": self.max_psi,
            "severity_counts": counts,
            "columns": [c.to_dict() for c in self.columns],
            "missing_in_reference": list(self.missing_in_reference),
            "missing_in_current": list(self.missing_in_current),
            "notes": list(self.notes),
        }


Measure = Callable[[TableSample, TableSample, list[str]], list[ColumnDrift]]


def frames_measure(reference: TableSample, current: TableSample, columns: list[str]) -> list[ColumnDrift]:
    """The pandas engine's measure: compare_frames on the rows each table holds in memory."""
    return compare_frames(reference.frame, current.frame, columns)


def _names(columns: list[str]) -> str:
    more = f" and {len(columns) - MAX_LISTED_COLUMNS} more" if len(columns) > MAX_LISTED_COLUMNS else ""
    return ", ".join(columns[:MAX_LISTED_COLUMNS]) + more


def compare_tables(
    reference: TableSample,
    current: TableSample,
    *,
    kind: str,
    columns: list[str] | None = None,
    target: str | None = None,
    measure: Measure | None = None,
) -> DatasetDrift:
    """Drift of `columns` (default: the columns both tables have, but the target) between two tables.

    `measure(reference, current, columns)` computes the per-column drift, most drifted first (default: the
    pandas engine's compare_frames on the tables' frames; the Spark engine passes its own).
    Raises SchemaMismatchError when the two tables share none of the columns to compare.
    """
    ref_cols = [str(c) for c in reference.frame.columns]
    cur_cols = [str(c) for c in current.frame.columns]
    if columns is None:
        wanted = [c for c in ref_cols if c in cur_cols and c != target]
    else:
        wanted = [c for c in columns if c != target]
    missing_ref = [c for c in wanted if c not in ref_cols]
    missing_cur = [c for c in wanted if c not in cur_cols]
    use = [c for c in wanted if c in ref_cols and c in cur_cols]
    if not use:
        raise SchemaMismatchError(
            f"The {current.label} and the {reference.label} share none of the columns to compare "
            f"({current.label}: {_names(cur_cols)}; {reference.label}: {_names(ref_cols)}).",
            "Check that both files hold the model's input columns, with the same names.",
        )
    result = DatasetDrift(
        kind=kind,
        reference=reference.label,
        current=current.label,
        reference_source=reference.source,
        current_source=current.source,
        reference_rows=reference.n_rows,
        current_rows=current.n_rows,
        reference_rows_used=len(reference.frame),
        current_rows_used=len(current.frame),
        columns=(measure or frames_measure)(reference, current, use),
        missing_in_reference=missing_ref,
        missing_in_current=missing_cur,
    )
    for label, missing in ((reference.label, missing_ref), (current.label, missing_cur)):
        if missing:
            result.notes.append(f"Input columns missing from the {label}, not compared: {_names(missing)}.")
    if target and target in ref_cols and target in cur_cols:
        if measure is None:
            result.target = compare_column(reference.frame[target], current.frame[target], target)
        else:
            result.target = measure(reference, current, [target])[0]
    return result
