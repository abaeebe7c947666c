"""Per-column drift between two Spark DataFrames, with the pandas engine's definitions (modelgap.data.drift),
giving the same ColumnDrift objects as compare_column.

What runs in Spark, over every row:
- missing rates (null; for float columns also NaN and ±inf) and means of the finite values: one aggregation per
  table, computed once per table;
- numeric PSI: the reference's deciles from `approxQuantile`, then one aggregation per table counting the rows
  in each right-closed bin. numpy's linear-interpolated quantile at q lies between the order statistics
  floor((n-1)q) and the next one; both are asked of approxQuantile (the k-th, 0-based, at probability
  (k + 0.5) / n) and interpolated with numpy itself, so with relative error 0 the edges, counts and PSI equal
  the pandas engine's bit for bit;
- category levels: one stacked count per (column, level) per table. A column with at most FEW_LEVELS (1,000)
  levels in a table has its counts collected once per table; otherwise the two tables' counts are joined and
  ranked in Spark and only bounded pieces collected: the MAX_LEVELS largest levels (the rest pooled from the
  totals, as category_table pools them), the MAX_LISTED_LEVELS largest new and vanished levels, and the level
  counts. PSI, chi-square and the lists are computed on the driver as drift.py does. Ties in level counts are
  broken by the level's text (the pandas engine's order for ties is its value_counts order).

KS and Wasserstein use the bounded samples the section already holds (the pandas engine's own uniform sample,
default 200,000 rows per dataset; every row below that): both need the two empirical CDFs over every distinct
value, i.e. a global sort or a range-partitioned prefix sum of per-value counts (one more shuffle of up to
n rows per column), and ks_2samp's p-value (which caps the severity) is defined on that sample size too.
On data within the row budget they equal the pandas engine's numbers exactly.

Relative error of approxQuantile: `options.spark.quantile_error` when given; else 0 (exact order statistics)
for a column with at most EXACT_QUANTILE_ROWS non-missing reference values, APPROX_QUANTILE_ERROR above (exact
quantiles hold every value of the column in one task's memory). Timestamps are compared as seconds since the
epoch. Decimals are compared as categories, as the pandas engine reads them (Python Decimal objects).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from modelgap.data import drift
from modelgap.data.drift import MAX_LEVELS, MAX_LISTED_LEVELS, PSI_BINS, ColumnDrift
from modelgap.spark.drift_levels import category_drift, level_counts

if TYPE_CHECKING:
    from pyspark.sql import Column
    from pyspark.sql.types import DataType

    from modelgap.spark.data_tables import SparkTable

EXACT_QUANTILE_ROWS = 1_000_000
APPROX_QUANTILE_ERROR = 1e-4
_FLOATS = ("FloatType", "DoubleType")
_NUMBERS = ("ByteType", "ShortType", "IntegerType", "LongType", *_FLOATS)
_TIMES = ("TimestampType", "TimestampNTZType")


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def type_name(dtype: DataType) -> str:
    return type(dtype).__name__


def is_numeric(dtype: DataType) -> bool:
    """Compared as numbers: what pandas reads as a numeric (non-bool) or datetime column."""
    return type_name(dtype) in _NUMBERS or type_name(dtype) in _TIMES


def value(name: str, dtype: DataType) -> Column:
    """The column as a double where it is a finite number, else null (numbers and timestamps only)."""
    from pyspark.sql import functions as F

    c = F.col(quote(name))
    v = F.unix_micros(c.cast("timestamp")) / F.lit(1e6) if type_name(dtype) in _TIMES else c.cast("double")
    if type_name(dtype) not in _FLOATS:
        return v
    return F.when(~F.isnan(v) & (F.abs(v) != F.lit(math.inf)), v)


def missing(name: str, dtype: DataType) -> Column:
    """The pandas engine's missing mask: null, and for float columns NaN and ±inf."""
    from pyspark.sql import functions as F

    return value(name, dtype).isNull() if type_name(dtype) in _FLOATS else F.col(quote(name)).isNull()


@dataclass
class ColumnStats:
    n: int  # rows of the table
    missing: int
    mean: float | None  # of the finite values (numbers and timestamps only)

    @property
    def count(self) -> int:
        return self.n - self.missing


def column_stats(table: SparkTable) -> dict[str, ColumnStats]:
    """Missing counts and means of every column, in one aggregation, computed once per table."""
    if "stats" not in table.cache:
        from pyspark.sql import functions as F

        fields = [f for f in table.df.schema.fields if f.name in table.columns]
        exprs = [F.count(F.lit(1))]
        for f in fields:
            exprs.append(F.count(F.when(missing(f.name, f.dataType), 1)))
            exprs.append(F.avg(value(f.name, f.dataType)) if is_numeric(f.dataType) else F.lit(None))
        row = table.df.agg(*exprs).first()
        assert row is not None
        n = int(row[0])
        table.cache["stats"] = {
            f.name: ColumnStats(n, int(row[1 + 2 * i]), _float(row[2 + 2 * i])) for i, f in enumerate(fields)
        }
    stats_by_column: dict[str, ColumnStats] = table.cache["stats"]
    return stats_by_column


def _float(v: Any) -> float | None:
    return float(v) if v is not None else None


def quantile_error(given: float | None, count: int) -> float:
    if given is not None:
        return float(given)
    return 0.0 if count <= EXACT_QUANTILE_ROWS else APPROX_QUANTILE_ERROR


def _order_stats(count: int) -> list[tuple[int, int, float]]:
    """(lower, upper, gamma) of each inner decile, computed as numpy's 'linear' method computes them."""
    qs = np.linspace(0, 1, PSI_BINS + 1)[1:-1]
    virtual = (count - 1) * qs
    out = []
    for v in virtual:
        if v >= count - 1:
            out.append((count - 1, count - 1, 0.0))
            continue
        lower = int(np.floor(v))
        out.append((lower, lower + 1, float(v - np.floor(v))))
    return out


def quantile_edges(table: SparkTable, columns: list[str], relative_error: float | None) -> dict[str, np.ndarray]:
    """Inner PSI edges of each column (numpy's quantile_edges on every non-missing value), cached per table."""
    cached: dict[tuple[str, float], np.ndarray] = table.cache.setdefault("edges", {})
    stats_by_column = column_stats(table)
    dtypes = {f.name: f.dataType for f in table.df.schema.fields}
    errors = {c: quantile_error(relative_error, stats_by_column[c].count) for c in columns}
    groups: dict[tuple[int, float], list[str]] = {}
    for c in columns:
        n = stats_by_column[c].count
        if n > 0 and (c, errors[c]) not in cached:
            groups.setdefault((n, errors[c]), []).append(c)
    for (n, err), names in groups.items():
        plan = _order_stats(n)
        ranks = sorted({k for lo, hi, _ in plan for k in (lo, hi)})
        probs = [(k + 0.5) / n for k in ranks]
        aliases = [f"q{i}" for i in range(len(names))]
        frame = table.df.select(*[value(c, dtypes[c]).alias(a) for c, a in zip(names, aliases, strict=True)])
        found = frame.approxQuantile(aliases, probs, err)
        for c, values in zip(names, found, strict=True):
            at = dict(zip(ranks, values, strict=True))
            edges = [float(np.quantile(np.array([at[lo], at[hi]]), gamma)) for lo, hi, gamma in plan]
            cached[(c, err)] = np.unique(np.array(edges))
    return {c: cached[(c, errors[c])] for c in columns if (c, errors[c]) in cached}


def bin_counts(table: SparkTable, edges: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows of each column in the right-closed bins (-inf, e0], (e0, e1], ..., (e_last, inf), one aggregation
    for the columns not yet counted with these edges (cached on the table)."""
    cached: dict[tuple[str, bytes], np.ndarray] = table.cache.setdefault("bins", {})
    todo = {c: e for c, e in edges.items() if (c, e.tobytes()) not in cached}
    for c, counts in _count_bins(table, todo).items():
        cached[(c, todo[c].tobytes())] = counts
    return {c: cached[(c, e.tobytes())] for c, e in edges.items()}


def _count_bins(table: SparkTable, edges: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from pyspark.sql import functions as F

    dtypes = {f.name: f.dataType for f in table.df.schema.fields}
    exprs: list[Column] = []
    spans: dict[str, tuple[int, int]] = {}
    for c, e in edges.items():
        v = value(c, dtypes[c])
        conds = [v <= F.lit(float(e[0]))]
        conds += [(v > F.lit(float(a))) & (v <= F.lit(float(b))) for a, b in itertools.pairwise(e)]
        conds.append(v > F.lit(float(e[-1])))
        spans[c] = (len(exprs), len(exprs) + len(conds))
        exprs += [F.count(F.when(cond, 1)) for cond in conds]
    if not exprs:
        return {}
    row = table.df.agg(*exprs).first()
    assert row is not None
    return {c: np.array([row[i] for i in range(a, b)], dtype=float) for c, (a, b) in spans.items()}


def compare_spark_columns(
    reference: SparkTable, current: SparkTable, columns: list[str], relative_error: float | None = None
) -> list[ColumnDrift]:
    """Drift of `columns` between two SparkTables, most drifted first (drift.compare_frames' order)."""
    ref_types = {f.name: f.dataType for f in reference.df.schema.fields}
    cur_types = {f.name: f.dataType for f in current.df.schema.fields}
    ref_stats, cur_stats = column_stats(reference), column_stats(current)
    results: dict[str, ColumnDrift] = {}
    numeric, categorical = [], []
    for c in columns:
        r, k = ref_stats[c], cur_stats[c]
        res = results[c] = drift.new_column(c, (r.n, r.missing), (k.n, k.missing))
        ref_num, cur_num = is_numeric(ref_types[c]), is_numeric(cur_types[c])
        if ref_num and cur_num:
            numeric.append(c)
            continue
        categorical.append(c)
        if ref_num != cur_num:
            res.note = f"numbers in the {'reference' if ref_num else 'current'} table only: compared as categories"
    _numeric(reference, current, numeric, results, relative_error)
    if categorical:
        counts = level_counts(reference, current, categorical, ref_stats, cur_stats)
        for c in categorical:
            res = results[c]
            note = res.note
            res.note = None
            category_drift(res, counts.get(c), ref_stats[c].count, cur_stats[c].count)
            if note:
                res.note = f"{note}; {res.note}" if res.note else note
    for res in results.values():
        drift.set_severity(res)
    return drift.rank_columns([results[c] for c in columns])


def _numeric(
    reference: SparkTable,
    current: SparkTable,
    columns: list[str],
    results: dict[str, ColumnDrift],
    relative_error: float | None,
) -> None:
    ref_stats, cur_stats = column_stats(reference), column_stats(current)
    both = []
    for c in columns:
        res = results[c]
        res.reference_mean, res.current_mean = ref_stats[c].mean, cur_stats[c].mean
        if ref_stats[c].count and cur_stats[c].count:
            both.append(c)
        else:
            res.note = drift.NO_VALUES
    if not both:
        return
    edges = quantile_edges(reference, both, relative_error)
    ref_bins, cur_bins = bin_counts(reference, edges), bin_counts(current, edges)
    for c in both:
        res = results[c]
        r_shares = ref_bins[c] / max(ref_stats[c].count, 1)
        c_shares = cur_bins[c] / max(cur_stats[c].count, 1)
        res.psi = drift.psi_from_shares(r_shares, c_shares)
        _distances(res, drift.finite_numbers(reference.frame[c]), drift.finite_numbers(current.frame[c]))


def _distances(res: ColumnDrift, ref: np.ndarray, cur: np.ndarray) -> None:
    """KS and Wasserstein on the samples (finite values, timestamps as seconds, like the Spark side)."""
    if not len(ref) or not len(cur):
        extra = "KS and Wasserstein not computed: no non-missing value in one side's sample"
        res.note = f"{res.note}; {extra}" if res.note else extra
        return
    drift.distances(res, ref, cur)


__all__ = ["MAX_LEVELS", "MAX_LISTED_LEVELS", "compare_spark_columns", "quantile_edges"]
