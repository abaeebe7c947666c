"""The comparison's rows as a Spark DataFrame with the pandas engine's 0-based row positions.

Row positions matter: `top` breaks ties by the lower row, and the uniform sample's random keys are drawn in
row order. For Parquet (a file, or a directory read in sorted file order like the pandas engine), a row's
position is the rows of the files before it plus its `_metadata.row_index` in its own file. A table that is not
file-based gets positions per Spark partition (partition order, then order within the partition).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from modelgap.errors import DataError, ModelgapError
from modelgap.spark.session import PANDAS_ENGINE, SparkEngineError
from modelgap.tables import detect_format
from modelgap.values import one_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ROW = "__modelgap_row"
_FILE, _INDEX = "__modelgap_file", "__modelgap_index"
_TABLE_NAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*){0,2}$")


def is_table_name(source: str) -> bool:
    """`db.table`, `catalog.db.table` or `table`, and no file of that name here: a catalog table."""
    return bool(_TABLE_NAME.match(source)) and not Path(source).expanduser().exists()


def load_rows(
    spark: SparkSession,
    *,
    data: pd.DataFrame | None = None,
    data_path: str | None = None,
    max_rows: int | None = None,
) -> DataFrame:
    """The data with a ROW column of 0-based positions, cut to the first `max_rows` rows when given."""
    from pyspark.sql import functions as F

    if data is not None:
        frame = data.iloc[:max_rows] if max_rows is not None else data
        frame = frame.reset_index(drop=True).assign(**{ROW: np.arange(len(frame), dtype=np.int64)})
        return spark.createDataFrame(frame)
    if data_path is None:
        raise DataError("No sample data to compare predictions on.", "Pass --data (Parquet path or table name).")
    df = _read(spark, data_path)
    df = _positioned(df)
    if max_rows is not None:
        df = df.where(F.col(ROW) < F.lit(max_rows))
    return df


def _read(spark: SparkSession, source: str) -> DataFrame:
    """Parquet file/directory (local or a cluster URI) or a catalog table; DataError naming what is wrong."""
    if is_table_name(source):
        if not spark.catalog.tableExists(source):
            raise DataError(
                f"The table {source!r} does not exist in the Spark catalog.",
                "Check the name (db.table) with SHOW TABLES, or pass a Parquet path instead.",
            )
        return spark.table(source).select("*", *_metadata_columns(spark, source))
    local = Path(source).expanduser()
    if "://" not in source:
        if detect_format(local) != "parquet":
            raise DataError(
                f"{source} is CSV; the Spark engine reads Parquet files, directories of them, or tables.",
                f"Convert it to Parquet (pandas.read_csv(...).to_parquet(...)) or use {PANDAS_ENGINE}.",
            )
        source = str(local.resolve())
    try:
        df = spark.read.parquet(source)
        return df.select("*", df["_metadata.file_path"].alias(_FILE), df["_metadata.row_index"].alias(_INDEX))
    except Exception as exc:
        raise DataError(
            f"Spark could not read {source} as Parquet ({type(exc).__name__}: {one_line(exc)}).",
            "Check the path and that the files are Parquet.",
        ) from exc


def _metadata_columns(spark: SparkSession, table: str) -> list[object]:
    """File and row-in-file columns when the table is file-based (Parquet); [] otherwise."""
    df = spark.table(table)
    try:
        return [df["_metadata.file_path"].alias(_FILE), df["_metadata.row_index"].alias(_INDEX)]
    except Exception:  # noqa: BLE001 - not file-based (a view, a JDBC table): positions by partition instead
        return []


def _positioned(df: DataFrame) -> DataFrame:
    """Add ROW: file order (sorted paths) then row in file; else partition order then order in the partition."""
    from pyspark.sql import functions as F

    if _FILE in df.columns and _INDEX in df.columns:
        counts = sorted((r[0], int(r[1])) for r in df.groupBy(_FILE).count().collect())
        offsets, total = [], 0
        for path, n in counts:
            offsets += [F.lit(path), F.lit(total)]
            total += n
        if not counts:
            return df.drop(_FILE, _INDEX).withColumn(ROW, F.lit(0).cast("long"))
        start = F.element_at(F.create_map(*offsets), F.col(_FILE))
        return df.withColumn(ROW, (start + F.col(_INDEX)).cast("long")).drop(_FILE, _INDEX)
    part, mono = "__modelgap_part", "__modelgap_mono"
    tagged = df.withColumn(part, F.spark_partition_id()).withColumn(mono, F.monotonically_increasing_id())
    firsts = sorted(
        (int(r[0]), int(r[1]), int(r[2])) for r in tagged.groupBy(part).agg(F.min(mono), F.count("*")).collect()
    )
    pairs, total = [], 0
    for pid, first, n in firsts:
        pairs += [F.lit(pid), F.lit(total - first)]
        total += n
    if not firsts:
        return df.withColumn(ROW, F.lit(0).cast("long"))
    shift = F.element_at(F.create_map(*pairs), F.col(part))
    return tagged.withColumn(ROW, (F.col(mono) + shift).cast("long")).drop(part, mono)


def require_rows(n: int, source: str | None) -> None:
    if n == 0:
        raise DataError(
            f"The data {source or '(in memory)'} has no rows to compare.",
            "Use sample data with at least one row and a header.",
        )


@contextmanager
def spark_failures() -> Iterator[None]:
    """Run Spark work; a job's failure leaves as one-line ModelgapError (ours pass through unchanged).
    MODELGAP_DEBUG=1 keeps the original exception and its stacks."""
    try:
        yield
    except ModelgapError:
        raise
    except Exception as exc:
        if os.environ.get("MODELGAP_DEBUG"):
            raise
        raise unwrap_executor_error(exc) from None


def unwrap_executor_error(exc: BaseException) -> Exception:
    """A Spark job's failure as one line: our own errors come back as they were raised, others with the model's
    message rather than the JVM stack."""
    from modelgap.spark.remote_errors import decode

    return decode(exc) or SparkEngineError(
        f"A Spark job failed: {type(exc).__name__}: {_last_line(str(exc))}",
        "Set MODELGAP_DEBUG=1 for the full traceback.",
    )


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("at ", "File "))]
    return (lines[-1] if lines else text)[:300]
