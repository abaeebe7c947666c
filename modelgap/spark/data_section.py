"""The `data` section on Spark: the pandas engine's builder (lineage, relation, schema, diagnosis: the same code)
reading its datasets in Spark and measuring drift with Spark aggregations (modelgap.spark.drift).

A pair of Spark tables is measured in Spark; a pair with a CSV file (read by the pandas engine's bounded reader)
falls back to the pandas engine's measures on the two samples, with a note. Nothing is raised for bad data:
an unreadable dataset or a failed Spark job becomes a line in the section's errors, as on the pandas engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelgap.data.drift import ColumnDrift
from modelgap.data.pairs import DatasetDrift, compare_tables
from modelgap.data.sampling import TableSample
from modelgap.data.section import DataEngine, build_data
from modelgap.spark.data_tables import SparkTable, SparkTableReader
from modelgap.spark.frames import spark_failures

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from modelgap.comparison import Comparison, ProgressFn


class SparkDrift:
    """DataEngine.compare for the Spark engine: Spark measures for two Spark tables, else the pandas engine's."""

    def __init__(self, relative_error: float | None = None) -> None:
        self.relative_error = relative_error  # approxQuantile's (options.spark.quantile_error)
        self._target: str | None = None
        self._stash: dict[tuple[int, int], ColumnDrift] = {}

    def measure(self, reference: TableSample, current: TableSample, columns: list[str]) -> list[ColumnDrift]:
        """compare_tables' measure. The target column (asked for next, on its own) is measured in the same Spark
        jobs as the inputs and kept until then: ranking is per column, so the inputs' order is unchanged."""
        from modelgap.spark.drift import compare_spark_columns

        assert isinstance(reference, SparkTable) and isinstance(current, SparkTable)
        key = (id(reference), id(current))
        if key in self._stash and columns == [self._stash[key].column]:
            return [self._stash.pop(key)]
        target = self._target
        if target is None or target in columns or target not in reference.columns or target not in current.columns:
            return compare_spark_columns(reference, current, columns, self.relative_error)
        found = compare_spark_columns(reference, current, [*columns, target], self.relative_error)
        self._stash[key] = next(d for d in found if d.column == target)
        return [d for d in found if d.column != target]

    def __call__(
        self,
        reference: TableSample,
        current: TableSample,
        *,
        kind: str,
        columns: list[str] | None = None,
        target: str | None = None,
    ) -> DatasetDrift:
        if not (isinstance(reference, SparkTable) and isinstance(current, SparkTable)):
            pair = compare_tables(reference, current, kind=kind, columns=columns, target=target)
            pandas_read = [t.label for t in (reference, current) if not isinstance(t, SparkTable)]
            pair.notes.append(
                f"Spark engine: the {' and the '.join(pandas_read)} could not be read in Spark (CSV, or a frame Spark "
                "cannot type), so this pair was compared on the pandas engine's bounded samples."
            )
            return pair
        self._target = target
        try:
            with spark_failures():
                pair = compare_tables(
                    reference, current, kind=kind, columns=columns, target=target, measure=self.measure
                )
        finally:
            self._target = None
            self._stash.clear()
        pair.reference_rows_used, pair.current_rows_used = reference.n_rows, current.n_rows
        if reference.sampled or current.sampled:
            pair.notes.append(
                "Spark engine: PSI, missing rates, means and category levels use every row; KS and Wasserstein use "
                f"the uniform samples ({len(reference.frame):,} and {len(current.frame):,} rows)."
            )
        return pair


def spark_data_engine(spark: SparkSession, relative_error: float | None = None) -> tuple[DataEngine, SparkTableReader]:
    """A DataEngine that reads through Spark and measures drift in Spark, and its reader (for cleanup)."""
    reader = SparkTableReader(spark)
    drift = SparkDrift(relative_error)
    return DataEngine(read_file=reader.read_file, read_frame=reader.read_frame, compare=drift), reader


def build_data_spark(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (engine "spark"): comparison.sections.data; bad data becomes a line in its errors, and a
    failure of the whole section (no Spark session) is recorded by modelgap.pipeline."""
    from modelgap.spark.session import get_session

    spark = get_session(comparison.options.spark.master)
    engine, reader = spark_data_engine(spark, comparison.options.spark.quantile_error)
    try:
        build_data(comparison, progress, engine)
    finally:
        reader.release()
    result = comparison.sections.data
    if result is not None and reader.csv_sources:
        result.notes.append(
            "Spark engine: read by the pandas engine's bounded reader (the Spark engine reads Parquet and tables): "
            + ", ".join(reader.csv_sources)
            + "."
        )
