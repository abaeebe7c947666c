"""When SHAP uses the second core: the rule, and how busy the other cores are."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelgap.explanations.parallel import CpuSample, busy_elsewhere, choose_workers, cpu_sample

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def app_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """`__main__` as under Streamlit (a module whose file is the guarded app.py), so the helper may start here
    whatever an earlier test in this worker left as `__main__` (an AppTest leaves its own, unguarded)."""
    import sys
    import types

    main = types.ModuleType("__main__")
    main.__file__ = str(APP)
    monkeypatch.setitem(sys.modules, "__main__", main)


@pytest.mark.parametrize(
    ("cores", "busy", "work", "start", "max_workers", "workers"),
    [
        (2, 0.0, 10.0, 3.0, 2, 2),  # idle machine, long work: worth a cold helper start
        (2, 0.0, 3.0, 3.0, 2, 1),  # the helper would start when the work is done
        (2, 0.0, 1.0, 0.05, 2, 2),  # a running helper pays for a second of work
        (2, 0.0, 0.3, 0.05, 2, 1),  # ... not for 0.3 s (gain 0.125 s)
        (2, 0.0, 0.6, 0.0, 2, 2),  # threads start at once: 0.6 s saves 0.3 s
        (2, 0.4, 60.0, 0.0, 2, 2),  # other processes leave more than half the second core
        (2, 0.6, 60.0, 0.0, 2, 1),  # ... or not: stay serial
        (2, 1.8, 60.0, 0.0, 2, 1),  # both cores taken by others
        (1, 0.0, 60.0, 0.0, 2, 1),  # one core
        (8, 0.0, 60.0, 0.0, 8, 8),  # threads may use every free core
        (8, 5.2, 60.0, 0.0, 8, 3),  # ... 1.8 free besides ours: 2 more
        (8, 0.0, 60.0, 3.0, 2, 2),  # processes: this one and one helper
        (4, 0.0, 60.0, 0.0, 1, 1),  # a split that allows one worker
    ],
)
def test_choose_workers(cores: int, busy: float, work: float, start: float, max_workers: int, workers: int) -> None:
    choice = choose_workers(
        cores=cores, busy_elsewhere=busy, work_seconds=work, start_seconds=start, max_workers=max_workers
    )
    assert choice.workers == workers, choice.reason
    assert choice.reason


def test_a_second_worker_never_finishes_later_than_one() -> None:
    """Where the rule says 2, the modelled time (W + s) / 2 is below W by at least the minimum gain."""
    for work in (0.1, 0.5, 1.0, 2.0, 5.0, 30.0):
        for start in (0.0, 0.05, 1.0, 3.0, 10.0):
            choice = choose_workers(cores=2, busy_elsewhere=0.0, work_seconds=work, start_seconds=start)
            if choice.workers == 2:
                assert (work + start) / 2 <= work - 0.25


def test_busy_elsewhere_subtracts_this_process() -> None:
    before = CpuSample(wall=10.0, busy=500.0, own=20.0)
    after = CpuSample(wall=11.0, busy=501.5, own=20.9)  # 1.5 CPU s in 1 s, 0.9 of them ours
    assert busy_elsewhere(before, after) == pytest.approx(0.6)
    assert busy_elsewhere(before, CpuSample(wall=11.0, busy=500.5, own=20.9)) == 0.0  # never negative


def test_busy_elsewhere_falls_back_to_the_load_average() -> None:
    short = busy_elsewhere(CpuSample(0.0, 1.0, 0.0), CpuSample(0.01, 1.0, 0.0))  # 10 ms: too short to tell
    assert short == pytest.approx(max(0.0, os.getloadavg()[0] - 1.0), abs=0.5)
    assert busy_elsewhere(CpuSample(0.0, None, 0.0), CpuSample(1.0, None, 1.0)) >= 0.0


def test_the_probe_measures_a_real_window() -> None:
    """Over a real 0.2 s window the other processes' use lies between no core and every core."""
    before = cpu_sample()
    end = before.wall + 0.2
    while cpu_sample().wall < end:
        pass
    after = cpu_sample()
    assert after.own > before.own
    assert 0.0 <= busy_elsewhere(before, after) <= (os.cpu_count() or 1) + 0.1


def test_a_busy_helper_is_refused_at_once_or_awaited_when_asked() -> None:
    import threading

    from modelgap.explanations.parallel import Helper

    helper = Helper()
    assert helper.acquire()
    assert not helper.acquire()  # another run holds it: the rule's choice runs here instead
    threading.Timer(0.3, helper.release, kwargs={"broken": True}).start()
    assert helper.acquire(wait_seconds=10)  # 2 workers fixed by the settings wait for the other run to end
    helper.release(broken=True)


def test_workers_may_start_under_the_app_but_not_under_an_unguarded_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Streamlit's __main__ is a module of its own whose file is the script: app.py guards itself, so the
    helper may re-import it; a script without the guard would run again in every worker, so it stays serial."""
    import sys
    import types

    from modelgap.processes import main_is_safe

    fake = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", fake)
    fake.__file__ = str(APP)
    assert main_is_safe()
    unguarded = tmp_path / "script.py"
    unguarded.write_text("import modelgap\nprint('runs again in every worker')\n")
    fake.__file__ = str(unguarded)
    assert not main_is_safe()


def test_the_helpers_cpu_is_not_counted_as_other_processes() -> None:
    before = CpuSample(wall=10.0, busy=500.0, own=20.0, helper=3.0)
    after = CpuSample(wall=11.0, busy=502.0, own=20.9, helper=3.8)  # 2 CPU s: 0.9 ours, 0.8 our helper's
    assert busy_elsewhere(before, after) == pytest.approx(0.3)


class Doubler:
    """A picklable chunk function that records the rows of each call made in this process."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(len(rows))
        return rows[:, :, None] * 2.0, np.zeros((len(rows), 1))


def test_a_cheap_job_is_priced_by_its_first_piece_and_sends_nothing_to_the_helper() -> None:
    """A cheap job: the first piece (16 rows) shows too little work for a helper even with an idle core, so
    nothing is sent to it and the remaining rows go in chunks of `size` here, with the values of one call on
    all rows."""
    from modelgap.explanations import chunks
    from modelgap.explanations.parallel import HELPER

    fn = Doubler()
    X = np.arange(1500.0).reshape(500, 3)
    sent = (HELPER.sent_payloads, HELPER.sent_bytes)
    res = chunks.run_chunks(fn, X, size=100, split="processes")
    assert fn.calls == [16, 100, 100, 100, 100, 84]
    assert (HELPER.sent_payloads, HELPER.sent_bytes) == sent
    assert res.n_done == 500 and not res.parallel and res.workers == 1 and "too little work" in res.reason
    np.testing.assert_array_equal(res.values[:, :, 0], X * 2.0)
    fn.calls.clear()
    fixed = chunks.run_chunks(fn, X, size=100, split="processes", workers=1)  # serial by the settings: no probe
    assert fn.calls == [100] * 5 and fixed.reason == "fixed by the settings"


def test_a_warmed_helper_starts_at_once_and_its_cpu_is_measured() -> None:
    """`warm` starts the process without waiting; once it answers, a run counts a round trip, not a cold start,
    and the helper's (and fork server's) CPU time is visible to the busy measure."""
    import time

    from modelgap.explanations.parallel import COLD_START_SECONDS, WARM_START_SECONDS, Helper

    helper = Helper()
    assert helper.start_seconds(0) == COLD_START_SECONDS
    began = time.perf_counter()
    assert helper.warm()
    assert time.perf_counter() - began < 1.0  # the cold start happens meanwhile, not here
    try:
        deadline = time.perf_counter() + 60
        while helper.start_seconds(0) != WARM_START_SECONDS and time.perf_counter() < deadline:
            time.sleep(0.05)
        assert helper.start_seconds(0) == WARM_START_SECONDS
        assert helper.cpu_seconds() > 0.0  # importing shap in the fork server took CPU
        assert helper.acquire()  # warm leaves the helper free for a run
        helper.release()
    finally:
        helper.stop()


class Tagged:
    """A picklable chunk function that sleeps 1 ms a row and tags its rows with (process id, first row, rows)."""

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import time

        time.sleep(0.001 * len(rows))
        tag = np.array([[os.getpid(), rows[0, 0] / 3, len(rows)]] * len(rows), dtype=float)
        return np.repeat(rows[:, :, None] * 2.0, 3, axis=2), tag


def test_this_process_explains_short_chunks_and_the_helper_long_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """shap holds the GIL for a whole call, and the pool's threads need it to feed the helper: so the chunks
    explained here after the probe (doubling pieces, while the helper takes a trial chunk) are the shortest
    allowed, while the helper's are guided (1/GUIDE of the work left). The values are those of one call on all
    rows."""
    import itertools

    from modelgap.explanations import chunks

    monkeypatch.setattr(chunks, "MIN_CHUNK_SECONDS", 0.0)
    monkeypatch.setattr(chunks, "LOCAL_CHUNK_SECONDS", 0.0)
    X = np.arange(1800.0).reshape(600, 3)
    res = chunks.run_chunks(Tagged(), X, size=200, split="processes", workers=2)
    assert res.n_done == 600 and res.parallel and res.workers == 2
    np.testing.assert_array_equal(res.values[:, :, 0], X * 2.0)
    calls = {(int(pid), int(start), int(rows)) for pid, start, rows in res.base}
    here = sorted((start, rows) for pid, start, rows in calls if pid == os.getpid())
    helper = [rows for pid, _, rows in calls if pid != os.getpid()]
    probe = list(itertools.takewhile(lambda rows: rows > 1, [rows for _, rows in here]))
    assert probe[:2] == [16, 32] and sum(probe) <= 200 + 128  # doubling pieces, about the first chunk
    after = [rows for _, rows in here[len(probe) :]]
    # then single rows here (but for, at most, a chunk taken back from the helper's queue at the very end)
    assert after.count(1) > 0 and sum(rows > 1 for rows in after) <= 1
    assert helper and max(helper) > 1  # ... and guided chunks in the helper


@pytest.mark.parametrize("kind", ["xgboost", "lightgbm", "logreg", "pipeline"])
def test_models_that_never_use_the_helper_do_not_start_it(kind: str) -> None:
    """Native contributions use threads and linear models a closed form: a comparison of such models (a
    Pipeline's final step counts) starts no helper process ahead of time."""
    from factories import fitted, pipeline, tabular
    from sklearn.linear_model import LogisticRegression

    from modelgap.explanations.engine import warm_helper
    from modelgap.explanations.parallel import HELPER
    from modelgap.model import ModelMetadata
    from modelgap.sources.native import from_native

    if kind == "pipeline":
        est = pipeline(estimator=LogisticRegression(max_iter=500)).fit(*tabular())
    else:
        est, _, _ = fitted(kind)
    running = HELPER.cpu_seconds() > 0  # a helper left by an earlier test may still be up
    assert not warm_helper([from_native(est, kind, ModelMetadata())])
    assert running or HELPER.cpu_seconds() == 0


# -- the two models of a pair on one work list ------------------------------------------------------------------


class Slow:
    """A picklable chunk function of a known cost: `per_row` seconds a row (a sleep), values `scale` x rows."""

    def __init__(self, per_row: float, scale: float) -> None:
        self.per_row = per_row
        self.scale = scale

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import time

        time.sleep(self.per_row * len(rows))
        return rows[:, :, None] * self.scale, np.full((len(rows), 1), self.scale)


def _warm_helper() -> None:
    """The shared helper started and answering, as after a comparison started it (a run then counts a round
    trip for its start, not a cold start)."""
    import time

    from modelgap.explanations.parallel import HELPER, WARM_START_SECONDS

    assert HELPER.warm()
    deadline = time.perf_counter() + 60
    while HELPER.start_seconds(0) != WARM_START_SECONDS and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert HELPER.start_seconds(0) == WARM_START_SECONDS


def _sent() -> tuple[int, int]:
    from modelgap.explanations.parallel import HELPER

    return HELPER.sent_payloads, HELPER.sent_bytes


def test_a_pair_is_priced_as_one_job_before_anything_is_sent() -> None:
    """Two jobs of ~0.37 s each: alone, neither can pay for a second worker even with an idle core and a running
    helper (the gain needs >= 0.55 s of work), so nothing is sent; as a pair they can, so both explainers are
    sent (one slot each), whatever the probe then measures. The values are those of each job alone."""
    from modelgap.explanations.worklist import Job, run_jobs

    _warm_helper()
    X = np.arange(600.0).reshape(200, 3)
    jobs = [Job(Slow(0.002, 2.0), X, 64), Job(Slow(0.002, 3.0), X, 64)]
    before = _sent()
    alone = [run_jobs([job])[0] for job in jobs]
    assert _sent() == before
    assert all(not r.parallel and "too little work" in r.reason for r in alone)
    pair = run_jobs(jobs)
    assert _sent()[0] == before[0] + 2 and _sent()[1] > before[1]
    for one, both, scale in zip(alone, pair, (2.0, 3.0), strict=True):
        assert both.n_done == one.n_done == 200 and not both.stopped
        assert np.array_equal(both.values, one.values) and np.array_equal(both.values[:, :, 0], X * scale)
        assert np.array_equal(both.base, one.base)


def test_a_pair_falls_back_to_this_process_when_the_helper_is_taken() -> None:
    """Another run (another session) holds the helper: the pair stays here, with the same values."""
    from modelgap.explanations.parallel import HELPER
    from modelgap.explanations.worklist import Job, run_jobs

    X = np.arange(600.0).reshape(200, 3)
    jobs = [Job(Slow(0.002, 2.0), X, 64), Job(Slow(0.002, 3.0), X, 64)]
    _warm_helper()
    assert HELPER.acquire()
    try:
        before = _sent()
        pair = run_jobs(jobs)
    finally:
        HELPER.release()
    assert _sent() == before
    for res, scale in zip(pair, (2.0, 3.0), strict=True):
        assert res.n_done == 200 and not res.parallel and res.workers == 1
        assert res.reason == "the helper process is not available"
        assert np.array_equal(res.values[:, :, 0], X * scale)


def _models(kind: str) -> list[Any]:
    from factories import fitted

    from modelgap.model import ModelMetadata
    from modelgap.sources.native import from_native

    return [from_native(fitted(kind, seed=seed)[0], f"{kind}-{seed}", ModelMetadata()) for seed in (0, 1)]


def _rows(n: int) -> Any:
    from factories import numeric, tabular

    return numeric(tabular(n=n, seed=7)[0])


def _serial(models: list[Any], X: Any) -> list[Any]:
    from modelgap.explanations import ExplainSettings, choose_output_space, explain

    output = choose_output_space(models[0], models[1])
    return [explain(m, X, output=output, background=None, settings=ExplainSettings(parallel=False)) for m in models]


def _pair(models: list[Any], X: Any, workers: int | None = 2, **kwargs: Any) -> list[Any]:
    from modelgap.explanations import ExplainSettings, choose_output_space
    from modelgap.explanations.pair import explain_pair

    output = choose_output_space(models[0], models[1])
    settings = ExplainSettings(workers=workers)
    return explain_pair(models, X, output=output, background=None, settings=settings, **kwargs)


def _same(got: Any, want: Any, rows: int | None = None) -> None:
    """Exactly the serial arrays (on the first `rows` rows: a stopped run keeps the rows from the first one)."""
    n = want.n_rows if rows is None else rows
    assert got.n_rows == n and got.targets == want.targets and got.method == want.method
    assert list(got.X.index) == list(want.X.index[:n])
    for t in want.targets:
        assert np.array_equal(got.values[t].to_numpy(), want.values[t].to_numpy()[:n])
        assert np.array_equal(got.outputs[t].to_numpy(), want.outputs[t].to_numpy()[:n])
        if n == want.n_rows:
            assert got.base_values[t] == want.base_values[t]
        else:  # the mean of the per-row base values over fewer rows: equal up to its summation's rounding
            assert got.base_values[t] == pytest.approx(want.base_values[t], rel=1e-12)


@pytest.mark.parametrize("kind", ["gbm", "rf"])
def test_a_pair_on_one_work_list_equals_two_serial_explanations(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both models' rows through this process and the helper (2 workers fixed): the arrays of two serial runs.
    The repo model's rows after the probe go to the helper first (it is fed before this process takes a chunk)."""
    from modelgap.explanations import chunks

    monkeypatch.setattr(chunks, "MIN_CHUNK_SECONDS", 0.0)  # small chunks: both processes take some of each model
    models, X = _models(kind), _rows(600)
    serial = _serial(models, X)
    pair = _pair(models, X)
    for got, want in zip(pair, serial, strict=True):
        _same(got, want)
        assert not got.stopped and not got.additivity.failed
    assert pair[0].workers == 2 and any("2 worker processes" in n for n in pair[0].notes)


@pytest.mark.parametrize("kind", ["gbm", "rf"])
def test_a_model_stopped_early_keeps_its_first_rows_and_the_other_is_whole(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """should_stop ends the repo model's work (right after its first piece, or once 300 rows are done while
    the helper works): it keeps the rows from the first one, with the serial values; the deployed model is
    explained in full. A model stopped before its turn keeps no rows, as a serial run that never began it."""
    from modelgap.explanations import chunks

    monkeypatch.setattr(chunks, "MIN_CHUNK_SECONDS", 0.0)  # chunks of 1/32 of the work left, so that 300 rows
    monkeypatch.setattr(chunks, "GUIDE", 32)  # done leave most of the 1200 unclaimed: the stop is heard
    models, X = _models(kind), _rows(1200)
    serial = _serial(models, X)
    asked: list[int] = []

    def second_ask() -> bool:  # False when its turn begins, True from then on
        asked.append(1)
        return len(asked) > 1

    early = _pair(models, X, should_stop=(second_ask, None))
    assert early[0].stopped and early[0].n_rows == chunks.PROBE_ROWS
    _same(early[0], serial[0], chunks.PROBE_ROWS)
    _same(early[1], serial[1])
    seen: list[int] = []
    late = _pair(models, X, progress=(lambda d, t: seen.append(d), None), should_stop=(lambda: seen[-1] >= 300, None))
    assert late[0].stopped and 300 <= late[0].n_rows < 1200
    _same(late[0], serial[0], late[0].n_rows)
    _same(late[1], serial[1])
    never = _pair(models, X, should_stop=(None, lambda: True))
    assert never[1].n_rows == 0 and never[1].stopped
    _same(never[0], serial[0])


def test_the_deployed_models_budget_starts_at_its_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployed model's should_stop (where its time budget starts) is first asked when the repo model's
    rows are all claimed: by then most of them are explained (the helper holds at most two guided chunks, here
    1/32 of the work left each)."""
    from modelgap.explanations import chunks

    monkeypatch.setattr(chunks, "MIN_CHUNK_SECONDS", 0.0)
    monkeypatch.setattr(chunks, "GUIDE", 32)
    models, X = _models("gbm"), _rows(2000)
    done: list[int] = [0]
    at_first_ask: list[int] = []

    def deployed_stop() -> bool:
        if not at_first_ask:
            at_first_ask.append(done[-1])
        return False

    pair = _pair(models, X, progress=(lambda d, t: done.append(d), None), should_stop=(None, deployed_stop))
    assert pair[0].n_rows == pair[1].n_rows == 2000
    assert at_first_ask and at_first_ask[0] >= 1000


@pytest.mark.parametrize("n", [1, 40])
def test_a_tiny_pair_sends_nothing_to_the_helper(n: int) -> None:
    """One row (explaining a chosen row on demand) or a few: the first pieces price the pair far below what a
    second process could save, so the decision path sends no explainer, even with the helper running."""
    _warm_helper()
    models, X = _models("gbm"), _rows(n)
    serial = _serial(models, X)
    before = _sent()
    pair = _pair(models, X, workers=None)
    assert _sent() == before
    for got, want in zip(pair, serial, strict=True):
        _same(got, want)
        assert got.workers == 1


def test_a_pair_stays_serial_where_workers_may_not_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Under a script without the `__main__` guard the helper would run the script again: the pair is explained
    here, one model after the other, with the serial values and nothing sent."""
    import sys
    import types

    unguarded = tmp_path / "script.py"
    unguarded.write_text("import modelgap\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(unguarded)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    models, X = _models("rf"), _rows(300)
    serial = _serial(models, X)
    before = _sent()
    pair = _pair(models, X)
    assert _sent() == before
    for got, want in zip(pair, serial, strict=True):
        _same(got, want)
        assert got.workers == 1


class SlowInHelper:
    """2 ms a row here, plus a second per call in any other process; tags each row with the process id."""

    def __init__(self, parent: int) -> None:
        self.parent = parent

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import time

        time.sleep(0.002 * len(rows) + (1.0 if os.getpid() != self.parent else 0.0))
        return rows[:, :, None] * 2.0, np.full((len(rows), 1), float(os.getpid()))


def test_a_run_that_stays_serial_explains_the_helpers_trial_chunk_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper takes a trial chunk while the probe measures (the core looked free); when the rule then
    says the other core is busy (other processes' load, simulated here), this process goes on alone and, at
    the end, explains that chunk itself rather than wait for a helper that shares a busy core: every row is
    explained here."""
    from modelgap.explanations import worklist
    from modelgap.explanations.worklist import Job, run_jobs

    _warm_helper()

    def busy(before: Any, after: Any, min_window: float | None = None) -> float:
        # free for the trial's early look (the only caller that asks for a minimum window), busy when the rule
        # decides (other processes' load): keyed by the caller, not by call order, which timing can change
        return 0.0 if min_window is not None else 1.5

    monkeypatch.setattr(worklist, "busy_elsewhere", busy)
    X = np.arange(900.0).reshape(300, 3)
    before = _sent()
    pair = run_jobs([Job(SlowInHelper(os.getpid()), X, 64), Job(SlowInHelper(os.getpid()), X, 64)])
    assert _sent()[0] == before[0] + 2  # the pair could pay on an idle machine: both explainers were sent
    for res in pair:
        assert res.n_done == 300 and not res.parallel and res.workers == 1 and "busy" in res.reason
        assert np.array_equal(res.values[:, :, 0], X * 2.0)
        assert set(res.base[:, 0]) == {float(os.getpid())}
