"""Run refits in up to two worker processes (this machine has 2 cores), or serially in this process.

Each worker gets the training data and the compared rows once (the pool's initializer), fits the recipes it
is sent and returns only their outputs on the compared rows (small arrays, never the fitted models). The
pool uses the "forkserver" start method on Linux (a clean process, safe even when this one runs threads or
OpenMP), "spawn" elsewhere. The work stays serial when only one refit is needed, when the machine's cores are
already busy (1-minute load average) or when a recipe cannot be sent to another process (then that refit runs
here). Cancel is checked between refits: pending refits are dropped, running ones finish.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from modelgap.model import Task
from modelgap.processes import main_is_safe
from modelgap.retraining.measure import Outputs, outputs_of_estimator

MAX_WORKERS = 2
_CONTEXT: FitContext | None = None


@dataclass
class Recipe:
    """What one side's refits need: training inputs and labels, the columns to predict with, task and classes."""

    X: pd.DataFrame
    y: pd.Series
    columns: list[str]
    task: Task
    classes: list[Any]


@dataclass
class FitContext:
    recipes: dict[str, Recipe]  # side -> training data
    rows: pd.DataFrame  # the compared rows


@dataclass(frozen=True)
class FitTask:
    key: str  # "recorded:repo", "repeat:deployed", "seed:3", ...
    side: str
    estimator: Any  # unfitted


@dataclass
class FitOutcome:
    key: str
    outputs: Outputs | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class PoolPlan:
    workers: int
    reason: str = ""
    outcomes: dict[str, FitOutcome] = field(default_factory=dict)
    cancelled: bool = False


def run_task(task: FitTask, context: FitContext) -> FitOutcome:
    """Fit one recipe and predict the compared rows; a failing fit becomes the outcome's error."""
    start = time.perf_counter()
    recipe = context.recipes[task.side]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = task.estimator.fit(recipe.X, recipe.y)
            outputs = outputs_of_estimator(fitted, context.rows[recipe.columns], recipe.task, recipe.classes)
    except Exception as exc:  # noqa: BLE001 - the reason is reported in the section, the rest goes on
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        return FitOutcome(task.key, error=f"{type(exc).__name__}: {text}", seconds=time.perf_counter() - start)
    return FitOutcome(task.key, outputs=outputs, seconds=time.perf_counter() - start)


def _init_worker(context: FitContext) -> None:
    global _CONTEXT
    _CONTEXT = context


def _run_in_worker(task: FitTask) -> FitOutcome:
    assert _CONTEXT is not None, "worker started without its context"
    return run_task(task, _CONTEXT)


def choose_workers(n_tasks: int, requested: int | None = None) -> tuple[int, str]:
    """(worker processes, why) for `n_tasks` refits: up to 2, one when the cores are already busy."""
    cores = os.cpu_count() or 1
    if requested is not None:
        n = max(1, min(requested, n_tasks))
    elif n_tasks <= 1 or cores < 2:
        return 1, "serially (one refit, or one core)"
    else:
        load = _load()
        if load >= cores - 0.5:
            return 1, f"serially: the machine's {cores} cores were already busy (load {load:.1f})"
        n = min(MAX_WORKERS, cores, n_tasks)
    if n > 1 and not main_is_safe():
        return 1, 'serially: the running script has no `if __name__ == "__main__":` guard, which workers need'
    return n, f"in {n} worker processes" if n > 1 else "serially"


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _context() -> Any:
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def estimator_modules(estimators: list[Any]) -> list[str]:
    """The modules defining the estimators and their nested steps (what a worker imports to unpickle them)."""
    found: list[str] = []
    for est in estimators:
        if est is None:
            continue
        try:
            params = est.get_params(deep=True) if hasattr(est, "get_params") else {}
        except Exception:  # noqa: BLE001 - a wrapper that cannot list its params: its own module is enough
            params = {}
        for obj in (est, *params.values()):
            if hasattr(obj, "get_params") and type(obj).__module__ != "__main__":  # never re-run a script
                found.append(type(obj).__module__)
    return list(dict.fromkeys(found))


def warm_up(estimators: list[Any]) -> None:
    """Start the fork server now, with this module and the estimators' modules imported once in it, so its
    start overlaps other work and every worker it forks begins with them loaded (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["modelgap.retraining.workers", *estimator_modules(estimators)])
    forkserver.ensure_running()  # no-op when it already runs (the preload applies to its first start)


class Refitter:
    """Runs batches of refits on one pool of workers (started on first use, stopped on close)."""

    def __init__(self, context: FitContext, n_tasks: int, workers: int | None = None) -> None:
        self.context = context
        self.workers, self.reason = choose_workers(n_tasks, workers)
        self.executor: ProcessPoolExecutor | None = None
        self.broken = False

    def __enter__(self) -> Refitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def run(
        self,
        tasks: list[FitTask],
        *,
        cancel: threading.Event | None = None,
        on_done: Callable[[FitOutcome, int, int], None] | None = None,
    ) -> PoolPlan:
        """Every task's outcome by key. `on_done(outcome, done, total)` is called as each refit ends."""
        plan = PoolPlan(workers=self.workers, reason=self.reason)
        done_cb = on_done or (lambda _o, _d, _t: None)

        def record(outcome: FitOutcome) -> None:
            plan.outcomes[outcome.key] = outcome
            done_cb(outcome, len(plan.outcomes), len(tasks))

        if self.workers > 1 and len(tasks) > 1 and not self.broken:
            if self.executor is None:
                warm_up([t.estimator for t in tasks[:1]])  # no-op when retrain() already started the server
                self.executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=_context(), initializer=_init_worker, initargs=(self.context,)
                )
            try:
                _run_pool(self.executor, tasks, plan, record, cancel)
            except Exception:  # noqa: BLE001 - the pool could not start or broke: what it left runs here
                self.broken = True
                self.reason = plan.reason = f"{self.reason} (then serially: the worker processes stopped)"
                self.close()
        for task in tasks:  # serially: everything, or what a worker could not take (a recipe that cannot travel)
            if task.key in plan.outcomes:
                continue
            if plan.cancelled or (cancel is not None and cancel.is_set()):
                plan.cancelled = True
                break
            record(run_task(task, self.context))
        return plan


def run_fits(
    tasks: list[FitTask],
    context: FitContext,
    *,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    on_done: Callable[[FitOutcome, int, int], None] | None = None,
) -> PoolPlan:
    """One batch of refits on a pool of its own (see Refitter)."""
    with Refitter(context, len(tasks), workers) as refitter:
        return refitter.run(tasks, cancel=cancel, on_done=on_done)


def _run_pool(
    executor: ProcessPoolExecutor,
    tasks: list[FitTask],
    plan: PoolPlan,
    record: Callable[[FitOutcome], None],
    cancel: threading.Event | None,
) -> None:
    pending: set[Future[FitOutcome]] = {executor.submit(_run_in_worker, t) for t in tasks}
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                if future.cancelled() or future.exception() is not None:
                    continue  # a recipe that could not be sent to a worker is refitted here afterwards
                record(future.result())
            if cancel is not None and cancel.is_set() and not plan.cancelled:
                plan.cancelled = True
                for future in pending:
                    future.cancel()
    finally:
        for future in pending:  # interrupted (e.g. an app rerun): drop what has not started
            future.cancel()
