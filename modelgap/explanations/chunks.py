"""Explain rows chunk by chunk: progress, early stop, and two worker processes when the work is long.

shap's TreeExplainer for sklearn models runs on one core and holds the GIL (threads measured no faster),
so long runs are split over 2 loky processes once the first chunk shows the rest would take a while.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelgap.explanations.result import ProgressCallback, StopCallback

ChunkFn = Callable[[Any], tuple[np.ndarray, np.ndarray]]  # rows -> ((m, f, k) values, (m, k) base)

PARALLEL_AFTER_SECONDS = 4.0  # projected serial time beyond which 2 processes pay for their start-up
WORKERS = 2


@dataclass
class ChunkResult:
    values: np.ndarray  # (n_done, f, k)
    base: np.ndarray  # (n_done, k)
    n_done: int
    stopped: bool
    parallel: bool


def chunk_size(n_rows: int, minimum: int = 256, pieces: int = 20) -> int:
    return max(minimum, math.ceil(n_rows / pieces))


def _rows(X: Any, start: int, stop: int) -> Any:
    return X.iloc[start:stop] if hasattr(X, "iloc") else X[start:stop]


def run_chunks(
    fn: ChunkFn,
    X: Any,
    *,
    size: int,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    parallel: bool = False,
) -> ChunkResult:
    """Apply `fn` to consecutive row chunks of X; stop between chunks when should_stop() says so."""
    n = X.shape[0]
    bounds = [(s, min(s + size, n)) for s in range(0, n, size)]
    values: list[np.ndarray] = []
    bases: list[np.ndarray] = []
    done = 0
    stopped = False
    used_parallel = False

    def take(result: tuple[np.ndarray, np.ndarray], rows: int) -> None:
        nonlocal done
        values.append(result[0])
        bases.append(result[1])
        done += rows
        if progress is not None:
            progress(done, n)

    if progress is not None:
        progress(0, n)
    pending = list(bounds)
    if pending and not (should_stop and should_stop()):
        start = time.perf_counter()
        s, e = pending.pop(0)
        take(fn(_rows(X, s, e)), e - s)
        per_row = (time.perf_counter() - start) / max(e - s, 1)
        rest = sum(e - s for s, e in pending)
        if parallel and len(pending) >= WORKERS and per_row * rest > PARALLEL_AFTER_SECONDS:
            used_parallel = True
            results: Iterable[tuple[np.ndarray, np.ndarray]] = _parallel(fn, [_rows(X, s, e) for s, e in pending])
        else:
            results = (fn(_rows(X, s, e)) for s, e in pending)
        iterator = iter(results)
        for s, e in pending:
            if should_stop and should_stop():
                stopped = True
                break
            take(next(iterator), e - s)
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # a generator left early cancels the chunks not yet started
    elif pending:
        stopped = True
    if not values:
        return ChunkResult(np.zeros((0, 0, 0)), np.zeros((0, 0)), 0, stopped, used_parallel)
    return ChunkResult(np.concatenate(values), np.concatenate(bases), done, stopped, used_parallel)


def _parallel(fn: ChunkFn, chunks: list[Any]) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    from joblib import Parallel, delayed

    runner = Parallel(n_jobs=WORKERS, backend="loky", return_as="generator")
    return runner(delayed(fn)(chunk) for chunk in chunks)
