"""`DataComparison`: the `data` section of a comparison (lineage, relation, drift, diagnosis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelgap.data import drift as drift_mod
from modelgap.data.diagnosis import DiagnosisRow
from modelgap.data.pairs import DatasetDrift
from modelgap.data.refs import DatasetRef, ModelLineage
from modelgap.data.relation import Relation, SchemaComparison
from modelgap.data.sampling import TableSample

SUMMARY_COLUMNS = 5
_LEVELS = ("low", "moderate", "high")  # the grades each threshold starts


@dataclass
class DataComparison:
    """Everything the data section found. `tables` holds the rows compared (for charts), not serialised."""

    lineage: dict[str, ModelLineage]
    relation: Relation
    schema: SchemaComparison
    drift: list[DatasetDrift] = field(default_factory=list)
    diagnosis: list[DiagnosisRow] = field(default_factory=list)
    tables: dict[str, TableSample] = field(default_factory=dict)  # repo_training, deployed_training, sample
    row_budget: int = 0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def pairs(self, kind: str) -> list[DatasetDrift]:
        return [d for d in self.drift if d.kind == kind]

    @property
    def training_pair(self) -> DatasetDrift | None:
        return next(iter(self.pairs("training_vs_training")), None)

    @property
    def sample_pair(self) -> DatasetDrift | None:
        """The sample against the deployed model's training data when compared, else the repo model's."""
        found = self.pairs("sample_vs_training")
        return next((d for d in found if d.reference_key == "deployed_training"), found[0] if found else None)

    @property
    def max_psi_sample_vs_training(self) -> float | None:
        values = [p for d in self.pairs("sample_vs_training") if (p := d.max_psi) is not None]
        return max(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        training_pair = self.training_pair
        return {
            "lineage": {
                "repo": self.lineage["repo"].to_dict(),
                "deployed": self.lineage["deployed"].to_dict(),
                "relation": self.relation.kind,
                "relation_words": self.relation.words,
                "relation_reason": self.relation.reason,
                "schema": self.schema.to_dict(),
            },
            "training_data_relation": self.relation.kind,
            "drift": [d.to_dict() for d in self.drift],
            "max_psi_sample_vs_training": self.max_psi_sample_vs_training,
            "max_psi_training": training_pair.max_psi if training_pair is not None else None,
            "target_drift": [{"pair": d.name, **d.target.to_dict()} for d in self.drift if d.target is not None],
            "diagnosis": [r.to_dict() for r in self.diagnosis],
            "row_budget": self.row_budget,
            "thresholds": {
                "severity": list(drift_mod.SEVERITIES),
                "psi": dict(zip(_LEVELS, drift_mod.PSI_THRESHOLDS, strict=True)),
                "missing_rate_change": dict(zip(_LEVELS, drift_mod.MISSING_THRESHOLDS, strict=True)),
                "significance": drift_mod.SIGNIFICANCE,
                "psi_bins": drift_mod.PSI_BINS,
            },
            "notes": list(self.notes),
            "errors": list(self.errors),
        }

    def summary_lines(self) -> list[str]:
        lines = ["", "Data"]
        lines.append(f"  Training data: {self.relation.words}. {self.relation.reason}")
        for side in ("repo", "deployed"):
            lines.append(f"    {side:<9}{_ref_line(self.lineage[side].training)}")
        if self.schema.known and not self.schema.identical:
            s = self.schema
            if s.only_in_repo:
                lines.append(f"    columns only in the repo training data: {', '.join(s.only_in_repo)}")
            if s.only_in_deployed:
                lines.append(f"    columns only in the deployed training data: {', '.join(s.only_in_deployed)}")
            for c in s.kind_changes:
                lines.append(f"    column {c['column']}: {c['deployed']} -> {c['repo']}")
        for d in self.drift:
            drifted = d.drifted()
            head = f"  {d.name}: "
            if not drifted:
                top = f"largest PSI {d.max_psi:.3f}" if d.max_psi is not None else "nothing to compare"
                lines.append(head + f"no column drifted ({top}).")
                continue
            shown = ", ".join(_column_words(c) for c in drifted[:SUMMARY_COLUMNS])
            more = f" and {len(drifted) - SUMMARY_COLUMNS} more" if len(drifted) > SUMMARY_COLUMNS else ""
            lines.append(head + f"{len(drifted)} column(s) drifted: {shown}{more}.")
        flagged = [r for r in self.diagnosis if r.summary and len(r.flags) >= 2]
        for r in flagged[:SUMMARY_COLUMNS]:
            lines.append(f"  ! {r.summary}")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  error: {e}" for e in self.errors]
        return lines


def _column_words(c: drift_mod.ColumnDrift) -> str:
    if c.psi is not None:
        return f"{c.column} (PSI {c.psi:.2f}, {c.severity})"
    change = c.missing_rate_change or 0.0
    return f"{c.column} (missing {100 * change:+.0f} points, {c.severity})"


def _ref_line(ref: DatasetRef | None) -> str:
    if ref is None:
        return "unknown"
    bits = [ref.origin]
    if ref.digest or ref.computed_digest:
        bits.append(f"digest {ref.digest or ref.computed_digest}")
    elif ref.md5:
        bits.append(f"md5 {ref.md5[:12]}")
    if ref.n_rows is not None:
        bits.append(f"{ref.n_rows:,} rows")
    return f"{ref.label} ({', '.join(bits)})"
