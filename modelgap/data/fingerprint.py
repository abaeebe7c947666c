"""Fingerprints of a dataset, so two models' training data can be told apart: the MD5 of a file's bytes
(what DVC records) and MLflow's dataset digest (what `mlflow.log_input` records), computed while streaming.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MLFLOW_DIGEST_ROWS = 10_000  # mlflow.data.digest_utils.MAX_ROWS: MLflow hashes the first 10k rows
MD5_MAX_BYTES = 1024**3  # files larger than this are not hashed (seconds per GB of I/O for a fingerprint)


def file_md5(path: str | Path, max_bytes: int = MD5_MAX_BYTES) -> str | None:
    """MD5 of the file's bytes (DVC's `md5` for a file), or None for a directory or a file above `max_bytes`."""
    p = Path(path)
    if not p.is_file() or p.stat().st_size > max_bytes:
        return None
    md5 = hashlib.md5(usedforsecurity=False)
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            md5.update(block)
    return md5.hexdigest()


class MlflowDigest:
    """MLflow's pandas dataset digest (mlflow.data.digest_utils.compute_pandas_digest), fed chunk by chunk.

    MLflow hashes the first 10k rows of the string and numeric columns, the row count and the column names of
    the frame it was given. Reading a file in chunks can type a column differently per chunk (an integer
    column with a NaN further down is float when read whole), so the first rows are cast to the type the
    whole column would get before hashing. A frame MLflow was given before it was written to disk may still
    hash differently (other dtypes), so a mismatch means "not shown to be equal", never "different" alone.
    """

    def __init__(self) -> None:
        self.head: pd.DataFrame | None = None
        self.n_rows = 0
        self.columns: list[str] = []
        self.all_str: dict[str, bool] = {}
        self.dtypes: dict[str, list[Any]] = {}

    def update(self, chunk: pd.DataFrame) -> None:
        if self.head is None:
            self.columns = [str(c) for c in chunk.columns]
            self.head = chunk.iloc[:MLFLOW_DIGEST_ROWS].copy()
        elif len(self.head) < MLFLOW_DIGEST_ROWS:
            self.head = pd.concat([self.head, chunk.iloc[: MLFLOW_DIGEST_ROWS - len(self.head)]])
        self.n_rows += len(chunk)
        for col in chunk.columns:
            s = chunk[col]
            is_str = bool(s.notna().all()) and pd.api.types.infer_dtype(s, skipna=True) == "string"
            self.all_str[str(col)] = self.all_str.get(str(col), True) and is_str
            self.dtypes.setdefault(str(col), []).append(s.dtype)

    def hexdigest(self) -> str | None:
        if self.head is None:
            return None
        head = self.head.copy()
        head.columns = self.columns
        numeric: list[str] = []
        for col in self.columns:
            kinds = self.dtypes[col]
            if all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in kinds):
                final = np.result_type(*kinds)
                if head[col].dtype != final:
                    head[col] = head[col].astype(final)
                numeric.append(col)
        strings = [c for c in self.columns if self.all_str.get(c)]
        desired = pd.Index(strings).union(pd.Index(numeric))
        md5 = hashlib.md5(usedforsecurity=False)
        md5.update(np.ascontiguousarray(pd.util.hash_pandas_object(head[desired]).to_numpy()).tobytes())
        md5.update(np.int64(self.n_rows).tobytes())
        for col in self.columns:
            md5.update(col.encode())
        return md5.hexdigest()[:8]
