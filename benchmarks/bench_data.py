"""Drift of a 1,000,000-row sample against a 100,000-row training set: wall time and peak memory.

Both files have 20 columns (15 numeric, 5 categorical; one numeric and one categorical column shifted). The
files are generated first (not timed); then the data section's own path runs: stream both files on the row
budget (seeded bottom-k sample, MLflow digest of the training set), then per-column PSI/KS/Wasserstein/chi2.
Peak memory is the resident set size above the level before the run, polled every 5 ms from /proc (it counts
numpy, pandas and pyarrow buffers alike); the budgeted run should stay far below reading the file whole.
"""

from __future__ import annotations

import gc
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelgap.data import compare_tables, read_sample

SAMPLE_ROWS = 1_000_000
TRAINING_ROWS = 100_000
N_NUMERIC, N_CATEGORICAL = 15, 5


def _frame(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"num{i}": rng.normal(0, 1, n).round(4) for i in range(N_NUMERIC)}
    for i in range(N_CATEGORICAL):
        cols[f"cat{i}"] = rng.choice([f"level{j}" for j in range(8)], n)
    if shifted:
        cols["num3"] = (cols["num3"] * 1.2 + 0.5).round(4)
        cols["cat1"] = np.where(rng.uniform(size=n) < 0.2, "level_new", cols["cat1"])
    return pd.DataFrame(cols)


def _rss_bytes() -> int:
    with Path("/proc/self/status").open() as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Peak resident memory above the starting level while the block runs (Linux /proc)."""

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.start = _rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def mb(self) -> float:
        return (self.peak - self.start) / 1024**2


def _case(name: str, sample: Path, training: Path, budget: int) -> dict[str, Any]:
    with PeakRss() as mem:
        start = time.perf_counter()
        ref = read_sample(training, label="deployed training data", budget=budget)
        cur = read_sample(sample, label="sample data", budget=budget, digest=False)
        read_s = time.perf_counter() - start
        drift = compare_tables(ref, cur, kind="sample_vs_training")
        total = time.perf_counter() - start
    top = drift.columns[0]
    return {
        "case": name,
        "sample_rows": cur.n_rows,
        "training_rows": ref.n_rows,
        "rows_used": f"{len(cur.frame):,} / {len(ref.frame):,}",
        "read_s": round(read_s, 2),
        "drift_s": round(total - read_s, 2),
        "wall_s": round(total, 2),
        "peak_rss_mb": round(mem.mb, 1),
        "top_column": f"{top.column} ({top.severity}, PSI {top.psi:.2f})",
        "n_drifted": len(drift.drifted()),
    }


def run() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="modelgap-bench-data-") as tmp:
        folder = Path(tmp)
        paths: dict[str, Path] = {}
        for fmt in ("csv", "parquet"):
            for name, n, seed, shifted in (("sample", SAMPLE_ROWS, 1, True), ("training", TRAINING_ROWS, 0, False)):
                df = _frame(n, seed, shifted)
                path = folder / f"{name}.{fmt}"
                if fmt == "csv":
                    df.to_csv(path, index=False)
                else:
                    df.to_parquet(path, index=False, row_group_size=100_000)
                paths[f"{name}.{fmt}"] = path
                del df
        for fmt in ("csv", "parquet"):
            sample, training = paths[f"sample.{fmt}"], paths[f"training.{fmt}"]
            rows.append(_case(f"{fmt}, budget 200k rows", sample, training, 200_000))
            rows.append(_case(f"{fmt}, all rows", sample, training, SAMPLE_ROWS))
    return rows


if __name__ == "__main__":
    from benchmarks.run import print_table

    print_table("bench_data", run())
