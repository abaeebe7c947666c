"""The second core for SHAP: whether it pays (a pure rule), how busy the machine is, and one helper process.

shap's TreeExplainer for scikit-learn models runs on one core and holds the GIL, so the second core is used by
a *helper process*: this process and the helper take row chunks from the front of the same queue (guided
sizes, shrinking towards the end) until none is left. The helper is one long-lived worker forked from the
"forkserver" (a clean process, safe even when this one runs threads or OpenMP), started ahead of use (`warm`:
when a comparison with a scikit-learn tree model starts, and when such a model's explanation starts), sent the
explainers once per run (one slot per model: a comparison's pair shares one work list, see worklist.py) with
the rows to explain in a file both processes map (exchange.py: a chunk is then three numbers each way), and
stopped after a minute without work. While it starts, this process keeps explaining, so a slow start costs no
time here: it only delays when the helper begins to help. Nothing is sent for work too short to pay.

The rule (`choose_workers`) says 1 when another process already uses the second core or the work is too short
for the start-up; the busy measure comes from /proc/stat over the first chunks (other processes' CPU time, this
one's and the helper's subtracted), or the 1-minute load average where /proc/stat is missing.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from modelgap.explanations.exchange import Exchange, Layout

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
    helper: float = 0.0  # CPU seconds the helper's processes used (they are ours, not "other processes")


def cpu_sample() -> CpuSample:
    return CpuSample(time.perf_counter(), _system_busy(), time.process_time(), HELPER.cpu_seconds())


def busy_elsewhere(before: CpuSample, after: CpuSample, min_window: float = 0.05) -> float:
    """Cores kept busy by other processes between two samples; the load average minus this process if the
    window is too short to tell (under `min_window`: /proc/stat counts in 10 ms ticks) or /proc/stat is missing."""
    wall = after.wall - before.wall
    if before.busy is None or after.busy is None or wall < min_window:
        try:
            return max(0.0, os.getloadavg()[0] - 1.0)
        except OSError:
            return 0.0
    ours = (after.own - before.own) + max(0.0, after.helper - before.helper)
    return max(0.0, (after.busy - before.busy - ours) / wall)


def _system_busy() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# -- the helper process ------------------------------------------------------------------------------------------

_INSTALLED: dict[int, Any] = {}  # in the helper: the chunk functions of the current run, by slot (one a model)
_EXCHANGES: dict[int, Exchange] = {}  # ... and, by slot, the rows and values shared with the parent


def _install(payload: bytes, slot: int = 0, layout: Layout | None = None) -> bool:
    _INSTALLED[slot] = pickle.loads(payload)  # our own pickle of our own explainer, from our parent
    _EXCHANGES.pop(slot, None)
    if layout is not None:
        _EXCHANGES[slot] = Exchange.attach(layout)
    return True


def _run(rows: Any, slot: int = 0) -> Any:
    return _INSTALLED[slot](rows)


def _run_range(slot: int, start: int, stop: int) -> int:
    """Rows start:stop of the slot's exchange explained, their values written back there."""
    exchange = _EXCHANGES[slot]
    values, base = _INSTALLED[slot](exchange.rows[start:stop])
    exchange.put(start, stop, np.asarray(values), np.asarray(base))
    return stop - start


def _ping() -> bool:
    return True


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process `pid` from /proc; 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, ValueError, IndexError):
        return 0.0


def _forget() -> None:
    _INSTALLED.clear()
    _EXCHANGES.clear()


class Helper:
    """One worker process, reused from run to run; one run at a time (`acquire` says whether it is free)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one run at a time
        self._start_lock = threading.Lock()  # one start at a time (a thread of its own: a cold start takes seconds)
        self._spawned = False  # the process exists: a submit returns at once
        self._pending = 0  # submits waiting in a thread for the process to start
        self._count_lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._timer: threading.Timer | None = None
        self._warm = False
        self._since = 0.0  # when the current helper process was asked to start
        self.sent_payloads = 0  # explainers sent so far (a run that stays serial sends none)
        self.sent_bytes = 0

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        """Take the helper for one run; wait up to `wait_seconds` for another run (another session) to end."""
        taken = self._lock.acquire(timeout=wait_seconds) if wait_seconds > 0 else self._lock.acquire(blocking=False)
        if not taken:
            return False
        if self._timer is not None:
            self._timer.cancel()
        return True

    def warm(self) -> bool:
        """Start the helper in the background (this returns at once) so that its cold start overlaps other
        work; stopped after IDLE_SECONDS if no run uses it. False where worker processes may not start."""
        from modelgap.processes import main_is_safe

        if not main_is_safe():
            return False
        if self._executor is None and not self._pending:
            self._submit(_ping).add_done_callback(self._started)
            if not self._lock.locked():  # a run in progress sets its own timer when it ends
                self._stop_later()
        return True

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the helper and the fork server it came from (0 when there is none)."""
        executor = self._executor
        if executor is None:
            return 0.0
        pids = list(getattr(executor, "_processes", None) or {})
        try:
            from multiprocessing import forkserver

            server = getattr(forkserver._forkserver, "_forkserver_pid", None)
        except (ImportError, AttributeError):
            server = None
        if server:
            pids.append(server)
        return sum(_process_cpu(pid) for pid in pids)

    def start_seconds(self, payload_bytes: int) -> float:
        """Seconds before the helper can take a chunk: a round trip when it runs, else what is left of a cold
        start (one asked for by `warm` has been under way for a while), plus sending the explainer."""
        if self._executor is None:
            start = COLD_START_SECONDS
        elif self._warm:
            start = WARM_START_SECONDS
        else:
            start = max(WARM_START_SECONDS, COLD_START_SECONDS - (time.perf_counter() - self._since))
        return start + payload_bytes / SEND_BYTES_PER_SECOND

    def install(self, payload: bytes, slot: int = 0, layout: Layout | None = None) -> Future[bool]:
        """Send an explainer (to `slot`: one per model of a run), and where its rows are the `layout`'s file;
        the future is done when the helper holds it (after its start if it is cold)."""
        self.sent_payloads += 1
        self.sent_bytes += len(payload)
        future = self._submit(_install, payload, slot, layout)
        future.add_done_callback(self._started)
        return future

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """`fn(*args)` in the helper, without waiting here for its process to start: the first submit spawns
        it, which waits for the fork server to import shap, so that submit runs in a thread of its own."""
        if self._spawned and self._executor is not None:
            return self._executor.submit(fn, *args)
        outer: Future[Any] = Future()
        self._count(1)

        def start() -> None:
            try:
                with self._start_lock:
                    inner = self._ensure_executor().submit(fn, *args)
                    self._spawned = True
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                outer.set_exception(exc)
                return
            finally:
                self._count(-1)
            inner.add_done_callback(partial(_copy_outcome, outer))

        threading.Thread(target=start, name="modelgap-shap-helper-start", daemon=True).start()
        return outer

    def _count(self, step: int) -> None:
        with self._count_lock:
            self._pending += step

    def _ensure_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = _context()
            if sys.platform.startswith("linux"):
                from multiprocessing import forkserver

                # the preload applies when the fork server starts (a running one, e.g. from retraining, stays)
                ctx.set_forkserver_preload(["modelgap.explanations.parallel", "modelgap.explanations.tree", "shap"])
                forkserver.ensure_running()
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
            self._warm = False
            self._since = time.perf_counter()
        return self._executor

    def _started(self, future: Future[bool]) -> None:
        self._warm = not future.cancelled() and future.exception() is None

    def submit(self, rows: Any, slot: int = 0) -> Future[Any]:
        assert self._executor is not None
        return self._executor.submit(_run, rows, slot)

    def submit_range(self, slot: int, start: int, stop: int) -> Future[int]:
        """Rows start:stop of the slot's exchange (installed with a layout): only three numbers cross."""
        assert self._executor is not None
        return self._executor.submit(_run_range, slot, start, stop)

    def release(self, broken: bool = False) -> None:
        """End a run: drop the explainer in the helper (or the helper itself if it broke), free the helper."""
        try:
            if not broken:
                if self._executor is not None or self._pending:  # a start under way gets the explainer first
                    self._submit(_forget)
                self._stop_later()  # stops a helper that started after this run chose to stay serial too
        except Exception:  # noqa: BLE001 - the pool broke after the last chunk: start afresh next time
            broken = True
        finally:
            if broken:
                self.stop()
            self._lock.release()

    def _stop_later(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(IDLE_SECONDS, self._stop_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _stop_if_idle(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self.stop()
            finally:
                self._lock.release()

    def stop(self) -> None:
        with self._start_lock:  # a start under way ends first
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            self._spawned = self._warm = False


def _copy_outcome(outer: Future[Any], inner: Future[Any]) -> None:
    if inner.cancelled():
        outer.cancel()
    elif inner.exception() is not None:
        outer.set_exception(inner.exception())
    else:
        outer.set_result(inner.result())


HELPER = Helper()


def warm_if_free() -> bool:
    """Start the helper ahead of a run (its cold start then overlaps other work) unless the other cores look
    busy by the 1-minute load average; a run still decides from its own measure."""
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    if cores < 2 or load > cores - FREE_CORE:
        return False
    return HELPER.warm()


def _context() -> Any:
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
