"""Explain rows chunk by chunk: progress, early stop, and the second core when it pays.

The first chunk runs here alone; it measures the time per row and how busy the other cores are, and
`parallel.choose_workers` decides the rest: one worker, 2 threads (native contributions, `split="threads"`)
or this process and a helper process taking chunks from the same queue (`split="processes"`). Every chunk is
explained by the same function on the same rows, so the values are those of a serial run.

With a helper process (`worklist.run_jobs`, which also takes the two models of a pair as one list), a first
piece prices the work before anything is sent; the explainer travels to the helper only when a second process
could pay, while a short probe (doubling pieces, about PROBE_SECONDS) measures how busy the other cores are;
the rows and values then cross through a file both processes map (`exchange`), each chunk as three numbers.
shap's Tree SHAP holds the GIL for a whole call, and the pool's threads that send chunks to the helper and take
its results need the GIL: so this process explains small chunks (LOCAL_CHUNK_SECONDS) between which they run,
the helper big ones. The constants below apply to both paths.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from modelgap.explanations import parallel
from modelgap.explanations.parallel import Choice, busy_elsewhere, choose_workers, cpu_sample
from modelgap.explanations.result import ProgressCallback, StopCallback

ChunkFn = Callable[[Any], tuple[np.ndarray, np.ndarray]]  # rows -> ((m, f, k) values, (m, k) base)
Split = Literal["none", "threads", "processes"]

MIN_CHUNK_SECONDS = 0.05  # shared chunks: small enough that neither worker waits long for the other at the end
MAX_CHUNK_SECONDS = 1.0  # ... and no longer than this, so progress moves and a stop is heard
LOCAL_CHUNK_SECONDS = 0.1  # chunks explained here: the pool's threads wait for the GIL until each one ends
LOCAL_SHARE = 4  # ... and at most 1/LOCAL_SHARE of the helper's: each chunk it sends or returns waits for a
# hand-over of the GIL, which must come faster than the helper works through its queue (measured best at 4 for
# sklearn GradientBoosting, whose cheap rows make the most chunks a second)
YIELD_SECONDS = 0.0  # after each chunk here: sleep(0) lets a pool thread that waits for the GIL take it; a timed
# sleep cost more than it gave once chunks cross as three numbers (exchange.py; a GBM pair at 10k rows, median
# of 10 runs: 1.15x the 2-core floor with sleep(0), 1.31x with 0.3 ms)
PROBE_ROWS = 16  # first piece of the probe; the pieces double until PROBE_SECONDS (or the first chunk's rows)
PROBE_SECONDS = 0.1
HELPER_QUEUE = 2  # chunks queued in the helper: the next is there when it finishes one
HELPER_WAIT_SECONDS = 120.0  # 2 workers fixed by the settings: how long to wait for the helper to be free
GUIDE = 8  # a shared chunk takes 1/GUIDE of the rows left (guided self-scheduling; the helper holds up to 2)


@dataclass
class ChunkResult:
    values: np.ndarray  # (n_done, f, k)
    base: np.ndarray  # (n_done, k)
    n_done: int
    stopped: bool
    parallel: bool  # a second worker (process or thread) explained some of the rows
    workers: int = 1
    reason: str = ""  # why that many workers (empty when the work could not be split)


def chunk_size(n_rows: int, minimum: int = 256, pieces: int = 20) -> int:
    return max(minimum, math.ceil(n_rows / pieces))


def _rows(X: Any, start: int, stop: int) -> Any:
    return X.iloc[start:stop] if hasattr(X, "iloc") else X[start:stop]


class _Done:
    """Explained chunks by first row; the result is the longest run of rows from row 0."""

    def __init__(self, n: int, progress: ProgressCallback | None) -> None:
        self.n = n
        self.progress = progress
        self.parts: dict[int, tuple[int, tuple[np.ndarray, np.ndarray]]] = {}
        self.count = 0

    def take(self, start: int, stop: int, result: tuple[np.ndarray, np.ndarray]) -> None:
        self.parts[start] = (stop, result)
        self.count += stop - start
        if self.progress is not None:
            self.progress(self.count, self.n)

    def result(self, stopped: bool, choice: Choice, used: bool) -> ChunkResult:
        values: list[np.ndarray] = []
        bases: list[np.ndarray] = []
        row = 0
        while row in self.parts:
            stop, (v, b) = self.parts[row]
            values.append(v)
            bases.append(b)
            row = stop
        stopped = stopped or row < self.n
        if not values:
            return ChunkResult(np.zeros((0, 0, 0)), np.zeros((0, 0)), 0, stopped, False)
        workers = choice.workers if used else 1
        return ChunkResult(np.concatenate(values), np.concatenate(bases), row, stopped, used, workers, choice.reason)


def run_chunks(
    fn: ChunkFn,
    X: Any,
    *,
    size: int,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    split: Split = "none",
    workers: int | None = None,
) -> ChunkResult:
    """Apply `fn` to row chunks of X (first row first); stop between chunks when should_stop() says so.

    `split` says how a second worker may help (`fn.with_threads(k)` for threads); `workers` fixes their
    number (1 or 2) instead of deciding from the first chunk.
    """
    if split == "processes":  # this process and the helper process: the work list of one model
        from modelgap.explanations.worklist import Job, run_jobs

        return run_jobs([Job(fn, X, size, progress, should_stop)], workers)[0]
    n = X.shape[0]
    done = _Done(n, progress)
    choice = Choice(1, "")
    if progress is not None:
        progress(0, n)
    if n == 0 or (should_stop and should_stop()):
        return done.result(n > 0, choice, False)
    before, start = cpu_sample(), time.perf_counter()
    first = min(size, n)
    done.take(0, first, fn(_rows(X, 0, first)))
    per_row = (time.perf_counter() - start) / first
    if split == "none" or first == n:
        return done.result(_serial(fn, X, first, size, done, should_stop), choice, False)
    work = per_row * (n - first)
    choice = _decide(workers, work, busy_elsewhere(before, cpu_sample()), 0.0, parallel.usable_cores())
    threaded = fn if choice.workers == 1 else fn.with_threads(choice.workers)  # type: ignore[attr-defined]
    bigger = max(size, math.ceil((n - first) / 10))  # fewer calls: each native call has a fixed cost
    return done.result(_serial(threaded, X, first, bigger, done, should_stop), choice, choice.workers > 1)


def _decide(workers: int | None, work: float, busy: float, start: float, max_workers: int) -> Choice:
    if workers is not None:
        return Choice(max(1, min(workers, 2)), "fixed by the settings")
    cores = parallel.usable_cores()
    return choose_workers(
        cores=cores, busy_elsewhere=busy, work_seconds=work, start_seconds=start, max_workers=max_workers
    )


def _serial(fn: ChunkFn, X: Any, start: int, size: int, done: _Done, should_stop: StopCallback | None) -> bool:
    """Chunks from row `start` on, here; True when should_stop() ended the work."""
    for s in range(start, done.n, size):
        if should_stop and should_stop():
            return True
        e = min(s + size, done.n)
        done.take(s, e, fn(_rows(X, s, e)))
    return False


def _outcome(future: Future[Any]) -> bool | None:
    """True when the future is done and succeeded, False when it failed or was cancelled, None while pending."""
    if not future.done():
        return None
    return not future.cancelled() and future.exception() is None
