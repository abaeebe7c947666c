"""When SHAP uses the second core: the rule, and how busy the other cores are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelgap.explanations.parallel import CpuSample, busy_elsewhere, choose_workers, cpu_sample


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
    fake.__file__ = str(Path(__file__).resolve().parent.parent / "app.py")
    assert main_is_safe()
    unguarded = tmp_path / "script.py"
    unguarded.write_text("import modelgap\nprint('runs again in every worker')\n")
    fake.__file__ = str(unguarded)
    assert not main_is_safe()
