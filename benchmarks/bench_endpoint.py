"""Endpoint throughput (rows/s) and latency percentiles against a local `mlflow models serve`.

One real scoring server (a scikit-learn pipeline, skops format, `--env-manager local`, one worker); the
endpoint client sends rows in batches of 1, 100 and 1,000, first one request at a time (clean latency),
then with the default concurrency (throughput). Latency is per request, measured by the client.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

warnings.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 100, 1_000)
ROWS_FOR = {1: 200, 100: 5_000, 1_000: 20_000}  # rows sent per batch size: a few seconds each


def _serve(work: Path) -> tuple[Any, pd.DataFrame]:
    for p in (str(ROOT), str(ROOT / "tests")):
        if p not in sys.path:
            sys.path.insert(0, p)
    from factories import fitted, save_mlflow  # the tests' small real models
    from servers import start_model_server

    model, X, _ = fitted("pipeline")
    model_dir = save_mlflow(model, work / "model", X)
    return start_model_server(str(model_dir), work / "serve"), X


def run() -> list[dict[str, Any]]:
    from modelgap.sources.endpoint_client import EndpointClient, EndpointSettings, LatencyStats

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as tmp:
        server, X = _serve(Path(tmp))
        try:
            url = server.url + "/invocations"
            for concurrency in (1, 4):
                for batch in BATCHES:
                    n = ROWS_FOR[batch]
                    data = X.sample(n, replace=True, random_state=0).reset_index(drop=True)
                    client = EndpointClient(url, EndpointSettings(batch_size=batch, concurrency=concurrency, retries=0))
                    client.score(data.head(batch))  # warm-up: the first request pays for imports and caches
                    start = time.perf_counter()
                    outcomes = client.score_batches(data, strict=True)
                    seconds = time.perf_counter() - start
                    lat = LatencyStats.of([o.seconds for o in outcomes])
                    rows.append(
                        {
                            "batch_size": batch,
                            "concurrency": concurrency,
                            "rows": n,
                            "requests": len(outcomes),
                            "rows_per_s": n / seconds,
                            "p50_ms": lat.p50,
                            "p95_ms": lat.p95,
                            "p99_ms": lat.p99,
                            "seconds": seconds,
                        }
                    )
        finally:
            server.stop()
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
