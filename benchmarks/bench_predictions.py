"""Prediction comparison on 10k, 100k and 1M rows: wall time and peak memory next to the models' own predict calls.

The pair is the demo's: the champion recipe (GBM, 150 trees, 11 columns) against the repo recipe (GBM, 250
trees, 12 columns), both scikit-learn pipelines with imputation, scaling and one-hot encoding, trained on
5,000 rows. Data: the demo's credit-risk generator, written to a temporary Parquet file.

Measured in fresh subprocesses (so each peak resident memory, VmHWM, is that process's own):
- predict_s, the baseline: `predict_proba` of both models on all rows of the in-memory frame (what any
  comparison must pay; labels come from the same call);
- compare_s: `modelgap.predictions.compare_predictions` on the file, streamed in 100k-row chunks (reading,
  checks, both models' predictions, every measure, slices and the surrogate tree), without a target;
- with_target_s: the same with the target column, plus `compare_metrics` (1,000 paired bootstrap resamples).
predict_s and compare_s alternate in one process, 3 rounds (2 at 1M rows), each reported as its best;
overhead_% is the median over rounds of compare / predict - 1 (back-to-back pairs see the same machine load);
the goal is under 20% at 100k rows. Peak memory includes the interpreter, libraries and both models
(mb_after_load). At 1M rows the streamed comparison predicts in chunks, which is faster than one predict call
on the whole frame, so its "overhead" is negative there.
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

ROWS = (10_000, 100_000, 1_000_000)
TRAIN_ROWS = 5_000
ROOT = Path(__file__).resolve().parent.parent


def _train(directory: Path) -> tuple[Path, Path]:
    import joblib

    from modelgap.demo_data import CHALLENGER, CHAMPION, TARGET, build_pipeline, make_credit_data

    paths = []
    for name, recipe, seed in (("repo", CHALLENGER, 1), ("deployed", CHAMPION, 2)):
        train = make_credit_data(TRAIN_ROWS, seed=seed, snapshot=recipe.snapshot)
        model = build_pipeline(recipe).fit(train[list(recipe.features)], train[TARGET])
        path = directory / f"{name}.joblib"
        joblib.dump(model, path)
        paths.append(path)
    return paths[0], paths[1]


def _write_data(directory: Path, n: int) -> Path:
    from modelgap.demo_data import make_credit_data

    path = directory / f"sample_{n}.parquet"
    if not path.exists():
        make_credit_data(n, seed=99, snapshot="2026-q2").to_parquet(path)
    return path


def _child(mode: str, repo_path: str, deployed_path: str, data_path: str, repeats: int) -> dict[str, Any]:
    """Runs in a subprocess; prints JSON.

    "timing": the raw predict calls and the comparison alternately, `repeats` times each, best of each (both
    see the same load on a shared machine). "raw" / "compare" / "metrics": one run, for its peak memory.
    """
    import warnings

    import joblib
    import pandas as pd

    from modelgap.comparison import CompareOptions
    from modelgap.model import ModelMetadata
    from modelgap.predictions import compare_metrics, compare_predictions
    from modelgap.sources.native import from_native

    warnings.filterwarnings("ignore")
    repo_est, deployed_est = joblib.load(repo_path), joblib.load(deployed_path)
    repo = from_native(repo_est, "repo", ModelMetadata())
    deployed = from_native(deployed_est, "deployed", ModelMetadata())
    out: dict[str, Any] = {"rss_after_load_mb": _peak_mb()}

    def raw(frame: pd.DataFrame) -> float:
        start = time.perf_counter()
        repo_est.predict_proba(frame[list(repo_est.feature_names_in_)])
        deployed_est.predict_proba(frame[list(deployed_est.feature_names_in_)])
        return time.perf_counter() - start

    def compare(target: str | None = None) -> float:
        start = time.perf_counter()
        result, _sample = compare_predictions(
            repo, deployed, data_path=data_path, options=CompareOptions(target=target)
        )
        out["disagreement_rate"] = result.disagreement_rate
        if target is not None:
            t = time.perf_counter()
            compare_metrics(result.outputs)
            out["metrics_seconds"] = time.perf_counter() - t
        return time.perf_counter() - start

    if mode == "timing":
        frame = pd.read_parquet(data_path)
        raw_times, compare_times = [], []
        for _ in range(repeats):
            raw_times.append(raw(frame))
            compare_times.append(compare())
        ratios = sorted(c / r for r, c in zip(raw_times, compare_times, strict=True))
        out.update(
            raw_seconds=min(raw_times),
            compare_seconds=min(compare_times),
            paired_ratio=ratios[len(ratios) // 2],  # median of back-to-back pairs: robust to load swings
        )
    elif mode == "raw":
        out["seconds"] = raw(pd.read_parquet(data_path))
    else:
        out["seconds"] = compare("default" if mode == "metrics" else None)
    out["peak_rss_mb"] = _peak_mb()
    return out


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (reset by exec, unlike ru_maxrss, which a child inherits)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prepare(directory: Path, rows: tuple[int, ...]) -> None:
    """Train both models and write every data file (run in a child process: see run())."""
    _train(directory)
    for n in rows:
        _write_data(directory, n)


def _measure(mode: str, repo: Path, deployed: Path, data: Path, repeats: int) -> dict[str, Any]:
    code = (
        "import json, sys; from benchmarks.bench_predictions import _child; "
        f"print(json.dumps(_child({mode!r}, {str(repo)!r}, {str(deployed)!r}, {str(data)!r}, {repeats})))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child ({mode}) failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(rows: tuple[int, ...] = ROWS) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-predictions-") as tmp:
        directory = Path(tmp)
        # Models and data are made in a child process: this one stays small, so children's memory is their own.
        code = (
            "from pathlib import Path; from benchmarks.bench_predictions import _prepare; "
            f"_prepare(Path({tmp!r}), {rows!r})"
        )
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, capture_output=True)
        repo, deployed = directory / "repo.joblib", directory / "deployed.joblib"
        for n in rows:
            data = directory / f"sample_{n}.parquet"
            timing = _measure("timing", repo, deployed, data, 3 if n <= 100_000 else 2)
            raw, compare, metrics = (_measure(mode, repo, deployed, data, 1) for mode in ("raw", "compare", "metrics"))
            predict_s, compare_s = timing["raw_seconds"], timing["compare_seconds"]
            out.append(
                {
                    "rows": n,
                    "predict_s": round(predict_s, 3),
                    "compare_s": round(compare_s, 3),
                    "overhead_s": round(compare_s - predict_s, 3),
                    "overhead_%": round(100 * (timing["paired_ratio"] - 1), 1),
                    "with_target_s": round(metrics["seconds"], 3),
                    "bootstrap_s": round(metrics["metrics_seconds"], 3),
                    "peak_mb_raw": round(raw["peak_rss_mb"]),
                    "peak_mb_compare": round(compare["peak_rss_mb"]),
                    "peak_mb_with_target": round(metrics["peak_rss_mb"]),
                    "mb_after_load": round(compare["rss_after_load_mb"]),
                    "disagreement_rate": round(compare["disagreement_rate"], 4),
                }
            )
    return out


if __name__ == "__main__":
    sizes = tuple(int(a) for a in sys.argv[1:]) or ROWS
    for row in run(sizes):
        print(row)
