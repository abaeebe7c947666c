"""Re-run training for both models of a comparison and judge each one: `retrain(comparison, options)`.

Per side: its training data and label (training.py), its recipe (a clone of its estimator, or its training
command), the refit compared with the model on the comparison's sample rows. The noise floor: the deployed
model's recipe (else the repo's) refitted with N seeds. A refit that does not reproduce its model is refitted
once more: when the two refits agree exactly the recipe is deterministic and the gap is real (`differs`);
otherwise the gap is judged against the recipe's own noise (`within_noise` or `differs`).
Nothing is written anywhere but temporary files that are removed; the comparison is only read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.model import LoadedModel
from modelgap.retraining import judge
from modelgap.retraining.command import CommandRun, run_command
from modelgap.retraining.measure import Outputs, distance, outputs_of_model, tolerance_for
from modelgap.retraining.noise import excess, noise_floor, seed_values, unknown_floor
from modelgap.retraining.options import SIDES, RetrainOptions
from modelgap.retraining.refit import (
    NotRefittable,
    recorded_recipe,
    refit_problem,
    seed_params,
    seeded_recipe,
    unrepeatable_seeds,
)
from modelgap.retraining.result import Method, NoiseFloor, RetrainingResult, lower_first
from modelgap.retraining.training import TrainingSet, training_set
from modelgap.retraining.workers import FitContext, FitOutcome, FitTask, Recipe, Refitter, choose_workers, warm_up

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

MAX_COMPARED_ROWS = 50_000
NO_SAMPLE = "There are no sample rows to compare a refit with the model on: pass --data."


@dataclass
class SidePlan:
    """What one side can do: its method, training set, recipe and its own outputs on the compared rows."""

    side: str
    model: LoadedModel
    method: Method
    training: TrainingSet | None = None
    problem: str | None = None  # why this side is not retrainable (one sentence)
    recipe: Any = None  # unfitted clone (refit method)
    refittable: bool = False  # could seed its noise floor
    refit_problem: str | None = None  # why its estimator cannot be refitted (even if a command trains it)
    outputs: Outputs | None = None
    notes: list[str] = field(default_factory=list)


def compared_rows(comparison: Comparison, notes: list[str]) -> pd.DataFrame | None:
    """The comparison's uniform sample rows (not the top rows added for the views), capped."""
    sample = comparison.sample
    if sample is None or len(sample) == 0:
        return None
    uniform = getattr(comparison.sections.predictions, "uniform_rows", None)
    if uniform is not None and 0 < len(uniform) < len(sample):
        sample = sample.loc[sample.index.intersection(uniform)]
    if len(sample) > MAX_COMPARED_ROWS:
        sample = sample.sample(n=MAX_COMPARED_ROWS, random_state=comparison.options.seed).sort_index()
        notes.append(f"Refits are compared on a seeded uniform sample of {MAX_COMPARED_ROWS:,} sample rows.")
    return sample


def plan_side(
    comparison: Comparison, side: str, options: RetrainOptions, rows: pd.DataFrame | None, cache: dict[str, Any]
) -> SidePlan:
    model = comparison.repo if side == "repo" else comparison.deployed
    command = options.command(side)
    plan = SidePlan(side=side, model=model, method="command" if command else "refit")
    training = training_set(comparison, side, max_rows=options.max_rows, read_cache=cache)
    plan.training = training
    plan.notes += training.notes
    problem = refit_problem(model) or training.problem
    if problem is None:
        try:
            plan.recipe = recorded_recipe(model.estimator)
            plan.refittable = True
        except NotRefittable as exc:
            problem = str(exc)
    if model.estimator is not None and unrepeatable_seeds(model.estimator):
        plan.notes.append("Its seed is a RandomState object whose starting state is not recorded.")
    plan.refit_problem = problem
    if rows is None:
        plan.problem, plan.refittable = NO_SAMPLE, False
        return plan
    plan.problem = None if command else problem
    if plan.problem is None:
        columns = training.columns or model.feature_names
        missing = [c for c in columns if c not in rows.columns]
        try:
            if missing:
                raise ValueError(f"the sample lacks its input columns {', '.join(missing[:5])}")
            plan.outputs = outputs_of_model(model, rows[columns] if columns else rows)
        except Exception as exc:  # noqa: BLE001 - a side that cannot predict is not retrainable, not a crash
            text = " ".join(str(exc).split())[:200]
            plan.problem = plan.refit_problem = f"It could not predict the compared rows ({text})."
            plan.refittable = False
    return plan


def retrain(
    comparison: Comparison,
    options: RetrainOptions,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> RetrainingResult:
    """Rebuild both models from their recipes, measure the noise floor, judge each side."""
    started = time.perf_counter()
    say = progress or (lambda _m, _f: None)
    notes: list[str] = []
    if choose_workers(options.seeds + 2, options.workers)[0] > 1:  # the worker server starts while data is read
        warm_up([comparison.deployed.estimator, comparison.repo.estimator])
    say("Retraining: finding each model's training data", 0.0)
    rows = compared_rows(comparison, notes)
    cache: dict[str, Any] = {}
    plans = {side: plan_side(comparison, side, options, rows, cache) for side in SIDES}
    predictions = comparison.sections.predictions
    rate = getattr(predictions, "disagreement_rate", None)
    tolerance = getattr(predictions, "tolerance", None)
    reference = plans["deployed"].outputs or plans["repo"].outputs
    if tolerance is None and reference is not None:
        tolerance = tolerance_for(reference, None)

    commands = _run_commands(plans, rows, options, comparison.options.seed, cancel, say)
    noise_side = next((s for s in ("deployed", "repo") if plans[s].refittable), None)
    tasks, seeds, params, noise_problem = _tasks(plans, noise_side, options.seeds, comparison.options.seed)
    tasks, aliases = _reuse_recorded(tasks, plans, noise_side, params)
    context = FitContext(recipes=_recipes(plans), rows=rows if rows is not None else pd.DataFrame())
    total = len(tasks)

    def done(outcome: FitOutcome, n: int, _total: int) -> None:
        say(f"Retraining: {n} of {total} refits done ({outcome.key})", 0.1 + 0.8 * n / max(total, 1))

    with Refitter(context, len(tasks), options.workers) as refitter:
        first = refitter.run(tasks, cancel=cancel, on_done=done)
        outcomes = _with_aliases(first.outcomes, aliases)
        repeats = _repeat_tasks(plans, outcomes, tolerance)
        cancelled = first.cancelled
        if repeats and not cancelled:
            say("Retraining: refitting once more the recipes that did not reproduce their model", 0.9)
            total = len(repeats)
            second = refitter.run(repeats, cancel=cancel, on_done=done)
            outcomes.update(second.outcomes)
            cancelled = second.cancelled

    floor = _floor(noise_side, seeds, params, outcomes, tolerance, noise_problem)
    sides = {
        side: judge.judge_side(
            plans[side], outcomes, commands.get(side), floor, tolerance, n_rows=0 if rows is None else len(rows)
        )
        for side in SIDES
    }
    if tasks:
        notes.append(f"Refits ran {first.reason}.")
    if cancelled:
        notes.append("Cancelled: the refits that had not finished were dropped.")
    say("Retraining done", 1.0)
    return RetrainingResult(
        repo=sides["repo"],
        deployed=sides["deployed"],
        noise=floor,
        excess=excess(rate, floor),
        repo_vs_deployed_rate=rate,
        n_rows=0 if rows is None else len(rows),
        workers=first.workers,
        seconds=time.perf_counter() - started,
        cancelled=cancelled,
        notes=notes,
    )


def _run_commands(
    plans: dict[str, SidePlan],
    rows: pd.DataFrame | None,
    options: RetrainOptions,
    seed: int,
    cancel: threading.Event | None,
    say: ProgressFn,
) -> dict[str, CommandRun]:
    out: dict[str, CommandRun] = {}
    for side in SIDES:
        plan, command = plans[side], options.command(side)
        if command is None or plan.problem is not None or rows is None or plan.training is None:
            continue
        if cancel is not None and cancel.is_set():
            out[side] = CommandRun(error="Cancelled before the training command ran.")
            continue
        say(f"Retraining: running the {side} model's training command", 0.05)
        columns = plan.training.columns or plan.model.feature_names
        out[side] = run_command(
            command,
            plan.training,
            rows[columns] if columns else rows,
            list(plan.model.classes),
            timeout_s=options.timeout_s,
            cwd=options.command_cwd,
            seed=seed,
            cancel=cancel,
        )
    return out


def _tasks(
    plans: dict[str, SidePlan], noise_side: str | None, n_seeds: int, base: int
) -> tuple[list[FitTask], list[int], list[str], str | None]:
    """Recorded refits of the refit sides, then the noise floor's seeded refits."""
    tasks = [
        FitTask(f"recorded:{side}", side, plans[side].recipe)
        for side in SIDES
        if plans[side].method == "refit" and plans[side].problem is None
    ]
    if noise_side is None:
        if any(plans[s].problem == NO_SAMPLE for s in SIDES):
            return tasks, [], [], NO_SAMPLE
        return tasks, [], [], "Neither model's recipe can be refitted: " + _why_not(plans)
    estimator = plans[noise_side].model.estimator
    params = seed_params(estimator)
    seeds = seed_values(n_seeds, base)
    try:
        tasks += [FitTask(f"seed:{s}", noise_side, seeded_recipe(estimator, s, params)) for s in seeds]
    except NotRefittable as exc:
        return tasks, seeds, params, f"The {noise_side} recipe cannot be reseeded: {exc}"
    return tasks, seeds, params, None


def _reuse_recorded(
    tasks: list[FitTask], plans: dict[str, SidePlan], noise_side: str | None, params: list[str]
) -> tuple[list[FitTask], dict[str, str]]:
    """A seed refit whose seeds are the recorded ones is the recorded refit: fit it once. Returns the tasks
    left and {seed key: recorded key}."""
    if noise_side is None or not params or not any(t.key == f"recorded:{noise_side}" for t in tasks):
        return tasks, {}
    recorded = plans[noise_side].model.estimator.get_params(deep=True)
    values = {recorded.get(name) for name in params}
    if len(values) != 1:
        return tasks, {}
    value = values.pop()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return tasks, {}
    key = f"seed:{int(value)}"
    if not any(t.key == key for t in tasks):
        return tasks, {}
    return [t for t in tasks if t.key != key], {key: f"recorded:{noise_side}"}


def _with_aliases(outcomes: dict[str, FitOutcome], aliases: dict[str, str]) -> dict[str, FitOutcome]:
    out = dict(outcomes)
    for key, source in aliases.items():
        if source in out:
            out[key] = out[source]
    return out


def _why_not(plans: dict[str, SidePlan]) -> str:
    reasons = [f"the {s} model: {lower_first(why)}" for s in SIDES if (why := plans[s].refit_problem)]
    return "; ".join(reasons).rstrip(".") + "." if reasons else "no recipe was found."


def _recipes(plans: dict[str, SidePlan]) -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    for side, plan in plans.items():
        training = plan.training
        if plan.refittable and training is not None and training.usable:
            out[side] = Recipe(training.X, training.y, training.columns, plan.model.task, list(plan.model.classes))
    return out


def _repeat_tasks(
    plans: dict[str, SidePlan], outcomes: dict[str, FitOutcome], tolerance: float | None
) -> list[FitTask]:
    """A second recorded refit for each refit side that did not reproduce its model."""
    out = []
    for side in SIDES:
        plan, outcome = plans[side], outcomes.get(f"recorded:{side}")
        if outcome is None or outcome.outputs is None or plan.outputs is None:
            continue
        if not distance(plan.outputs, outcome.outputs, tolerance).equal:
            out.append(FitTask(f"repeat:{side}", side, recorded_recipe(plan.model.estimator)))
    return out


def _floor(
    side: str | None,
    seeds: list[int],
    params: list[str],
    outcomes: dict[str, FitOutcome],
    tolerance: float | None,
    problem: str | None,
) -> NoiseFloor:
    if side is None or problem is not None:
        return unknown_floor(problem or "No recipe could be refitted.")
    done = {s: outcomes[f"seed:{s}"] for s in seeds if f"seed:{s}" in outcomes}
    ok = {s: o.outputs for s, o in done.items() if o.outputs is not None}
    seconds = sum(o.seconds for o in done.values())
    floor = noise_floor(side, list(ok), params, list(ok.values()), tolerance, seconds)
    failed = [o.error for o in done.values() if o.error]
    if failed and not floor.known:
        floor.reason = f"The seed refits of the {side} recipe failed: {failed[0]}"
    return floor
