"""Training-data lineage and distribution drift: what each model was trained on, and how the data differs.

`model_lineage` finds a model's datasets (MLflow dataset inputs, `.dvc` files, a named path);
`classify_relation` says how two training sets relate; `compare_frames` / `compare_tables` measure drift per
column; `build_diagnosis` lines drift up with disagreement slices and importance changes; `build_data` is
the comparison's `data` section.
"""

from __future__ import annotations

from modelgap.data.diagnosis import DiagnosisRow, build_diagnosis
from modelgap.data.drift import (
    MISSING_THRESHOLDS,
    PSI_BINS,
    PSI_THRESHOLDS,
    SEVERITIES,
    ColumnDrift,
    compare_column,
    compare_frames,
    numeric_psi,
    psi_from_shares,
    quantile_edges,
)
from modelgap.data.lineage import model_lineage, user_ref
from modelgap.data.pairs import DatasetDrift, compare_tables
from modelgap.data.refs import DatasetRef, ModelLineage
from modelgap.data.relation import Relation, SchemaComparison, classify_relation, compare_schemas
from modelgap.data.result import DataComparison
from modelgap.data.sampling import DEFAULT_ROW_BUDGET, TableSample, read_sample, sample_frame
from modelgap.data.section import build_data, compare_data

__all__ = [
    "DEFAULT_ROW_BUDGET",
    "MISSING_THRESHOLDS",
    "PSI_BINS",
    "PSI_THRESHOLDS",
    "SEVERITIES",
    "ColumnDrift",
    "DataComparison",
    "DatasetDrift",
    "DatasetRef",
    "DiagnosisRow",
    "ModelLineage",
    "Relation",
    "SchemaComparison",
    "TableSample",
    "build_data",
    "build_diagnosis",
    "classify_relation",
    "compare_column",
    "compare_data",
    "compare_frames",
    "compare_schemas",
    "compare_tables",
    "model_lineage",
    "numeric_psi",
    "psi_from_shares",
    "quantile_edges",
    "read_sample",
    "sample_frame",
    "user_ref",
]
