"""`PredictionComparison`: how much, where and on which rows the two models differ (the `predictions` section)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelgap.jsonsafe import json_safe
from modelgap.model import Task
from modelgap.predictions import measures
from modelgap.predictions.measures import DiffHistogram, Outputs
from modelgap.predictions.slices import Slice, fmt_number
from modelgap.predictions.surrogate import Surrogate


@dataclass
class RowCap:
    """How many rows were compared, and which rows the per-row views (rows, slices, surrogate) use."""

    rows_compared: int
    max_rows: int | None  # --max-rows: at most this many rows were read
    sample_rows: int  # rows of the uniform sample behind rows/slices/surrogate
    sample_capped: bool  # True: the sample is a seeded uniform subset of the compared rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_compared": self.rows_compared,
            "max_rows": self.max_rows,
            "sample_rows": self.sample_rows,
            "sample_capped": self.sample_capped,
            "measures_from": "all compared rows",
            "top_from": "all compared rows",
            "slices_from": "a uniform random sample" if self.sample_capped else "all compared rows",
        }


@dataclass
class PredictionComparison:
    """The `predictions` section. Headline numbers, `top`, `crosstab`, `diff_histogram` and `flips` cover every
    compared row; `rows`, `slices` and `surrogate` cover the in-memory sample (all rows up to the cap).

    `rows`: DataFrame indexed by 0-based row position (name "row") with repo, deployed (labels or values),
    abs_diff, diff (signed repo - deployed), disagrees, and for classifiers repo_score, deployed_score.
    `outputs`: the per-row arrays of every compared row (see RowOutputs), which the metrics section reads.
    """

    task: Task
    n_rows: int
    n_disagreements: int
    disagreement_rate: float
    mean_abs_diff: float
    max_abs_diff: float
    top: list[dict[str, Any]]
    rows: pd.DataFrame
    outputs: Outputs
    classes: list[Any] = field(default_factory=list)
    top_n: int = 20
    seed: int = 0  # of the surrogate tree
    tolerance: float | None = None
    tolerance_is_default: bool = False
    compared_on: str = "values"  # "probabilities", "labels" (a side gives labels only) or "values"
    positive_class: Any = None
    class_matching: list[dict[str, Any]] = field(default_factory=list)
    crosstab: pd.DataFrame | None = None  # repo label (index) x deployed label (columns) counts
    diff_histogram: DiffHistogram | None = None
    flips: dict[str, Any] | None = None
    slices: list[Slice] = field(default_factory=list)
    surrogate: Surrogate = field(default_factory=Surrogate)
    input_columns: list[str] = field(default_factory=list)
    columns_only_in_repo: list[str] = field(default_factory=list)
    columns_only_in_deployed: list[str] = field(default_factory=list)
    row_cap: RowCap | None = None
    uniform_rows: pd.Index = field(default_factory=lambda: pd.Index([], dtype=np.int64))
    notes: list[str] = field(default_factory=list)

    @property
    def disagrees(self) -> np.ndarray:
        """Per compared row (0-based position): do the two models disagree?"""
        return measures.disagrees(self.outputs, self.tolerance)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_rows": self.n_rows,
            "task": self.task,
            "disagreement_rate": self.disagreement_rate,
            "n_disagreements": self.n_disagreements,
            "mean_abs_diff": self.mean_abs_diff,
            "max_abs_diff": self.max_abs_diff,
            "top": self.top,
            "compared_on": self.compared_on,
            "tolerance": self.tolerance,
            "tolerance_is_default": self.tolerance_is_default,
            "classes": self.classes,
            "positive_class": self.positive_class,
            "class_matching": self.class_matching,
            "crosstab": _crosstab_dict(self.crosstab),
            "diff_histogram": self.diff_histogram.to_dict() if self.diff_histogram is not None else None,
            "flips": self.flips,
            "slices": [s.to_dict() for s in self.slices],
            "surrogate": self.surrogate.to_dict(),
            "columns_only_in_repo": self.columns_only_in_repo,
            "columns_only_in_deployed": self.columns_only_in_deployed,
            "row_cap": self.row_cap.to_dict() if self.row_cap is not None else None,
            "notes": self.notes,
        }
        return json_safe(out)

    def summary_lines(self) -> list[str]:
        what = "rows" if self.task != "regression" else f"rows (tolerance {fmt_number(self.tolerance or 0.0)})"
        lines = [f"Predictions ({self.n_rows:,} rows, {self.task})"]
        lines.append(
            f"  disagree on {self.disagreement_rate:.2%} of {what}: {self.n_disagreements:,}; "
            f"abs diff mean {self.mean_abs_diff:.4g}, max {self.max_abs_diff:.4g}"
        )
        if self.top:
            t = self.top[0]
            shown = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in (t["repo"], t["deployed"])]
            lines.append(f"  most different row: {t['row']} (repo {shown[0]}, deployed {shown[1]})")
        for s in self.slices[:3]:
            if s.rate > self.disagreement_rate:
                lines.append(f"  where: {s.condition} ({s.n_rows:,} rows) disagree on {s.rate:.1%}")
        hot = [r for r in self.surrogate.rules if r.predicts_disagree][:2]
        for r in hot:
            lines.append(f"  rule: {r.rule} -> {r.rate:.1%} disagree ({r.n_rows:,} rows)")
        if hot and self.surrogate.balanced_accuracy is not None:
            lines.append(f"  (rules' balanced accuracy {self.surrogate.balanced_accuracy:.2f} on these rows)")
        if self.flips:
            f = self.flips
            lines.append(
                f"  flips: {f['negative_flips']:,} negative ({f['negative_flip_rate']:.2%}), "
                f"{f['positive_flips']:,} positive ({f['positive_flip_rate']:.2%})"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return lines


def _crosstab_dict(frame: pd.DataFrame | None) -> dict[str, Any] | None:
    if frame is None:
        return None
    return {
        "rows": "repo",
        "columns": "deployed",
        "labels": list(frame.index),
        "counts": frame.to_numpy().tolist(),
    }
