"""The second core for SHAP: whether it pays (a pure rule), how busy the machine is, and one helper process.

shap's TreeExplainer for scikit-learn models runs on one core and holds the GIL, so the second core is used by
a *helper process*: this process and the helper take row chunks from the front of the same queue (guided
sizes, shrinking towards the end) until none is left. The helper is one long-lived worker forked from the
"forkserver" (a clean process, safe even when this one runs threads or OpenMP), started on first use, sent the
explainer once per run and stopped after a minute without work. While it starts, this process keeps
explaining, so a slow start costs no time here: it only delays when the helper begins to help.

The rule (`choose_workers`) says 1 when another process already uses the second core or the work is too short
for the start-up; the busy measure comes from /proc/stat over the first chunk (other processes' CPU time, this
one's subtracted), or the 1-minute load average where /proc/stat is missing.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

COLD_START_SECONDS = 3.0  # fork server + shap import in the helper, measured on the 2-core machine when idle
WARM_START_SECONDS = 0.05  # a running helper: one round trip
SEND_BYTES_PER_SECOND = 2e8  # pickled explainer through a pipe and back into objects
MIN_GAIN_SECONDS = 0.25  # a second worker must save at least this much
FREE_CORE = 0.5  # the second core counts as free when other processes leave at least half of it
IDLE_SECONDS = 60.0  # a helper without work for this long is stopped (it holds shap and the last model)


@dataclass(frozen=True)
class Choice:
    workers: int  # 1: this process (or thread) alone; 2: this process and a helper (or 2 threads)
    reason: str


def choose_workers(
    *, cores: int, busy_elsewhere: float, work_seconds: float, start_seconds: float, max_workers: int = 2
) -> Choice:
    """How many workers explain the rest: more only where they are free and the work outlasts their start.

    `busy_elsewhere`: cores other processes keep busy; `work_seconds`: the rest's projected time on one core;
    `start_seconds`: time before a second worker helps. With shared chunks, w workers starting after s seconds
    finish work W in about (W + (w-1)s)/w, never later than one worker alone.
    """
    free = cores - 1 - busy_elsewhere  # cores left besides the one this process uses
    if max_workers < 2 or cores < 2:
        return Choice(1, "one core")
    if free < FREE_CORE:
        return Choice(1, f"the other core is busy ({busy_elsewhere:.1f} of {cores} cores used by other processes)")
    workers = min(max_workers, 1 + math.floor(free + FREE_CORE))  # >= 2: free >= FREE_CORE
    gain = work_seconds - (work_seconds + (workers - 1) * start_seconds) / workers
    if gain < MIN_GAIN_SECONDS:
        return Choice(1, f"too little work ({work_seconds:.1f} s) for a second worker (start {start_seconds:.1f} s)")
    return Choice(workers, f"{workers} workers ({busy_elsewhere:.1f} cores busy elsewhere)")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class CpuSample:
    wall: float
    busy: float | None  # CPU seconds every process used since boot (/proc/stat); None where unavailable
    own: float  # CPU seconds this process used (all its threads)


def cpu_sample() -> CpuSample:
    return CpuSample(time.perf_counter(), _system_busy(), time.process_time())


def busy_elsewhere(before: CpuSample, after: CpuSample) -> float:
    """Cores kept busy by other processes between two samples; the load average minus this process if the
    window is too short to tell (under 50 ms) or /proc/stat is missing."""
    wall = after.wall - before.wall
    if before.busy is None or after.busy is None or wall < 0.05:
        try:
            return max(0.0, os.getloadavg()[0] - 1.0)
        except OSError:
            return 0.0
    return max(0.0, (after.busy - before.busy - (after.own - before.own)) / wall)


def _system_busy() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# -- the helper process ------------------------------------------------------------------------------------------

_INSTALLED: Any = None  # in the helper: the chunk function of the current run


def _install(payload: bytes) -> bool:
    global _INSTALLED
    _INSTALLED = pickle.loads(payload)  # our own pickle of our own explainer, from our parent
    return True


def _run(rows: Any) -> Any:
    return _INSTALLED(rows)


def _forget() -> None:
    global _INSTALLED
    _INSTALLED = None


class Helper:
    """One worker process, reused from run to run; one run at a time (`acquire` says whether it is free)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._timer: threading.Timer | None = None
        self._warm = False

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        """Take the helper for one run; wait up to `wait_seconds` for another run (another session) to end."""
        taken = self._lock.acquire(timeout=wait_seconds) if wait_seconds > 0 else self._lock.acquire(blocking=False)
        if not taken:
            return False
        if self._timer is not None:
            self._timer.cancel()
        return True

    def start_seconds(self, payload_bytes: int) -> float:
        start = WARM_START_SECONDS if self._warm and self._executor is not None else COLD_START_SECONDS
        return start + payload_bytes / SEND_BYTES_PER_SECOND

    def install(self, payload: bytes) -> Future[bool]:
        if self._executor is None:
            ctx = _context()
            if sys.platform.startswith("linux"):
                from multiprocessing import forkserver

                # the preload applies when the fork server starts (a running one, e.g. from retraining, stays)
                ctx.set_forkserver_preload(["modelgap.explanations.parallel", "modelgap.explanations.tree", "shap"])
                forkserver.ensure_running()
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
            self._warm = False
        future = self._executor.submit(_install, payload)
        future.add_done_callback(self._started)
        return future

    def _started(self, future: Future[bool]) -> None:
        self._warm = future.exception() is None

    def submit(self, rows: Any) -> Future[Any]:
        assert self._executor is not None
        return self._executor.submit(_run, rows)

    def release(self, broken: bool = False) -> None:
        """End a run: drop the explainer in the helper (or the helper itself if it broke), free the helper."""
        try:
            if not broken and self._executor is not None:
                self._executor.submit(_forget)
                self._timer = threading.Timer(IDLE_SECONDS, self._stop_if_idle)
                self._timer.daemon = True
                self._timer.start()
        except Exception:  # noqa: BLE001 - the pool broke after the last chunk: start afresh next time
            broken = True
        finally:
            if broken:
                self.stop()
            self._lock.release()

    def _stop_if_idle(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self.stop()
            finally:
                self._lock.release()

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._warm = False


HELPER = Helper()


def _context() -> Any:
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
