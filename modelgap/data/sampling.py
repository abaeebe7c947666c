"""Read a dataset on a row budget: stream the file in chunks and keep a uniform, seeded random sample.

Memory stays bounded by the budget plus one chunk, whatever the file's size: every row gets a random key and
the `budget` rows with the smallest keys are kept (bottom-k sampling: uniform, without replacement).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelgap.data.fingerprint import MlflowDigest
from modelgap.errors import DataError
from modelgap.options import DEFAULT_CHUNK_ROWS, DEFAULT_ROW_BUDGET
from modelgap.tables import iter_table


@dataclass
class TableSample:
    """Rows of one dataset used for the distribution comparison, and what is known of the whole file."""

    label: str  # what the dataset is to the user: "repo training data", "sample data", ...
    frame: pd.DataFrame  # at most `budget` rows, in file order; index = 0-based row position in the file
    n_rows: int  # rows in the whole file (or up to max_rows)
    source: str | None = None  # the path read, None for an in-memory frame
    digest: str | None = None  # MLflow-compatible digest of what was read, when computed

    @property
    def sampled(self) -> bool:
        return len(self.frame) < self.n_rows

    def notice(self) -> str | None:
        if not self.sampled:
            return None
        return (
            f"The {self.label} has {self.n_rows:,} rows: distributions are compared on a uniform random sample "
            f"of {len(self.frame):,} of them."
        )


def _keep_smallest(frame: pd.DataFrame, keys: np.ndarray, budget: int) -> tuple[pd.DataFrame, np.ndarray]:
    if len(frame) <= budget:
        return frame, keys
    chosen = np.argpartition(keys, budget - 1)[:budget]
    return frame.iloc[chosen], keys[chosen]


def read_sample(
    path: str | Path,
    *,
    label: str,
    budget: int = DEFAULT_ROW_BUDGET,
    seed: int = 0,
    max_rows: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    digest: bool = True,
) -> TableSample:
    """Stream `path` (CSV or Parquet) and keep a uniform random sample of at most `budget` rows."""
    if budget < 1:
        raise DataError(f"The row budget for the {label} must be at least 1 (got {budget}).", "Raise the budget.")
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    keys = np.empty(0)
    hasher = MlflowDigest() if digest else None
    n_rows = 0
    columns: list[str] | None = None
    for chunk in iter_table(path, chunk_rows=chunk_rows, max_rows=max_rows):
        if columns is None:
            columns = [str(c) for c in chunk.columns]
        if hasher is not None:
            hasher.update(chunk)
        n_rows += len(chunk)
        chunk_keys = rng.random(len(chunk))
        if kept is None:
            kept, keys = _keep_smallest(chunk, chunk_keys, budget)
            continue
        if len(kept) >= budget:  # full: only rows whose key beats the largest kept key can get in
            better = chunk_keys < keys.max()
            chunk, chunk_keys = chunk[better], chunk_keys[better]
        if len(chunk):
            kept, keys = _keep_smallest(pd.concat([kept, chunk]), np.concatenate([keys, chunk_keys]), budget)
    if kept is None or n_rows == 0:
        raise DataError(f"The {label} at {path} has no data rows.", "Point at a file with a header and some rows.")
    kept = kept.sort_index()
    return TableSample(
        label=label,
        frame=kept,
        n_rows=n_rows,
        source=str(path),
        digest=hasher.hexdigest() if hasher is not None else None,
    )


def sample_frame(frame: pd.DataFrame, *, label: str, budget: int = DEFAULT_ROW_BUDGET, seed: int = 0) -> TableSample:
    """The same budget for a frame already in memory (an app upload)."""
    if len(frame) == 0 or frame.shape[1] == 0:
        raise DataError(f"The {label} has no data rows.", "Give data with a header and some rows.")
    if len(frame) <= budget:
        return TableSample(label=label, frame=frame, n_rows=len(frame))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(frame), size=budget, replace=False))
    return TableSample(label=label, frame=frame.iloc[chosen], n_rows=len(frame))
