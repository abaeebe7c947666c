"""The data section's datasets read in Spark: every row stays on the cluster as a DataFrame, and only a bounded
uniform sample (the pandas engine's own sample: the same rows) comes to the driver for KS, Wasserstein and charts.

`SparkTable` is a TableSample (its `frame` is the sample, as the pandas engine's section expects) that also
holds `df`, the whole dataset in Spark. `SparkTableReader` has read_sample's and sample_frame's signatures, so
the pandas section builder reads through it unchanged. A CSV file is read by the pandas engine's own bounded
reader (the Spark engine reads Parquet and tables only) and stays a plain TableSample; pairs with it fall back
to the pandas engine's measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.data.fingerprint import MLFLOW_DIGEST_ROWS, MlflowDigest
from modelgap.data.sampling import DEFAULT_ROW_BUDGET, TableSample, read_sample, sample_frame
from modelgap.errors import DataError
from modelgap.spark.frames import ROW, is_table_name, load_rows, spark_failures
from modelgap.tables import detect_format, iter_table
from modelgap.values import one_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_KEY = "__modelgap_key"
_INTEGRAL = ("ByteType", "ShortType", "IntegerType", "LongType")


@dataclass
class SparkTable(TableSample):
    """A dataset in Spark (`df`, every row, with the ROW position column) and its bounded sample (`frame`)."""

    df: Any = None  # pyspark DataFrame
    cache: dict[Any, Any] = field(default_factory=dict)  # per-table facts computed once (column stats, edges)

    @property
    def columns(self) -> list[str]:
        return [c for c in self.df.columns if c != ROW]

    def notice(self) -> str | None:
        """What the sample covers here: unlike the pandas engine's, most measures use every row."""
        every = f"The {self.label} has {self.n_rows:,} rows: PSI, missing rates, means and category levels use"
        some = f"KS, Wasserstein and the charts use a uniform random sample of {len(self.frame):,}."
        return f"{every} all of them (Spark); {some}" if self.sampled else None


def is_csv(source: str) -> bool:
    """A local CSV file: the Spark engine leaves it to the pandas engine's bounded reader."""
    if "://" in source or is_table_name(source):
        return False
    path = Path(source).expanduser()
    return path.is_file() and detect_format(path) == "csv"


@dataclass
class SparkTableReader:
    """read_file / read_frame for the data section's DataEngine, on one Spark session."""

    spark: SparkSession
    csv_sources: list[str] = field(default_factory=list)  # files read by the pandas engine instead
    persisted: list[Any] = field(default_factory=list)  # DataFrames cached while the section is built

    def release(self) -> None:
        """Unpersist every DataFrame this reader cached (the samples on the driver stay)."""
        while self.persisted:
            self.persisted.pop().unpersist()

    def read_file(self, path: str | Path, **options: Any) -> TableSample:
        """A Parquet file/dir/URI or a catalog table in Spark; a CSV file through the pandas engine's reader.
        `options`: read_sample's keywords (label, budget, seed, max_rows, chunk_rows, digest)."""
        source = str(path)
        if is_csv(source):
            self.csv_sources.append(source)
            return read_sample(path, **options)
        label: str = options["label"]
        budget: int = options.get("budget", DEFAULT_ROW_BUDGET)
        seed: int = options.get("seed", 0)
        max_rows: int | None = options.get("max_rows")
        digest: bool = options.get("digest", True)
        if budget < 1:
            raise DataError(f"The row budget for the {label} must be at least 1 (got {budget}).", "Raise the budget.")
        df = load_rows(self.spark, data_path=source, max_rows=max_rows)
        with spark_failures():
            return self._table(df, label=label, budget=budget, seed=seed, source=source, digest=digest)

    def read_frame(
        self, frame: pd.DataFrame, *, label: str, budget: int = DEFAULT_ROW_BUDGET, seed: int = 0
    ) -> TableSample:
        """An in-memory frame: the pandas engine's sample as `frame`, every row as a Spark DataFrame."""
        sample = sample_frame(frame, label=label, budget=budget, seed=seed)
        try:
            df = load_rows(self.spark, data=frame)
        except Exception as exc:  # noqa: BLE001 - a column Spark cannot type: the pandas engine measures it
            note = f"{type(exc).__name__}: {one_line(exc)}"
            self.csv_sources.append(f"the in-memory {label} (Spark could not take it: {note})")
            return sample
        return SparkTable(label=sample.label, frame=sample.frame, n_rows=sample.n_rows, source=None, df=df)

    def _table(self, df: DataFrame, *, label: str, budget: int, seed: int, source: str, digest: bool) -> SparkTable:
        from pyspark import StorageLevel

        df = df.persist(StorageLevel.DISK_ONLY)  # a whole dataset: see predictions.py on memory levels
        self.persisted.append(df)
        n_rows = int(df.count())
        if n_rows == 0:
            raise DataError(f"The {label} at {source} has no data rows.", "Point at data with some rows.")
        frame = _collect_sample(df, n_rows, budget, seed)
        table = SparkTable(label=label, frame=frame, n_rows=n_rows, source=source, df=df)
        if digest and "://" not in source and not is_table_name(source):
            table.digest = mlflow_digest(df, source, n_rows)
        return table


def _collect_sample(df: DataFrame, n_rows: int, budget: int, seed: int) -> pd.DataFrame:
    """Every row when n_rows <= budget, else the `budget` rows with the smallest keys, where row r's key is the
    r-th draw of default_rng(seed).random: the pandas engine's bottom-k sample. Index = row position."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from modelgap.spark.scoring import sample_keys

    if n_rows <= budget:
        chosen = df
    else:

        @F.pandas_udf(DoubleType())  # type: ignore[call-overload]
        def keys(rows: pd.Series) -> pd.Series:
            return pd.Series(sample_keys(rows.to_numpy(dtype=np.int64), seed))

        chosen = df.withColumn(_KEY, keys(F.col(ROW))).orderBy(_KEY).limit(budget).drop(_KEY)
    frame = chosen.toPandas().sort_values(ROW).set_index(ROW)
    frame.index = pd.Index(frame.index.to_numpy(dtype=np.int64))
    return frame


def mlflow_digest(df: DataFrame, source: str, n_rows: int) -> str | None:
    """The MLflow digest the pandas engine computes while streaming the file: the first 10,000 rows read by the
    pandas engine's reader (bounded), plus the whole-column facts it gathers chunk by chunk (row count, nulls
    that turn an integer column into floats or a text column into a mixed one) from one Spark aggregation."""
    from pyspark.sql import functions as F

    hasher = MlflowDigest()
    for chunk in iter_table(source, chunk_rows=MLFLOW_DIGEST_ROWS, max_rows=MLFLOW_DIGEST_ROWS):
        hasher.update(chunk)
    if hasher.head is None:
        return None
    fields = [f for f in df.schema.fields if f.name != ROW]
    row = df.agg(*[F.count(F.when(F.col(f"`{f.name}`").isNull(), 1)) for f in fields]).first()
    hasher.n_rows = n_rows
    for i, f in enumerate(fields):
        if row is None or not row[i]:
            continue
        hasher.all_str[f.name] = False
        if type(f.dataType).__name__ in _INTEGRAL:
            hasher.dtypes.setdefault(f.name, []).append(np.dtype("float64"))
    return hasher.hexdigest()
