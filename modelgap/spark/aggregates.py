"""The predictions section's whole-data measures as Spark aggregations over the scored rows.

Each follows the pandas engine's definition (modelgap.predictions.measures): NaN never counts as a
disagreement, as a difference or in a mean; `top` is the largest positive abs diffs, ties to the lower row;
the histogram uses numpy's 40 equal-width bins between the finite differences' min and max.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.predictions.measures import DEFAULT_TOLERANCE_SHARE, HISTOGRAM_BINS, DiffHistogram, flip_measures
from modelgap.spark.frames import ROW
from modelgap.spark.scoring import ABS_DIFF, DEPLOYED, DEPLOYED_SCORE, DIFF, REPO, REPO_SCORE, TARGET

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def _finite(column: str) -> Column:
    from pyspark.sql import functions as F

    c = F.col(column)
    return c.isNotNull() & ~F.isnan(c) & (F.abs(c) != F.lit(float("inf")))


def default_tolerance(scored: DataFrame) -> float:
    """1% of the population standard deviation of the deployed model's finite predictions."""
    from pyspark.sql import functions as F

    std = scored.where(_finite(DEPLOYED)).agg(F.stddev_pop(DEPLOYED)).first()
    value = std[0] if std is not None else None
    return float(DEFAULT_TOLERANCE_SHARE * value) if value is not None else 0.0


def disagree_column(classification: bool, tolerance: float | None) -> Column:
    from pyspark.sql import functions as F

    if classification:
        return F.col(REPO) != F.col(DEPLOYED)
    a = F.col(ABS_DIFF)
    return a.isNotNull() & ~F.isnan(a) & (a > F.lit(float(tolerance or 0.0)))


def headline(scored: DataFrame, disagree: Column) -> dict[str, Any]:
    """n, disagreements, mean and max of the finite abs diffs, and the finite diffs' range and count."""
    from pyspark.sql import functions as F

    fin, fin_diff = _finite(ABS_DIFF), _finite(DIFF)
    row = scored.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.when(disagree, 1).otherwise(0)).alias("n_dis"),
        F.avg(F.when(fin, F.col(ABS_DIFF))).alias("mean_abs"),
        F.max(F.when(fin, F.col(ABS_DIFF))).alias("max_abs"),
        F.min(F.when(fin_diff, F.col(DIFF))).alias("diff_min"),
        F.max(F.when(fin_diff, F.col(DIFF))).alias("diff_max"),
        F.sum(F.when(fin_diff, 1).otherwise(0)).alias("n_diff"),
    ).first()
    assert row is not None
    return row.asDict()


def crosstab(scored: DataFrame, classes: list[Any]) -> pd.DataFrame:
    """Counts of repo label x deployed label over every row (codes -1 left out), as measures.crosstab."""
    from pyspark.sql import functions as F

    k = len(classes)
    counts = np.zeros((k, k), dtype=np.int64)
    known = (F.col(REPO) >= 0) & (F.col(DEPLOYED) >= 0)
    for row in scored.where(known).groupBy(REPO, DEPLOYED).count().collect():
        r, d = int(row[0]), int(row[1])
        if r < k and d < k:
            counts[r, d] = int(row[2])
    labels = list(classes)
    return pd.DataFrame(
        counts,
        index=pd.Index(labels, dtype=object, name="repo"),
        columns=pd.Index(labels, dtype=object, name="deployed"),
    )


def histogram(scored: DataFrame, low: float, high: float, what: str) -> DiffHistogram:
    """np.histogram(finite diffs, bins=40): the same edges, counts summed over the executors' batches."""
    from pyspark.sql.types import ArrayType, LongType, StructField, StructType

    edges = np.histogram_bin_edges(np.array([low, high], dtype=float), bins=HISTOGRAM_BINS)

    def count(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            x = batch[DIFF].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            yield pd.DataFrame({"counts": [np.histogram(x, bins=edges)[0].astype(np.int64).tolist()]})

    schema = StructType([StructField("counts", ArrayType(LongType()))])
    parts = scored.select(DIFF).mapInPandas(count, schema).collect()
    counts = np.sum([np.asarray(p[0], dtype=np.int64) for p in parts], axis=0) if parts else np.zeros(HISTOGRAM_BINS)
    return DiffHistogram(edges=edges, counts=np.asarray(counts, dtype=np.int64), what=what)


def flips(scored: DataFrame) -> dict[str, Any] | None:
    """measures.flips over every labelled row (target code >= 0)."""
    from pyspark.sql import functions as F

    known = scored.where(F.col(TARGET) >= 0)
    right_r, right_d = F.col(REPO) == F.col(TARGET), F.col(DEPLOYED) == F.col(TARGET)

    def total(cond: Column) -> Column:
        return F.sum(F.when(cond, 1).otherwise(0))

    row = known.agg(
        F.count(F.lit(1)),
        total(right_d & ~right_r),
        total(~right_d & right_r),
        total(right_d & right_r),
        total(right_d),
    ).first()
    assert row is not None
    n, negative, positive, kept, deployed_right = (int(v or 0) for v in row)
    return flip_measures(n, negative, positive, kept, deployed_right) if n else None


def top_rows(
    scored: DataFrame, disagree: Column, top_n: int, classes: list[Any], classification: bool
) -> list[dict[str, Any]]:
    """measures.top_rows: the largest positive abs diffs (ties: lower row first), collected (top_n rows)."""
    from pyspark.sql import functions as F

    if top_n <= 0:
        return []
    a = F.col(ABS_DIFF)
    columns: list[Column | str] = [ROW, REPO, DEPLOYED, ABS_DIFF, disagree.alias("__dis")]
    if classification:
        columns += [REPO_SCORE, DEPLOYED_SCORE]
    picked = scored.where(a.isNotNull() & ~F.isnan(a) & (a > 0)).select(*columns)
    rows = picked.orderBy(F.col(ABS_DIFF).desc(), F.col(ROW).asc()).limit(top_n).collect()

    def label(code: Any) -> Any:
        if not classification:
            return float(code)
        return classes[int(code)] if 0 <= int(code) < len(classes) else None

    def num(value: Any) -> float | None:
        return float(value) if value is not None and np.isfinite(value) else None

    out = []
    for r in rows:
        entry: dict[str, Any] = {
            "row": int(r[ROW]),
            "repo": label(r[REPO]),
            "deployed": label(r[DEPLOYED]),
            "abs_diff": float(r[ABS_DIFF]),
            "disagrees": bool(r["__dis"]),
        }
        if classification:
            entry["repo_score"] = num(r[REPO_SCORE])
            entry["deployed_score"] = num(r[DEPLOYED_SCORE])
        out.append(entry)
    return out
