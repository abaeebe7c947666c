"""The rows of one or more models (a comparison's pair) as one work list for this process and the helper.

The list holds each model's rows in turn (the repo model's, then the deployed model's), so the second core
helps across the pair: the end of one model overlaps the start of the next, and one probe and one decision
serve both. Steps, each paid only when the one before says it may pay:

1. A first piece of each model (PROBE_ROWS rows) here, which prices the work. When even an idle second core
   and a running helper could not save MIN_GAIN_SECONDS (a small job), the rest runs here: nothing is sent.
2. Else the explainers travel to the helper (one slot per model, the rows in a file both processes map:
   exchange.py) while the probe goes on here in doubling pieces (about PROBE_SECONDS), which measures how busy
   the other cores are; `parallel.choose_workers` decides the rest.
3. With 2 workers, both take chunks from the front of the list: this process short ones (shap holds the GIL
   for a whole call, and the pool's threads that feed the helper need it between chunks), the helper guided
   ones (1/GUIDE of the work left, in seconds, across the models).

A model's turn begins when its first chunk past its first piece is claimed: its should_stop is asked then
(that is when a model's time budget starts in the app) and before each of its chunks; a model stopped before
its turn keeps no rows, as a serial run that never began it. Every chunk is explained by the model's own
function on the same rows, so the values are those of a serial run. Constants live in `chunks`.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelgap.explanations import chunks, parallel
from modelgap.explanations.chunks import ChunkFn, ChunkResult
from modelgap.explanations.exchange import Exchange
from modelgap.explanations.parallel import Choice, CpuSample, busy_elsewhere, cpu_sample
from modelgap.explanations.result import ProgressCallback, StopCallback
from modelgap.processes import main_is_safe

# The helper's trial chunk: a cheap bet (this process never waits for it), placed once a short busy measure
# (from when the caller began preparing the jobs) shows almost no other load. /proc/stat counts 10 ms ticks, so
# a window this short often reads busy on an idle machine: that answer is asked again over a longer window, and a
# wrong "free" costs one chunk of the helper's time (measured: 0.01 s instead of 0.02 took ~20 ms off the
# median of a GBM pair at 10k rows)
TRIAL_WINDOW_SECONDS = 0.01
TRIAL_BUSY_CORES = 0.25


@dataclass
class Job:
    """One model's rows: `fn` explains a slice of X; `size` is the chunk when this process works alone."""

    fn: ChunkFn
    X: Any
    size: int
    progress: ProgressCallback | None = None
    should_stop: StopCallback | None = None
    ahead: Callable[[], None] | None = None  # other work for this process while the helper works (once)


class _State:
    """A job's progress through the list: rows claimed, chunks done, what a row costs here."""

    def __init__(self, slot: int, job: Job) -> None:
        self.slot = slot
        self.job = job
        self.n = job.X.shape[0]
        self.done = chunks._Done(self.n, job.progress)
        self.next = 0  # first row nobody claimed yet
        self.begun = False
        self.stopped = False
        self.used = False  # the helper explained some of its rows
        self.pending: list[tuple[int, int, tuple[np.ndarray, np.ndarray]]] = []  # first piece, before its turn
        self.spent = 0.0  # seconds and rows explained here: the cost of a row
        self.timed = 0
        self.install: Future[Any] | None = None
        self.sample: tuple[np.ndarray, np.ndarray] | None = None  # the first piece's result: a row's shapes
        self.exchange: Exchange | None = None  # the rows and values shared with the helper (else pickled)
        self.ahead = job.ahead

    @property
    def per_row(self) -> float:
        return self.spent / self.timed if self.timed else 0.0

    @property
    def unclaimed(self) -> int:
        return 0 if self.stopped else self.n - self.next

    def explain(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        began = time.perf_counter()
        result = self.job.fn(chunks._rows(self.job.X, start, stop))
        self.spent += time.perf_counter() - began
        self.timed += stop - start
        return result

    def first_piece(self) -> None:
        stop = min(chunks.PROBE_ROWS, self.n)
        result = self.explain(0, stop)
        self.pending.append((0, stop, result))
        self.next = stop
        self.sample = result

    def should_stop(self) -> bool:
        return self.job.should_stop is not None and self.job.should_stop()

    def begin(self) -> bool:
        """Its turn: False (and no rows kept) when it is stopped before it, else its first piece counts."""
        self.begun = True
        if self.job.progress is not None:
            self.job.progress(0, self.n)
        if self.should_stop():
            self.stopped, self.pending = True, []
            return False
        for start, stop, result in self.pending:
            self.done.take(start, stop, result)
        self.pending = []
        return True

    def result(self, choice: Choice) -> ChunkResult:
        if self.used and choice.workers < 2:  # the helper's trial chunk counted, though the rest stayed here
            choice = Choice(2, choice.reason)
        res = self.done.result(self.stopped, choice, self.used)
        if not res.reason:
            res.reason = choice.reason
        return res


def _front(states: list[_State]) -> _State | None:
    """The first job with rows to claim, its turn begun and its should_stop asked (a stopped one is skipped)."""
    for st in states:
        if not st.begun and st.n:
            if st.begin() and st.unclaimed > 0:  # its first piece may have been all its rows
                return st
            continue
        if st.unclaimed <= 0:
            continue
        if st.should_stop():
            st.stopped = True
            continue
        return st
    return None


def _work_left(states: list[_State]) -> float:
    """Projected seconds on one core for the rows nobody has claimed."""
    return sum(st.per_row * st.unclaimed for st in states)


def run_jobs(jobs: list[Job], workers: int | None = None, since: CpuSample | None = None) -> list[ChunkResult]:
    """Explain every job's rows, with the helper process when the rule says it pays; one result per job.

    `workers` fixes the number (1: here alone, no probe; 2: wait for the helper and share the rows); `since`
    starts the busy measure earlier (when the caller began preparing the jobs: a longer, surer window)."""
    states = [_State(slot, job) for slot, job in enumerate(jobs)]
    if workers == 1 or not main_is_safe():
        reason = "fixed by the settings" if workers == 1 else "the helper process is not available"
        return _serial_rest(states, Choice(1, reason))
    for st in states:
        if st.n:
            st.first_piece()
    _front(states)  # the first job's turn: its first piece counts (or none, if it is stopped already)
    helper = parallel.HELPER
    start = helper.start_seconds(0)
    # before anything is sent: could an idle second core and the helper as it stands pay for the rest?
    hopeful = chunks._decide(workers, _work_left(states), 0.0, start, 2)
    if hopeful.workers == 1:
        return _serial_rest(states, hopeful)
    if not helper.acquire(chunks.HELPER_WAIT_SECONDS if workers else 0.0):
        return _serial_rest(states, Choice(1, "the helper process is not available"))
    broken = False
    try:
        sent_bytes = helper.sent_bytes
        broken, sent = _send(states)
        start += (helper.sent_bytes - sent_bytes) / parallel.SEND_BYTES_PER_SECOND
        if sent is None:
            reason = "the explainer cannot be sent to another process"
            reason = "the helper process is not available" if broken else reason
            return _serial_rest(states, Choice(1, reason))
        before = since or cpu_sample()

        def decide() -> Choice:
            busy = busy_elsewhere(before, cpu_sample())
            ready = all(chunks._outcome(st.install) is True for st in states if st.install is not None)
            left = max(parallel.WARM_START_SECONDS, 0.0 if ready else start - (time.perf_counter() - sent))
            return chunks._decide(workers, _work_left(states), busy, left, 2)

        def looks_free() -> bool | None:
            """Whether other processes leave the second core free so far (None: too early to tell)."""
            now = cpu_sample()
            if now.wall - before.wall < TRIAL_WINDOW_SECONDS:
                return None
            return busy_elsewhere(before, now, min_window=TRIAL_WINDOW_SECONDS) <= TRIAL_BUSY_CORES

        shared = _Shared(states, decide, looks_free, wait_for_helper=workers == 2)
        broken = shared.run() or broken
        return [st.result(shared.choice or Choice(1, "")) for st in states]
    finally:
        helper.release(broken)
        for st in states:
            if st.exchange is not None:
                st.exchange.remove()


def _send(states: list[_State]) -> tuple[bool, float | None]:
    """Each job's explainer to its slot in the helper: (helper broken, when sent; None when none could go)."""
    sent: float | None = None
    for st in states:
        try:
            payload = pickle.dumps(st.job.fn, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an explainer that cannot travel is explained here
            continue
        if st.sample is not None and st.unclaimed > 0:
            st.exchange = Exchange.create(st.job.X, *st.sample)
        try:
            layout = st.exchange.layout if st.exchange is not None else None
            st.install = parallel.HELPER.install(payload, st.slot, layout)
        except Exception:  # noqa: BLE001 - the helper could not start: everything here
            return True, None
        sent = time.perf_counter() if sent is None else sent
    return False, sent


def _serial_rest(states: list[_State], choice: Choice) -> list[ChunkResult]:
    """Every job's rows not yet claimed, here, in chunks of its `size`, job after job."""
    while (st := _front(states)) is not None:
        stop = min(st.next + st.job.size, st.n)
        start, st.next = st.next, stop
        st.done.take(start, stop, st.explain(start, stop))
    return [st.result(choice) for st in states]


Chunk = tuple[Future[Any], _State, int, int]


class _Shared:
    """The rows left, from the front of the list, by this process and the helper, in three phases:

    - trial (until PROBE_SECONDS, the first piece counted, or the first job's first chunk is done here): this
      process explains doubling pieces while the busy measure runs; once TRIAL_WINDOW_SECONDS or more of it
      show the second core idle (asked after each piece until then), the helper (holding the explainer) takes
      one chunk of about PROBE_SECONDS too (its CPU is not "other processes"); a machine busy throughout gets
      none; then `decide`;
    - 2 workers: this process takes short chunks (LOCAL_CHUNK_SECONDS, yielding the GIL after each) and the
      helper guided ones, up to HELPER_QUEUE queued there so it never idles (one near the end); with nothing
      left to claim, this process explains a chunk still queued behind the helper's current one itself;
    - 1 worker: this process takes chunks of `size`; a trial chunk still in the helper when nothing else is
      left is explained here instead of waited for, so staying serial is never slower than serial.
    """

    def __init__(
        self,
        states: list[_State],
        decide: Callable[[], Choice],
        looks_free: Callable[[], bool | None],
        *,
        wait_for_helper: bool,
    ) -> None:
        self.states = states
        self.decide = decide
        self.looks_free = looks_free
        self.trial: bool | None = None  # whether the helper takes a trial chunk (None: too early to tell; False
        # is asked again, over a longer window, until the choice: /proc/stat's 10 ms ticks make a short one noisy)
        self.wait_for_helper = wait_for_helper
        self.choice: Choice | None = None  # None during the trial
        self.inflight: list[Chunk] = []
        self.redo: list[tuple[_State, int, int]] = []
        self.broken = False

    def claim(self, most: float, rows: int | None = None, share: int = 1) -> tuple[_State, int, int] | None:
        """The next chunk of the front job: `rows` rows, or guided (1/GUIDE of the seconds left, at least
        MIN_CHUNK_SECONDS, divided by `share`, at most `most`)."""
        st = _front(self.states)
        if st is None:
            return None
        if rows is None:
            left = _work_left(self.states)
            least = min(chunks.MIN_CHUNK_SECONDS, left / 2)  # the last rows: half each, so both finish together
            want = min(most, max(least, left / chunks.GUIDE) / share)
            rows = _rows_for(st, want)
        start, st.next = st.next, st.next + max(1, min(rows, st.unclaimed))
        return st, start, st.next

    def collect(self, chunk: Chunk) -> None:
        future, st, s, e = chunk
        try:
            result = future.result()
        except Exception:  # noqa: BLE001 - the helper failed or died: its chunk is explained here
            self.broken = True
            self.redo.append((st, s, e))
        else:
            st.used = True
            st.done.take(s, e, result if st.exchange is None else st.exchange.take(s, e))

    def feed(self) -> None:
        """Chunks to the helper while it has room for them (none after a choice of 1 worker)."""
        if self.choice is None and not self.trial:
            self.trial = self.looks_free()
        room = int(bool(self.trial)) if self.choice is None else (chunks.HELPER_QUEUE if self.choice.workers > 1 else 0)
        if _work_left(self.states) < chunks.HELPER_QUEUE * chunks.MIN_CHUNK_SECONDS:
            room = min(room, 1)  # the end: this process should not wait for chunks queued behind another
        most = chunks.PROBE_SECONDS if self.choice is None else chunks.MAX_CHUNK_SECONDS
        while not self.broken and len(self.inflight) < room:
            front = _front(self.states)
            if front is None or front.install is None or chunks._outcome(front.install) is not True:
                return
            if front.exchange is not None:
                front.exchange.remove()  # the helper has mapped it: nothing is left behind if a process dies
            claimed = self.claim(most)
            assert claimed is not None
            st, s, e = claimed
            try:
                if st.exchange is not None:
                    future = parallel.HELPER.submit_range(st.slot, s, e)
                else:
                    future = parallel.HELPER.submit(chunks._rows(st.job.X, s, e), st.slot)
                self.inflight.append((future, st, s, e))
            except Exception:  # noqa: BLE001 - the pool broke between chunks
                self.broken = True
                self.redo.append((st, s, e))

    def run(self) -> bool:
        """Every row explained (or its job stopped); True when the helper broke."""
        states = self.states
        if self.wait_for_helper:
            wait([st.install for st in states if st.install is not None])
        first = states[0]
        began, probed, piece = time.perf_counter() - first.spent, first.next, chunks.PROBE_ROWS * 2
        try:
            while True:
                for chunk in [c for c in self.inflight if c[0].done()]:
                    self.inflight.remove(chunk)
                    self.collect(chunk)
                self.broken = self.broken or any(
                    chunks._outcome(st.install) is False for st in states if st.install is not None
                )
                elapsed = time.perf_counter() - began
                if self.choice is None and (elapsed >= chunks.PROBE_SECONDS or probed >= first.job.size):
                    self.choice = self.decide()
                self.feed()
                if self.redo:
                    st, s, e = self.redo.pop(0)
                    st.done.take(s, e, st.explain(s, e))
                    continue
                ahead = next((st for st in states if st.ahead is not None), None)
                if self.choice is not None and self.choice.workers > 1 and ahead is not None and self.inflight:
                    work, ahead.ahead = ahead.ahead, None
                    assert work is not None
                    work()  # e.g. the model's outputs, needed after the rows: the helper's chunks meanwhile
                    continue
                if self.choice is None:
                    claimed = self.claim(0.0, piece)
                elif self.choice.workers > 1:
                    claimed = self.claim(chunks.LOCAL_CHUNK_SECONDS, share=chunks.LOCAL_SHARE)
                else:
                    claimed = self.claim(0.0, _front_size(states))
                if claimed is not None:
                    st, s, e = claimed
                    st.done.take(s, e, st.explain(s, e))
                    if self.choice is None:
                        probed += e - s
                        elapsed = time.perf_counter() - began
                        fits = math.ceil((chunks.PROBE_SECONDS - elapsed) / max(st.per_row, 1e-9))
                        piece = max(chunks.PROBE_ROWS, min(piece * 2, fits))
                    if self.inflight or self.choice is None or self.choice.workers > 1:
                        time.sleep(chunks.YIELD_SECONDS)  # the GIL to the pool's threads: results in, chunks out
                elif self.inflight and self.choice is not None and self.choice.workers == 1:
                    _, st, s, e = self.inflight.pop(0)  # the helper shares a busy core: do not wait for it
                    st.done.take(s, e, st.explain(s, e))
                elif len(self.inflight) > 1:  # nothing left here: the chunk queued behind the helper's own
                    _, st, s, e = self.inflight.pop()
                    st.done.take(s, e, st.explain(s, e))
                elif self.inflight:
                    wait([c[0] for c in self.inflight], timeout=0.05, return_when=FIRST_COMPLETED)
                else:
                    break
        finally:
            self.drain()
        return self.broken

    def drain(self) -> None:
        """Stopped (or failed here) with chunks in the helper: short, so wait for them."""
        if not self.inflight:
            return
        wait([c[0] for c in self.inflight], timeout=chunks.MAX_CHUNK_SECONDS * 5 * len(self.inflight))
        for chunk in self.inflight:
            if chunk[0].done():
                self.collect(chunk)
            else:
                self.broken = True
        self.inflight = []


def _front_size(states: list[_State]) -> int:
    front = next((st for st in states if st.unclaimed > 0), None)
    return front.job.size if front is not None else 1


def _rows_for(st: _State, seconds: float) -> int:
    return max(1, min(st.unclaimed, math.ceil(seconds / max(st.per_row, 1e-9))))
