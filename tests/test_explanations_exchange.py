"""The rows and SHAP values a run shares with the helper process through a mapped file (exchange.py)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelgap.explanations import exchange as exchange_module
from modelgap.explanations.exchange import Exchange

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def app_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """`__main__` as under Streamlit (guarded app.py), so the helper process may start in this worker."""
    main = types.ModuleType("__main__")
    main.__file__ = str(APP)
    monkeypatch.setitem(sys.modules, "__main__", main)


def _files() -> set[str]:
    return {name for name in os.listdir("/dev/shm") if name.startswith("modelgap-shap-")}


def _sample(X: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((16, X.shape[1], k)), np.zeros((16, k))


def test_two_mappings_of_an_exchange_share_rows_and_values() -> None:
    """What the helper maps is what this process wrote: rows in one direction, values in the other."""
    X = np.arange(3000.0).reshape(1000, 3)
    made = Exchange.create(X, *_sample(X))
    assert made is not None
    try:
        assert oct(os.stat(made.layout.path).st_mode & 0o777) == "0o600"  # the user's rows: not readable by others
        other = Exchange.attach(made.layout)  # as the helper does, from the layout it is sent
        assert np.array_equal(other.rows, X) and other.rows.dtype == X.dtype
        values = np.random.default_rng(0).normal(size=(300, 3, 2))
        other.put(100, 400, values, np.full((300, 2), 7.0))
        got_values, got_base = made.take(100, 400)
        assert np.array_equal(got_values, values) and np.array_equal(got_base, np.full((300, 2), 7.0))
        made.remove()
        assert not os.path.exists(made.layout.path)
        assert np.array_equal(got_values, values)  # taken values are copies: they outlive the file
    finally:
        made.remove()


def test_a_result_of_another_shape_or_type_is_refused_not_broadcast() -> None:
    X = np.arange(300.0).reshape(100, 3)
    made = Exchange.create(X, *_sample(X, k=2))
    assert made is not None
    try:
        with pytest.raises(ValueError, match="values"):
            made.put(0, 10, np.ones((10, 3, 1)), np.ones((10, 2)))  # one class where two are expected
        with pytest.raises(ValueError, match="values"):
            made.put(0, 10, np.ones((10, 3, 2), dtype=np.float32), np.ones((10, 2)))
        with pytest.raises(ValueError, match="base"):
            made.put(0, 10, np.ones((10, 3, 2)), np.ones((10, 1)))
        assert not made.values.any() and not made.base.any()
    finally:
        made.remove()


def test_no_exchange_where_the_rows_cannot_be_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Frames, object columns, oversized runs and machines without /dev/shm keep the pipes (and leave no file)."""
    import pandas as pd

    X = np.arange(300.0).reshape(100, 3)
    before = _files()
    assert Exchange.create(pd.DataFrame(X), *_sample(X)) is None
    assert Exchange.create(X.astype(object), *_sample(X)) is None
    monkeypatch.setattr(exchange_module, "MAX_BYTES", 1000)
    assert Exchange.create(X, *_sample(X)) is None
    monkeypatch.undo()
    monkeypatch.setattr(exchange_module, "SHM_DIR", str(tmp_path / "missing"))
    assert Exchange.create(X, *_sample(X)) is None
    assert _files() == before


class Doubler:
    """A picklable chunk function: values 2 x rows; base tags the process that explained the row."""

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import time

        time.sleep(0.002 * len(rows))
        return rows[:, :, None] * 2.0, np.full((len(rows), 1), float(os.getpid()))


class Float32InHelper(Doubler):
    """Values as float32 in any other process: a result the exchange must refuse."""

    def __init__(self, parent: int) -> None:
        self.parent = parent

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, base = super().__call__(rows)
        return (values if os.getpid() == self.parent else values.astype(np.float32)), base


class Spy:
    """Counts how chunks go to the real helper (rows pickled, or a range of the exchange)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from modelgap.explanations.parallel import HELPER

        self.ranges = self.pickled = 0
        submit, submit_range = HELPER.submit, HELPER.submit_range

        def by_rows(rows: Any, slot: int = 0) -> Any:
            self.pickled += 1
            return submit(rows, slot)

        def by_range(slot: int, start: int, stop: int) -> Any:
            self.ranges += 1
            return submit_range(slot, start, stop)

        monkeypatch.setattr(HELPER, "submit", by_rows)
        monkeypatch.setattr(HELPER, "submit_range", by_range)


def _pair_run(fn: Any, X: np.ndarray) -> list[Any]:
    from modelgap.explanations.worklist import Job, run_jobs

    return run_jobs([Job(fn, X, 64), Job(fn, X, 64)], workers=2)


@pytest.mark.parametrize("shared", [True, False])
def test_a_pairs_rows_cross_by_the_exchange_or_else_the_pipes(
    shared: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With /dev/shm, the helper gets ranges of the exchange (no rows pickled) and the file is gone after the
    run; without, the same run goes through the pipes; both give the values of one call on all rows."""
    if not shared:
        monkeypatch.setattr(exchange_module, "SHM_DIR", str(tmp_path / "missing"))
    spy = Spy(monkeypatch)
    before = _files()
    X = np.arange(1200.0).reshape(400, 3)
    results = _pair_run(Doubler(), X)
    helper_rows = 0
    for res in results:
        assert res.n_done == 400 and res.values.dtype == np.float64
        assert np.array_equal(res.values[:, :, 0], X * 2.0)
        helper_rows += int((res.base[:, 0] != os.getpid()).sum())
    assert helper_rows > 0 and any(res.parallel for res in results)  # the helper explained some rows
    assert (spy.ranges > 0, spy.pickled > 0) == ((True, False) if shared else (False, True))
    assert _files() == before


def test_a_chunk_the_exchange_refuses_is_explained_here() -> None:
    """The helper's values come back as another type than the first piece's: its chunks fail to go into the
    exchange and are explained here instead, so every row has this process's float64 values."""
    before = _files()
    X = np.arange(1200.0).reshape(400, 3)
    for res in _pair_run(Float32InHelper(os.getpid()), X):
        assert res.n_done == 400 and res.values.dtype == np.float64
        assert np.array_equal(res.values[:, :, 0], X * 2.0)
        assert set(res.base[:, 0]) == {float(os.getpid())}
    assert _files() == before
