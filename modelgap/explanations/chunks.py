"""Explain rows chunk by chunk: progress, early stop, and the second core when it pays.

The first chunk runs here alone; it measures the time per row and how busy the other cores are, and
`parallel.choose_workers` decides the rest: one worker, 2 threads (native contributions, `split="threads"`)
or this process and a helper process taking chunks from the same queue (`split="processes"`). Every chunk is
explained by the same function on the same rows, so the values are those of a serial run.

With a helper process, the explainer is sent to it *before* the first chunk (so that it is ready when the rule
says 2), and the first chunk is a short probe (doubling pieces, about PROBE_SECONDS). shap's Tree SHAP holds
the GIL for a whole call, and the pool's threads that send chunks to the helper and take its results need the
GIL: so this process explains small chunks (LOCAL_CHUNK_SECONDS) between which they run, the helper big ones.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from modelgap.explanations import parallel
from modelgap.explanations.parallel import Choice, busy_elsewhere, choose_workers, cpu_sample
from modelgap.explanations.result import ProgressCallback, StopCallback
from modelgap.processes import main_is_safe

ChunkFn = Callable[[Any], tuple[np.ndarray, np.ndarray]]  # rows -> ((m, f, k) values, (m, k) base)
Split = Literal["none", "threads", "processes"]

MIN_CHUNK_SECONDS = 0.05  # shared chunks: small enough that neither worker waits long for the other at the end
MAX_CHUNK_SECONDS = 1.0  # ... and no longer than this, so progress moves and a stop is heard
LOCAL_CHUNK_SECONDS = 0.1  # chunks explained here: the pool's threads wait for the GIL until each one ends
YIELD_SECONDS = 0.001  # after each chunk here: time for the pool's threads, which shap's call kept waiting
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
    n = X.shape[0]
    done = _Done(n, progress)
    choice = Choice(1, "")
    if progress is not None:
        progress(0, n)
    if n == 0 or (should_stop and should_stop()):
        return done.result(n > 0, choice, False)
    if split == "processes":
        return _with_helper(fn, X, size, done, should_stop, workers)
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


def _probe(fn: ChunkFn, X: Any, size: int, done: _Done, should_stop: StopCallback | None) -> tuple[int, bool]:
    """The first rows here, in doubling pieces, until PROBE_SECONDS have passed or `size` rows are done:
    (rows done, stopped)."""
    end, piece, start = 0, PROBE_ROWS, time.perf_counter()
    limit = min(size, done.n)
    while end < limit:
        if end and should_stop and should_stop():
            return end, True
        stop = min(end + piece, limit)
        done.take(end, stop, fn(_rows(X, end, stop)))
        end, elapsed = stop, time.perf_counter() - start
        if elapsed >= PROBE_SECONDS:
            break
        fits = math.ceil((PROBE_SECONDS - elapsed) * end / max(elapsed, 1e-9))  # rows that fill PROBE_SECONDS
        piece = max(PROBE_ROWS, min(piece * 2, fits))
    return end, False


def _with_helper(
    fn: ChunkFn, X: Any, size: int, done: _Done, should_stop: StopCallback | None, workers: int | None
) -> ChunkResult:
    """The rows after a probe shared with the helper process when the rule says so (and the helper is free),
    else here. The explainer travels to the helper while the probe runs here."""
    helper = parallel.HELPER
    n = done.n
    # 2 workers fixed by the settings wait for a run elsewhere (another session's) to free the helper
    if workers == 1 or not main_is_safe() or not helper.acquire(HELPER_WAIT_SECONDS if workers else 0.0):
        reason = "fixed by the settings" if workers == 1 else "the helper process is not available"
        return done.result(_serial(fn, X, 0, size, done, should_stop), Choice(1, reason), False)
    broken = False
    install: Future[Any] | None = None
    choice = Choice(1, "")
    try:
        try:
            payload = pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an explainer that cannot travel is explained here
            payload, choice = b"", Choice(1, "the explainer cannot be sent to another process")
        if payload:
            start_estimate, sent = helper.start_seconds(len(payload)), time.perf_counter()
            try:
                install = helper.install(payload)
            except Exception:  # noqa: BLE001 - the helper could not start: everything here
                broken, choice = True, Choice(1, "the helper process is not available")
        before, start = cpu_sample(), time.perf_counter()
        first, stopped = _probe(fn, X, size, done, should_stop)
        if stopped or first == n:
            return done.result(stopped, Choice(1, ""), False)
        per_row = (time.perf_counter() - start) / first
        if install is not None:
            busy = busy_elsewhere(before, cpu_sample())
            ready = _outcome(install) is True
            left = max(parallel.WARM_START_SECONDS, 0.0 if ready else start_estimate - (time.perf_counter() - sent))
            choice = _decide(workers, per_row * (n - first), busy, left, 2)
        if install is None or choice.workers == 1:
            return done.result(_serial(fn, X, first, size, done, should_stop), choice, False)
        stopped, used, broken = _shared(fn, X, first, size, per_row, install, done, should_stop, workers == 2)
        return done.result(stopped, choice, used)
    finally:
        helper.release(broken)


def _outcome(future: Future[Any]) -> bool | None:
    """True when the future is done and succeeded, False when it failed or was cancelled, None while pending."""
    if not future.done():
        return None
    return not future.cancelled() and future.exception() is None


def _shared(
    fn: ChunkFn,
    X: Any,
    first: int,
    size: int,
    per_row: float,
    install: Future[Any],
    done: _Done,
    should_stop: StopCallback | None,
    wait_for_helper: bool,
) -> tuple[bool, bool, bool]:
    """Rows from `first` on, taken from the front by this process and the helper (up to HELPER_QUEUE chunks
    queued there, so it never idles while this process finishes a chunk of its own).

    Returns (stopped, helper used, helper broken). A chunk the helper fails is explained here. With
    `wait_for_helper` (2 workers fixed by the settings) the work waits for the helper's start. Chunks explained
    here are short (LOCAL_CHUNK_SECONDS): the pool's threads move the helper's chunks only between them.
    """
    helper = parallel.HELPER
    n = done.n
    low = max(1, math.ceil(MIN_CHUNK_SECONDS / max(per_row, 1e-9)))
    high = max(low, math.ceil(MAX_CHUNK_SECONDS / max(per_row, 1e-9)))
    local = max(low, math.ceil(LOCAL_CHUNK_SECONDS / max(per_row, 1e-9)))
    next_row = first
    redo: list[tuple[int, int]] = []
    inflight: list[tuple[Future[Any], int, int]] = []
    used = broken = stopped = False

    def claim(most: int) -> tuple[int, int]:
        nonlocal next_row
        left = n - next_row
        s, next_row = next_row, next_row + min(left, max(low, min(most, math.ceil(left / GUIDE))))
        return s, next_row

    def collect(job: tuple[Future[Any], int, int]) -> None:
        nonlocal broken, used
        future, s, e = job
        try:
            result = future.result()
        except Exception:  # noqa: BLE001 - the helper failed or died: its chunk is explained here
            broken = True
            redo.append((s, e))
        else:
            used = True
            done.take(s, e, result)

    if wait_for_helper:
        wait([install])
    try:
        while True:
            for job in [j for j in inflight if j[0].done()]:
                inflight.remove(job)
                collect(job)
            if should_stop and should_stop():
                stopped = True
                break
            ready = _outcome(install) is True
            broken = broken or _outcome(install) is False
            while ready and not broken and len(inflight) < HELPER_QUEUE and next_row < n:
                s, e = claim(high)
                try:
                    inflight.append((helper.submit(_rows(X, s, e)), s, e))
                except Exception:  # noqa: BLE001 - the pool broke between chunks
                    broken = True
                    redo.append((s, e))
            if redo:
                s, e = redo.pop(0)
                done.take(s, e, fn(_rows(X, s, e)))
            elif next_row < n:
                s, e = claim(local)
                done.take(s, e, fn(_rows(X, s, e)))
                time.sleep(YIELD_SECONDS)  # the GIL to the pool's threads: the helper's results in, its next chunks out
            elif inflight:
                wait([j[0] for j in inflight], timeout=0.05, return_when=FIRST_COMPLETED)
            else:
                break
    finally:
        if inflight:  # stopped (or failed here) with chunks in the helper: short, so wait for them
            wait([j[0] for j in inflight], timeout=MAX_CHUNK_SECONDS * 5 * len(inflight))
            for job in inflight:
                if job[0].done():
                    collect(job)
                else:
                    broken = True
    return stopped, used, broken
