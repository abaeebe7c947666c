"""Category levels of two Spark DataFrames, counted in Spark; PSI, chi-square, new and vanished levels on the
driver from bounded pieces (modelgap.data.drift's definitions; see modelgap.spark.drift).

A level is the value's text as the pandas engine writes it (`str(value)`): text as is, booleans as
True/False, floats (and integers in a column with nulls, which pandas reads as floats) through Python's `str`
in a pandas UDF, other types by Spark's cast to string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from modelgap.data import drift
from modelgap.data.drift import IDENTIFIER_MIN_LEVELS, MAX_LEVELS, MAX_LISTED_LEVELS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

    from modelgap.data.drift import ColumnDrift
    from modelgap.spark.data_tables import SparkTable
    from modelgap.spark.drift import ColumnStats

_INTEGRAL = ("ByteType", "ShortType", "IntegerType", "LongType")
_FLOATS = ("FloatType", "DoubleType")
FEW_LEVELS = IDENTIFIER_MIN_LEVELS  # a column with at most this many levels in a table is collected whole


@dataclass
class LevelCounts:
    """What the driver needs of one column's level counts (at most MAX_LEVELS + 2 * MAX_LISTED_LEVELS levels)."""

    n_ref_levels: int = 0
    n_new: int = 0
    n_vanished: int = 0
    n_levels: int = 0
    ref_total: float = 0.0
    cur_total: float = 0.0
    top: list[tuple[str, float, float]] = field(default_factory=list)  # (level, ref, cur) by ref+cur desc
    new: list[tuple[str, float]] = field(default_factory=list)  # by current count desc
    vanished: list[tuple[str, float]] = field(default_factory=list)  # by reference count desc


def python_str(s: pd.Series) -> pd.Series:
    """Python's str of each value (what `astype(str)` gives the pandas engine)."""
    return s.astype(str)


def level(name: str, dtype: DataType, has_nulls: bool) -> Column:
    """The column's values as the pandas engine's level text; null where the value is missing."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    from modelgap.spark.drift import missing, quote, type_name

    c = F.col(quote(name))
    kind = type_name(dtype)
    text: Column
    if kind == "StringType":
        text = c
    elif kind == "BooleanType":
        text = F.when(c, F.lit("True")).otherwise(F.lit("False"))
    elif kind in _FLOATS or (kind in _INTEGRAL and has_nulls):
        udf = F.pandas_udf(python_str, StringType())  # type: ignore[call-overload]
        text = udf(c if kind in _FLOATS else c.cast("double"))
    else:
        text = c.cast("string")
    return F.when(~missing(name, dtype), text)


def _stacked_counts(df: DataFrame, levels: list[Column]) -> DataFrame:
    """(c = column index, v = level, n = rows) over every row, one pass for all the columns."""
    from pyspark.sql import functions as F

    items = [F.struct(F.lit(i).alias("c"), e.alias("v")) for i, e in enumerate(levels)]
    stacked = df.select(F.explode(F.array(*items)).alias("s")).select("s.c", "s.v")
    return stacked.where(F.col("v").isNotNull()).groupBy("c", "v").agg(F.count(F.lit(1)).alias("n"))


def level_counts(
    reference: SparkTable,
    current: SparkTable,
    columns: list[str],
    ref_stats: dict[str, ColumnStats],
    cur_stats: dict[str, ColumnStats],
) -> dict[str, LevelCounts]:
    """What the driver needs of each column's levels. A column with at most FEW_LEVELS levels in both tables
    uses the per-table counts (collected once per table); the others are joined and ranked in Spark."""
    few_ref, few_cur = few_levels(reference, columns, ref_stats), few_levels(current, columns, cur_stats)
    out: dict[str, LevelCounts] = {}
    many = []
    for c in columns:
        a, b = few_ref.get(c), few_cur.get(c)
        if a is None or b is None:
            many.append(c)
        else:
            out[c] = _from_maps(a, b)
    if many:
        out.update(_joined_counts(reference, current, many, ref_stats, cur_stats))
    return out


def few_levels(table: SparkTable, columns: list[str], stats: dict[str, ColumnStats]) -> dict[str, dict[str, int]]:
    """level -> rows of each column with at most FEW_LEVELS levels in `table` (absent: more); one job for the
    columns not yet known, cached on the table. At most FEW_LEVELS rows per column come to the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    known: dict[str, dict[str, int] | None] = table.cache.setdefault("levels", {})
    todo = [c for c in columns if c not in known]
    if todo:
        types = {f.name: f.dataType for f in table.df.schema.fields}
        counts = _stacked_counts(table.df, [level(c, types[c], stats[c].missing > 0) for c in todo])
        sized = counts.withColumn("m", F.count(F.lit(1)).over(Window.partitionBy("c")))
        found: dict[str, dict[str, int] | None] = {c: None if stats[c].count else {} for c in todo}
        for row in sized.where(F.col("m") <= F.lit(FEW_LEVELS)).select("c", "v", "n").collect():
            levels = found[todo[row[0]]]
            if levels is None:
                levels = found[todo[row[0]]] = {}
            levels[row[1]] = int(row[2])
        known.update(found)
    return {c: levels for c in columns if (levels := known[c]) is not None}


def _from_maps(ref: dict[str, int], cur: dict[str, int]) -> LevelCounts:
    """LevelCounts from two whole level -> count maps, ranked as the Spark route ranks them."""
    names = set(ref) | set(cur)
    r = {v: float(ref.get(v, 0)) for v in names}
    c = {v: float(cur.get(v, 0)) for v in names}
    new = sorted((v for v in names if v not in ref), key=lambda v: (-c[v], v))
    gone = sorted((v for v in names if v not in cur), key=lambda v: (-r[v], v))
    top = sorted(names, key=lambda v: (-(r[v] + c[v]), v))[:MAX_LEVELS]
    return LevelCounts(
        n_ref_levels=len(ref),
        n_new=len(new),
        n_vanished=len(gone),
        n_levels=len(names),
        ref_total=float(sum(ref.values())),
        cur_total=float(sum(cur.values())),
        top=[(v, r[v], c[v]) for v in top],
        new=[(v, c[v]) for v in new[:MAX_LISTED_LEVELS]],
        vanished=[(v, r[v]) for v in gone[:MAX_LISTED_LEVELS]],
    )


def _joined_counts(
    reference: SparkTable,
    current: SparkTable,
    columns: list[str],
    ref_stats: dict[str, ColumnStats],
    cur_stats: dict[str, ColumnStats],
) -> dict[str, LevelCounts]:
    """Level counts of `columns` in both tables, joined in Spark; two small collects for all the columns."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ref_types = {f.name: f.dataType for f in reference.df.schema.fields}
    cur_types = {f.name: f.dataType for f in current.df.schema.fields}
    ref = _stacked_counts(reference.df, [level(c, ref_types[c], ref_stats[c].missing > 0) for c in columns])
    cur = _stacked_counts(current.df, [level(c, cur_types[c], cur_stats[c].missing > 0) for c in columns])
    r, k = F.col("r"), F.col("k")
    joined = (
        ref.withColumnRenamed("n", "r")
        .join(cur.withColumnRenamed("n", "k"), on=["c", "v"], how="full")
        .fillna(0, subset=["r", "k"])
        .persist(StorageLevel.DISK_ONLY)  # up to every level of every column: see predictions.py
    )
    try:
        totals = joined.groupBy("c").agg(
            F.count(F.when(r > 0, 1)),
            F.count(F.when(r == 0, 1)),
            F.count(F.when(k == 0, 1)),
            F.count(F.lit(1)),
            F.sum(r),
            F.sum(k),
        )
        out: dict[str, LevelCounts] = {}
        for row in totals.collect():
            n_ref, n_new, n_gone, n_all = (int(x) for x in row[1:5])
            out[columns[row[0]]] = LevelCounts(n_ref, n_new, n_gone, n_all, float(row[5]), float(row[6]))
        by_all = Window.partitionBy("c").orderBy(F.desc(r + k), F.asc("v"))
        by_new = Window.partitionBy("c", r == 0).orderBy(F.desc("k"), F.asc("v"))
        by_gone = Window.partitionBy("c", k == 0).orderBy(F.desc("r"), F.asc("v"))
        ranked = joined.select(
            "c",
            "v",
            "r",
            "k",
            F.row_number().over(by_all).alias("ra"),
            F.row_number().over(by_new).alias("rn"),
            F.row_number().over(by_gone).alias("rg"),
        )
        listed = F.lit(MAX_LISTED_LEVELS)
        kept = (F.col("ra") <= F.lit(MAX_LEVELS)) | ((r == 0) & (F.col("rn") <= listed))
        picked = ranked.where(kept | ((k == 0) & (F.col("rg") <= listed))).collect()
    finally:
        joined.unpersist()
    for name, counts in out.items():
        i = columns.index(name)
        rows = [row for row in picked if row["c"] == i]
        counts.top = [(row["v"], float(row["r"]), float(row["k"])) for row in sorted(rows, key=lambda x: x["ra"])]
        counts.top = counts.top[:MAX_LEVELS]
        counts.new = [(x["v"], float(x["k"])) for x in sorted(rows, key=lambda x: x["rn"]) if x["r"] == 0]
        counts.vanished = [(x["v"], float(x["r"])) for x in sorted(rows, key=lambda x: x["rg"]) if x["k"] == 0]
    return out


def category_drift(result: ColumnDrift, counts: LevelCounts | None, ref_count: int, cur_count: int) -> None:
    """The pandas engine's categorical assembly (drift.categorical_levels / categorical_table) from the counts."""
    counts = counts or LevelCounts()
    levels = drift.LevelSummary(counts.n_ref_levels, ref_count, cur_count)
    if not drift.categorical_levels(result, levels):
        return
    new = ([v for v, _ in counts.new], counts.n_new)
    vanished = ([v for v, _ in counts.vanished], counts.n_vanished)
    drift.categorical_table(result, levels, new, vanished, lambda: _table(counts))


def _table(counts: LevelCounts) -> np.ndarray:
    """2 x levels counts (drift.category_table's form): the largest levels, the rest pooled from the totals."""
    top = counts.top
    if counts.n_levels > MAX_LEVELS:
        head = top[: MAX_LEVELS - 1]
        rest_r = counts.ref_total - sum(x[1] for x in head)
        rest_c = counts.cur_total - sum(x[2] for x in head)
        top = [*head, ("(other)", rest_r, rest_c)]
    return np.array([[x[1] for x in top], [x[2] for x in top]], dtype=float)
