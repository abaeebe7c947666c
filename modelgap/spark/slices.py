"""The per-column slice table over every row, as Spark aggregations.

The slices are defined on the collected uniform sample with the pandas engine's own `find_slices` (which
columns are categories, the quantile edges of the others, the 20 most frequent levels); then every scored row is
counted into them on the executors, after the pandas engine's own input conversion (`prepare_chunk`), and the
counts are summed in Spark. A column's first and last range reach its smallest and largest value over all rows.
When the sample holds every row this is the pandas engine's table exactly; when it does not, counts, rates, lift
and z cover every row while the edges and the listed levels come from the sample.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.predictions.schema import InputPlan, prepare_chunk
from modelgap.predictions.slices import Slice, find_slices, range_label, slice_stats
from modelgap.spark.remote_errors import carried

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

DISAGREE = "__mg_disagree"
LIMIT = 100  # slices kept, as find_slices' default


@dataclass(frozen=True)
class SliceCounter:
    """Pickled to the executors: the slice definitions and how raw rows become the model inputs."""

    slices: tuple[Slice, ...]
    plan: InputPlan
    columns: tuple[str, ...]

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            with carried():
                yield self.count(batch)

    def count(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Per slice: rows and disagreements in this batch; per range column: its finite min and max."""
        frame = prepare_chunk(batch[list(self.columns)], self.plan)
        disagree = batch[DISAGREE].to_numpy(dtype=bool)
        finite: dict[str, np.ndarray] = {}  # range columns: finite converted values (inf is never in a range)
        reach: dict[str, tuple[float | None, float | None]] = {}  # range columns: (min, max) of those values
        for column in dict.fromkeys(s.column for s in self.slices if s.kind == "range"):
            x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            finite[column] = np.isfinite(x)
            values = x[finite[column]]
            reach[column] = (float(values.min()), float(values.max())) if len(values) else (None, None)
        lows = [reach[s.column][0] if s.kind == "range" else None for s in self.slices]
        highs = [reach[s.column][1] if s.kind == "range" else None for s in self.slices]
        ids, rows, hits = [], [], []
        for i, s in enumerate(self.slices):
            mask = whole_range(s, self.slices).mask(frame)
            if s.kind == "range":
                mask = mask & finite[s.column]
            ids.append(i)
            rows.append(int(mask.sum()))
            hits.append(int((mask & disagree).sum()))
        return pd.DataFrame({"slice": ids, "n": rows, "k": hits, "lo": lows, "hi": highs})


def column_ranges(column: str, slices: tuple[Slice, ...] | list[Slice]) -> list[Slice]:
    """A column's range slices in value order (find_slices lists them by z)."""
    return sorted(
        (t for t in slices if t.column == column and t.kind == "range"),
        key=lambda t: -np.inf if t.low is None else t.low,
    )


def whole_range(s: Slice, slices: tuple[Slice, ...]) -> Slice:
    """A column's first range open below and its last open above, so that every finite value is counted."""
    if s.kind != "range":
        return s
    ranges = column_ranges(s.column, slices)
    low = -np.inf if s is ranges[0] else s.low
    high = np.inf if s is ranges[-1] else s.high
    return dataclasses.replace(s, low=low, high=high)


def counts_schema() -> StructType:
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    return StructType(
        [
            StructField("slice", LongType()),
            StructField("n", LongType()),
            StructField("k", LongType()),
            StructField("lo", DoubleType()),
            StructField("hi", DoubleType()),
        ]
    )


def whole_data_slices(
    scored: DataFrame,
    disagree: Column,
    plan: InputPlan,
    sample: pd.DataFrame,
    sample_disagree: np.ndarray,
    n_rows: int,
    n_disagree: int,
) -> list[Slice]:
    """The slice table over all `n_rows` scored rows (see the module doc), most over-represented first."""
    from pyspark.sql import functions as F

    definitions = find_slices(sample, sample_disagree, limit=None)
    overall = n_disagree / n_rows if n_rows else 0.0
    if not definitions or overall in (0.0, 1.0):
        return []
    columns = tuple(c for c in sample.columns if c in scored.columns)
    counter = SliceCounter(tuple(definitions), dataclasses.replace(plan, target=None, unseen={}), columns)
    selected = scored.select(*[F.col(f"`{c}`") for c in columns], disagree.alias(DISAGREE))
    totals = (
        selected.mapInPandas(counter, counts_schema())
        .groupBy("slice")
        .agg(F.sum("n").alias("n"), F.sum("k").alias("k"), F.min("lo").alias("lo"), F.max("hi").alias("hi"))
        .collect()
    )
    found = {int(r["slice"]): r for r in totals}
    out = []
    for i, s in enumerate(definitions):
        r = found.get(i)
        n, k = (int(r["n"]), int(r["k"])) if r is not None else (0, 0)
        if n == 0:
            continue
        whole = dataclasses.replace(s, **slice_fields(n, k, overall))
        if s.kind == "range":
            whole = _reach(whole, definitions, r)
        out.append(whole)
    out.sort(key=lambda s: (-s.z, -s.n_rows, s.column, s.label))
    return out[:LIMIT]


def slice_fields(n: int, k: int, overall: float) -> dict[str, Any]:
    n_rows, n_disagree, rate, lift, z = slice_stats(n, float(k), overall)
    return {"n_rows": n_rows, "n_disagree": n_disagree, "rate": rate, "lift": lift, "z": z}


def _reach(s: Slice, definitions: list[Slice], counted: Any) -> Slice:
    """The first range starts at the column's smallest value over all rows, the last ends at its largest."""
    ranges = column_ranges(s.column, definitions)
    i = next(j for j, t in enumerate(ranges) if t.label == s.label)
    low, high = s.low, s.high
    assert low is not None and high is not None
    if i == 0 and counted["lo"] is not None:
        low = min(low, float(counted["lo"]))
    if i == len(ranges) - 1 and counted["hi"] is not None:
        high = max(high, float(counted["hi"]))
    label = range_label(low, high, first=s.closed_low, integer=s.integer)
    return dataclasses.replace(s, low=low, high=high, label=label)
