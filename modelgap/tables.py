"""Reading sample data (CSV, Parquet) with content checks, row caps and chunked iteration."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from modelgap.errors import DataError
from modelgap.options import DEFAULT_CHUNK_ROWS
from modelgap.values import one_line

PARQUET_MAGIC = b"PAR1"


def detect_format(path: Path) -> str:
    """'parquet' or 'csv', judged by content (the extension is only a hint)."""
    if not path.exists():
        raise DataError(f"No data file at {path}.", "Check the path to the sample data.")
    if path.is_dir():
        if any(path.glob("*.parquet")):
            return "parquet"
        raise DataError(f"{path} is a directory without Parquet files.", "Point at a CSV or Parquet file.")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes).", "Export the sample data again.")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if b"\x00" in head:
        raise DataError(
            f"{path} is neither CSV nor Parquet (it looks binary).", "Export the sample data as CSV or Parquet."
        )
    return "csv"


def _csv_options(path: Path) -> tuple[str, str]:
    """Delimiter and encoding sniffed from the first bytes, so `;` files and Latin-1 files read right."""
    raw = path.read_bytes()[:65536]
    encoding = "utf-8"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        encoding = "latin-1"
    try:
        dialect = csv.Sniffer().sniff("\n".join(text.splitlines()[:20]), delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    return sep, encoding


def check_table(path: str | Path) -> None:
    """Fail early, before any slow model loading, when the data file cannot be read: reads a few rows."""
    read_table(path, max_rows=5)


def read_table(path: str | Path, *, max_rows: int | None = None) -> pd.DataFrame:
    """The first `max_rows` rows (all when None) of a CSV or Parquet file."""
    p = Path(path).expanduser()
    fmt = detect_format(p)
    try:
        if fmt == "parquet":
            df = _read_parquet(p, max_rows)
        else:
            sep, encoding = _csv_options(p)
            df = pd.read_csv(p, nrows=max_rows, sep=sep, encoding=encoding)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p} could not be read as {fmt.upper()} ({type(exc).__name__}: {one_line(exc)}).",
            "Check the file's format, delimiter and encoding.",
        ) from exc
    _check_frame(df, p)
    return df


def iter_table(
    path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, max_rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """Chunks of at most `chunk_rows` rows, so large files run in bounded memory. Index = 0-based row position."""
    p = Path(path).expanduser()
    fmt = detect_format(p)
    seen = 0
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            files = sorted(p.glob("*.parquet")) if p.is_dir() else [p]
            for file in files:
                for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows):
                    chunk = batch.to_pandas()
                    chunk, seen, done = _positioned(chunk, seen, max_rows)
                    if len(chunk):
                        yield chunk
                    if done:
                        return
        else:
            sep, encoding = _csv_options(p)
            reader = pd.read_csv(p, chunksize=chunk_rows, sep=sep, encoding=encoding)
            for chunk in reader:
                chunk, seen, done = _positioned(chunk, seen, max_rows)
                if len(chunk):
                    yield chunk
                if done:
                    return
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"{p} could not be read as {fmt.upper()} ({type(exc).__name__}: {one_line(exc)}).",
            "Check the file's format, delimiter and encoding.",
        ) from exc


def _positioned(chunk: pd.DataFrame, seen: int, max_rows: int | None) -> tuple[pd.DataFrame, int, bool]:
    if max_rows is not None and seen + len(chunk) >= max_rows:
        chunk = chunk.iloc[: max_rows - seen]
        done = True
    else:
        done = False
    chunk.index = pd.RangeIndex(seen, seen + len(chunk))
    return chunk, seen + len(chunk), done


def _read_parquet(p: Path, max_rows: int | None) -> pd.DataFrame:
    if max_rows is None:
        return pd.read_parquet(p)
    chunks = list(iter_table(p, chunk_rows=min(max_rows, DEFAULT_CHUNK_ROWS), max_rows=max_rows))
    return pd.concat(chunks) if chunks else pd.DataFrame()


def _check_frame(df: pd.DataFrame, p: Path) -> None:
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError(f"{p} has no data rows.", "Export a sample with at least one row and a header.")
    if df.shape[1] == 1 and any(d in str(df.columns[0]) for d in ",;\t|"):
        raise DataError(
            f"{p} was read as a single column {str(df.columns[0])[:60]!r}: the delimiter was not recognised.",
            "Use comma, semicolon, tab or pipe as the delimiter.",
        )
