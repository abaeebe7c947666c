"""Spark engine vs pandas engine: predictions on ~200k rows of Parquet (wall time, driver peak RSS growth)."""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = 200_000


def run() -> list[dict[str, Any]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from modelgap.comparison import CompareOptions
    from modelgap.predictions import compare_predictions
    from modelgap.sources import load_model
    from modelgap.spark.predictions import compare_predictions_spark
    from modelgap.spark.session import get_session
    from tests import factories as fx

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        m1, _, _ = fx.fitted("pipeline", "binary")
        m2, _, _ = fx.fitted("pipeline", "binary", seed=1)
        repo = load_model(str(fx.save_skops(m1, d / "r.skops")))
        dep = load_model(str(fx.save_skops(m2, d / "d.skops")))
        df, y = fx.tabular(n=ROWS, seed=9)
        path = d / "data.parquet"
        df.assign(y=y).to_parquet(path, row_group_size=50_000)
        options = CompareOptions(target="y")
        for engine in ("pandas", "spark"):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            if engine == "pandas":
                result, _ = compare_predictions(repo, dep, data_path=path, options=options)
            else:
                spark = get_session()
                result, _ = compare_predictions_spark(repo, dep, spark=spark, data_path=str(path), options=options)
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            out.append(
                {
                    "engine": engine,
                    "rows": result.n_rows,
                    "seconds": seconds,
                    "driver_peak_rss_mb": peak / 1024,
                    "rss_growth_mb": (peak - before) / 1024,
                }
            )
    return out
