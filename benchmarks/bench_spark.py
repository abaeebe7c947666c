"""Spark engine (local[2]) vs pandas engine: two models compared on 20,000,000 rows of Parquet.

Reports wall time and the driver's peak memory for each run: the Python driver's peak RSS and, for Spark, the
driver JVM's peak RSS (VmHWM in /proc/<pid>/status; not ru_maxrss, which Linux carries over from the parent
across fork and exec). Spark runs at ROWS/10 and at ROWS rows, so the
table shows whether the driver's memory stays flat as the data grows ten-fold. Each measurement runs in its own
subprocess, because a peak RSS is per process.

ROWS comes from MODELGAP_BENCH_SPARK_ROWS (default 20,000,000). The Parquet is written in 1,000,000-row files
(250,000-row row groups), one file's rows in memory at a time; the smaller run reads hard links to the first files.
Run alone with `python -m benchmarks.run spark`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("MODELGAP_BENCH_SPARK_ROWS", "20000000"))
FILE_ROWS = 1_000_000
ROW_GROUP = 250_000
TARGET = "y"


def run() -> list[dict[str, Any]]:
    """Write the data and models once, then measure each (engine, rows) in its own subprocess."""
    small = max(ROWS // 10, 1)
    plan = [("spark", small), ("spark", ROWS), ("pandas", small), ("pandas", ROWS)]
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="modelgap-bench-spark-") as tmp:
        work = Path(tmp)
        repo, deployed = _write_models(work)
        dirs = _write_data(work, sorted({rows for _, rows in plan}))
        for engine, rows in plan:
            out.append(_measure_in_subprocess(engine, dirs[rows], repo, deployed, rows))
    return out


def _write_models(work: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from tests import factories as fx

    m1, _, _ = fx.fitted("pipeline", "binary")
    m2, _, _ = fx.fitted("pipeline", "binary", seed=1)
    return fx.save_skops(m1, work / "repo.skops"), fx.save_skops(m2, work / "deployed.skops")


def _write_data(work: Path, sizes: list[int]) -> dict[int, Path]:
    """One directory per size; the largest holds the files, smaller ones hard-link its first files."""
    sys.path.insert(0, str(ROOT))
    from tests import factories as fx

    largest = max(sizes)
    full = work / f"rows-{largest}"
    full.mkdir()
    files: list[tuple[Path, int]] = []
    written = 0
    while written < largest:
        n = min(FILE_ROWS, largest - written)
        df, y = fx.tabular(n=n, seed=1000 + len(files))
        path = full / f"part-{len(files):05d}.parquet"
        df.assign(**{TARGET: y}).to_parquet(path, row_group_size=ROW_GROUP, index=False)
        files.append((path, n))
        written += n
        del df, y
    dirs = {largest: full}
    for size in sizes:
        if size == largest:
            continue
        if size % FILE_ROWS and size > FILE_ROWS:
            raise ValueError(f"{size} rows is not a whole number of {FILE_ROWS:,}-row files")
        part = work / f"rows-{size}"
        part.mkdir()
        total = 0
        for path, n in files:
            if total >= size:
                break
            if n + total > size:  # a size under one file: write its own smaller file
                df, y = fx.tabular(n=size - total, seed=1000)
                df.assign(**{TARGET: y}).to_parquet(part / path.name, row_group_size=ROW_GROUP, index=False)
                total = size
                break
            os.link(path, part / path.name)
            total += n
        dirs[size] = part
    return dirs


def _measure_in_subprocess(engine: str, data: Path, repo: Path, deployed: Path, rows: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_spark", engine, str(data), str(repo), str(deployed)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        raise RuntimeError(f"{engine} at {rows:,} rows failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rows"] != rows:
        raise RuntimeError(f"{engine} compared {result['rows']:,} rows, expected {rows:,}")
    return result


def _jvm_children() -> list[int]:
    """PIDs of this process's child processes running java (local mode's driver JVM)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and comm == "java":
            found.append(int(entry.name))
    return found


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(engine: str, data: str, repo_path: str, deployed_path: str) -> dict[str, Any]:
    """One comparison in this process: wall time, peak RSS of this Python driver (and of the JVM for Spark)."""
    sys.path.insert(0, str(ROOT))
    from modelgap.comparison import CompareOptions
    from modelgap.sources import load_model

    repo, deployed = load_model(repo_path), load_model(deployed_path)
    options = CompareOptions(target=TARGET)
    row: dict[str, Any] = {"engine": engine}
    if engine == "spark":
        from modelgap.spark.predictions import compare_predictions_spark
        from modelgap.spark.session import get_session

        start = time.perf_counter()
        spark = get_session()
        row["startup_s"] = time.perf_counter() - start
        start = time.perf_counter()
        result, sample = compare_predictions_spark(repo, deployed, spark=spark, data_path=data, options=options)
    else:
        from modelgap.predictions import compare_predictions

        start = time.perf_counter()
        result, sample = compare_predictions(repo, deployed, data_path=Path(data), options=options)
    seconds = time.perf_counter() - start
    row |= {
        "rows": result.n_rows,
        "seconds": seconds,
        "rows_per_s": result.n_rows / seconds,
        "python_peak_rss_mb": _peak_rss_mb(os.getpid()),
        "sample_rows": len(sample),
        "n_disagreements": result.n_disagreements,
        "mean_abs_diff": result.mean_abs_diff,
    }
    if engine == "spark":
        jvms = _jvm_children()
        row["jvm_peak_rss_mb"] = max((_peak_rss_mb(pid) for pid in jvms), default=float("nan"))
        spark.stop()
    return row


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:5])))
