"""Peak memory of the pandas engine's prediction comparison at 20,000,000 rows (issue 18, target 4: <= 1 GB).

`compare_predictions(..., data_path=<Parquet directory>)` with a binary classifier pair and a target column,
each size in a fresh subprocess whose peak resident memory (VmHWM, /proc/self/status) is its own. The pair and
the data are bench_spark's (two scikit-learn pipelines; 1,000,000-row Parquet files, 250,000-row row groups):
the smaller size (ROWS / 5) reading hard links to the first files. Two runs per size: `predictions` (the
section alone) and `with_metrics` (then `compare_metrics` on its outputs, as `--target` does: 1,000 paired
bootstrap resamples). Reported: the peak after loading the two models (interpreter, libraries, models), the
peak of the whole run, and the target.

ROWS comes from MODELGAP_BENCH_MEMORY_ROWS (default 20,000,000); MODELGAP_BENCH_MEMORY_DIR keeps the models
and data in that folder (made once, reused) instead of a temporary one. Run alone with
`python -m benchmarks.run memory`.
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
ROWS = int(os.environ.get("MODELGAP_BENCH_MEMORY_ROWS", "20000000"))
TARGET_MB = 1024
TARGET = "y"


def run() -> list[dict[str, Any]]:
    """Models and data once (in a child, so this process stays small), then each size in its own subprocess."""
    kept = os.environ.get("MODELGAP_BENCH_MEMORY_DIR")
    with tempfile.TemporaryDirectory(prefix="modelgap-bench-memory-") as tmp:
        work = Path(kept) if kept else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sizes = sorted({max(ROWS // 5, 1_000_000), ROWS})
        code = (
            "from pathlib import Path; from benchmarks.bench_memory import prepare; "
            f"prepare(Path({str(work)!r}), {sizes!r})"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=_env(), capture_output=True)
        return [_measure(work, rows, what) for rows in sizes for what in ("predictions", "with_metrics")]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")


def prepare(work: Path, sizes: list[int]) -> None:
    """bench_spark's models and Parquet files in `work`, unless already there."""
    from benchmarks import bench_spark

    if not (work / "repo.skops").exists():
        bench_spark._write_models(work)
    if not all((work / f"rows-{n}").exists() for n in sizes):
        for n in sizes:
            if (work / f"rows-{n}").exists():
                raise RuntimeError(f"{work}: partial data; remove rows-* and retry")
        bench_spark._write_data(work, sizes)


def _measure(work: Path, rows: int, what: str) -> dict[str, Any]:
    data, repo, deployed = work / f"rows-{rows}", work / "repo.skops", work / "deployed.skops"
    cmd = [sys.executable, "-m", "benchmarks.bench_memory", str(data), str(repo), str(deployed), what]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=7200, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        raise RuntimeError(f"pandas engine at {rows:,} rows failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rows"] != rows:
        raise RuntimeError(f"compared {result['rows']:,} rows, expected {rows:,}")
    peak = result["peak_mb"]
    return {"run": what} | result | {"target_mb": TARGET_MB, "met": peak <= TARGET_MB}


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def measure(data: str, repo_path: str, deployed_path: str, what: str = "predictions") -> dict[str, Any]:
    """One comparison in this (fresh) process: its wall time and peak resident memory."""
    from modelgap.comparison import CompareOptions
    from modelgap.predictions import compare_metrics, compare_predictions
    from modelgap.sources import load_model

    repo, deployed = load_model(repo_path), load_model(deployed_path)
    after_load = _peak_mb()
    start = time.perf_counter()
    result, _sample = compare_predictions(repo, deployed, data_path=Path(data), options=CompareOptions(target=TARGET))
    out: dict[str, Any] = {"rows": result.n_rows, "mean_abs_diff": result.mean_abs_diff}
    if what == "with_metrics":
        out["roc_auc_change"] = compare_metrics(result.outputs)["roc_auc"].delta
    seconds = time.perf_counter() - start
    return out | {"seconds": round(seconds, 1), "mb_after_load": after_load, "peak_mb": _peak_mb()}


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:5])))
