"""When SHAP uses the second core: the rule, and how busy the other cores are."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_the_probe_doubles_its_pieces_up_to_the_first_chunk_then_runs_serial_chunks() -> None:
    """A cheap job: the probe takes 16, 32, then the rest of the first chunk; too little work for a helper, so
    the remaining rows go in chunks of `size` here, with the values of one call on all rows."""
    from modelgap.explanations import chunks

    fn = Doubler()
    X = np.arange(1500.0).reshape(500, 3)
    res = chunks.run_chunks(fn, X, size=100, split="processes")
    assert fn.calls == [16, 32, 52, 100, 100, 100, 100]
    assert res.n_done == 500 and not res.parallel and res.workers == 1
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
    explained here after the probe are the shortest allowed, while the helper's are guided (a quarter of the
    rows left). The values are those of one call on all rows."""
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
    probe = [rows for start, rows in here if start < 112]
    assert probe[:2] == [16, 32] and sum(probe) <= 200  # doubling pieces, at most the first chunk
    assert all(rows == 1 for start, rows in here[len(probe) :])  # then single rows here
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
