"""The status of one side and its one-sentence reason, from its refit (or command) and the noise floor.

- reproduced: the refit's predictions equal the model's (labels identical, probabilities within 1e-9;
  regression: within 1e-9 x the predictions' scale);
- within_noise: not equal, the recipe does not retrain identically, and the refit is no further from the model
  than NOISE_MARGIN x the largest distance between refits of the same recipe (its repeat refit, and its seed
  refits when it is the noise floor's recipe);
- differs: further than that, or the recipe retrains identically (then any gap is real); visible causes named;
- not_retrainable: why (no training data, no estimator, label unknown, the fit or command failed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelgap.readiness.base import pct
from modelgap.retraining.causes import visible_causes
from modelgap.retraining.command import CommandRun
from modelgap.retraining.measure import Distance, Outputs, distance
from modelgap.retraining.result import NoiseFloor, SideRetraining, lower_first
from modelgap.retraining.workers import FitOutcome

if TYPE_CHECKING:
    from modelgap.retraining.run import SidePlan

_EPS = 1e-12
# A refit of a random recipe is one more draw of the distance between two refits: it is judged against the
# largest distance seen between refits of the recipe (its repeat; its seed refits when it is the noise floor's
# recipe), with room for that draw to land above the few seen (a plain maximum would call a fair model
# "differs" about once in as many tries as there are pairs).
NOISE_MARGIN = 2.0


def judge_side(
    plan: SidePlan,
    outcomes: dict[str, FitOutcome],
    command: CommandRun | None,
    floor: NoiseFloor,
    tolerance: float | None,
    *,
    n_rows: int,
) -> SideRetraining:
    training = plan.training
    out = SideRetraining(
        side=plan.side,
        status="not_retrainable",
        method=plan.method,
        reason="",
        training_data=training.shown if training is not None else None,
        label=training.label if training is not None else None,
        training_rows=len(training.frame) if training is not None and training.frame is not None else None,
        training_rows_total=training.n_rows_total if training is not None else None,
        notes=list(dict.fromkeys(plan.notes)),
    )
    if plan.problem is not None or plan.outputs is None:
        out.reason = f"Not retrainable: {lower_first(plan.problem or 'it could not predict the compared rows.')}"
        return out
    refit, repeat = _refit_outputs(plan, outcomes, command, out)
    if refit is None:
        return out
    gap = distance(plan.outputs, refit, tolerance)
    out.disagreement_rate, out.max_abs_diff = gap.disagreement_rate, gap.max_abs_diff
    what = "refit" if plan.method == "refit" else "model its training command builds"
    if gap.equal:
        out.status = "reproduced"
        out.reason = _reproduced(plan, n_rows)
        return out
    again = distance(refit, repeat, tolerance) if repeat is not None else None
    out.deterministic = None if again is None else again.equal
    limit = _noise_limit(plan.side, plan.method, again, floor)
    within = (
        out.deterministic is not True
        and limit is not None
        and gap.disagreement_rate <= NOISE_MARGIN * limit[0] + _EPS
        and gap.max_abs_diff <= NOISE_MARGIN * limit[1] + _EPS
    )
    shown = f"The {what} differs from the model on {pct(gap.disagreement_rate)} of rows ({_largest(gap)})"
    if within:
        assert limit is not None
        out.status = "within_noise"
        out.reason = (
            f"{shown}, about as much as refitting the same recipe again does (up to {pct(limit[0])}): it is what "
            "its recipe makes, up to retraining noise."
        )
        return out
    out.status = "differs"
    out.causes = visible_causes(plan.model, training)
    if out.deterministic:
        why = ", although the recipe retrains identically"
    elif limit is not None:
        why = f", beyond retraining noise (refits of its recipe differ by up to {pct(limit[0])})"
    else:
        why = ", and the retraining noise is unknown"
    if out.causes:
        out.reason = f"{shown}{why}; likely causes: {'; '.join(out.causes)}."
    else:
        out.reason = (
            f"{shown}{why}; no cause is visible (same library versions, training data and logged parameters), "
            "so it was likely made from other data or code."
        )
    return out


def _refit_outputs(
    plan: SidePlan, outcomes: dict[str, FitOutcome], command: CommandRun | None, out: SideRetraining
) -> tuple[Outputs | None, Outputs | None]:
    """(refit outputs, repeat refit outputs); on failure sets the not_retrainable reason and returns None."""
    if plan.method == "command":
        if command is None:
            out.reason = "Not retrainable: the training command did not run."
            return None, None
        out.seconds = command.seconds
        if command.error or command.outputs is None:
            out.reason = f"Not retrainable: {lower_first(command.error or 'the training command gave no model.')}"
            return None, None
        if command.outputs.task != plan.model.task and "regression" in (command.outputs.task, plan.model.task):
            out.reason = f"Not retrainable: the training command built a {command.outputs.task} model."
            return None, None
        return command.outputs, None
    outcome = outcomes.get(f"recorded:{plan.side}")
    if outcome is None:
        out.reason = "Not retrainable: cancelled before its refit finished."
        return None, None
    out.seconds = outcome.seconds
    if outcome.outputs is None:
        out.reason = f"Not retrainable: the refit failed ({outcome.error})."
        return None, None
    repeat = outcomes.get(f"repeat:{plan.side}")
    return outcome.outputs, repeat.outputs if repeat is not None else None


def _noise_limit(side: str, method: str, again: Distance | None, floor: NoiseFloor) -> tuple[float, float] | None:
    """(rate, max abs diff) that refits of this recipe reach among themselves; None when unknown."""
    rates: list[float] = []
    diffs: list[float] = []
    if again is not None:
        rates.append(again.disagreement_rate)
        diffs.append(again.max_abs_diff)
    if floor.known and (floor.side == side or method == "command"):
        assert floor.rate_max is not None and floor.max_abs_diff is not None
        rates.append(floor.rate_max)
        diffs.append(floor.max_abs_diff)
    return (max(rates), max(diffs)) if rates else None


def _reproduced(plan: SidePlan, n_rows: int) -> str:
    training = plan.training
    rows = f" ({len(training.frame):,} rows)" if training is not None and training.frame is not None else ""
    if plan.method == "command":
        return f"Its training command builds a model that gives the same predictions on all {n_rows:,} compared rows."
    return (
        f"Refitting its recorded recipe on its training data{rows} gives the same predictions on all {n_rows:,} "
        "compared rows."
    )


def _largest(gap: Distance) -> str:
    return f"largest change {gap.max_abs_diff:.3g}"
