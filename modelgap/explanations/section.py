"""The `explanations` section of a comparison: SHAP for both models on chosen rows of the sample.

Rows (rows.choose_rows): a seeded uniform random sample of the sample rows, which alone gives the importance,
ranks and sign flips, plus the largest disagreements (from the predictions section), explained first and shown
apart; up to `--shap-rows` in all, and up to `--endpoint-shap-rows` when a side is a scoring endpoint (each SHAP
evaluation of an endpoint is an HTTP request: 200 rows of a 12-column model cost ~2,700 requests). A model that
cannot be explained raises a ModelgapError, which the pipeline (modelgap/pipeline.py) records in
`comparison.errors`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from modelgap.errors import ModelgapError
from modelgap.explanations.agnostic import AgnosticSettings
from modelgap.explanations.compare import ExplanationComparison, compare_explanations
from modelgap.explanations.engine import ExplainSettings
from modelgap.explanations.outputs import choose_output_space
from modelgap.explanations.pair import explain_pair
from modelgap.explanations.result import Explanation, ProgressCallback, StopCallback
from modelgap.explanations.rows import RowSelection, choose_rows
from modelgap.model import LoadedModel

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

BACKGROUND_ROWS = 100


def pick_rows(
    sample: pd.DataFrame, disagreement: pd.Series | None, n: int, *, seed: int = 0, top: int = 20
) -> pd.Index:
    """Up to n rows in the order they are explained: the largest disagreements first (at least `top`, or a
    tenth of n), then seeded uniform random rows (rows.choose_rows, which also says which rows are random)."""
    return choose_rows(sample, disagreement, n, seed=seed, top=top).order


Explainer = Callable[["Comparison", "ProgressFn"], "ExplanationComparison | None"]


def build_explanations(comparison: Comparison, progress: ProgressFn, explainer: Explainer | None = None) -> None:
    """Section builder: store an ExplanationComparison in comparison.sections.explanations.

    `explainer` computes it (default: explain_comparison, on the driver); the Spark engine passes its own.
    """
    if comparison.options.no_shap:
        flag = "--shap-rows 0" if comparison.options.shap_rows == 0 else "--no-shap"
        comparison.notes.append(f"Explanations skipped ({flag}).")
        return
    if comparison.sample is None:
        comparison.notes.append("Explanations need sample data (--data); skipped.")
        return
    result = (explainer or explain_comparison)(comparison, progress)  # a failure: recorded by modelgap.pipeline
    if result is not None:
        comparison.sections.explanations = result


def chosen_rows(comparison: Comparison) -> pd.Index:
    """The sample rows to explain, in order: the largest disagreements first, then seeded random rows."""
    return row_selection(comparison).order


def row_selection(comparison: Comparison) -> RowSelection:
    """Which sample rows to explain and which of them are the uniform random ones (rows.choose_rows)."""
    options = comparison.options
    sample = comparison.sample
    assert sample is not None
    predictions = comparison.sections.predictions
    frame = getattr(predictions, "rows", None)
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame()
    disagreement, disagrees = frame.get("abs_diff"), frame.get("disagrees")
    return choose_rows(
        sample, disagreement, row_budget(comparison), seed=options.seed, top=options.top_n, disagrees=disagrees
    )


def is_endpoint(model: LoadedModel) -> bool:
    """A model explained through its scoring endpoint: every SHAP evaluation is an HTTP request."""
    return model.estimator is None and model.metadata.flavor == "endpoint"


def endpoint_sides(comparison: Comparison) -> list[tuple[str, LoadedModel]]:
    pairs = (("repo", comparison.repo), ("deployed", comparison.deployed))
    return [(side, model) for side, model in pairs if is_endpoint(model)]


def row_budget(comparison: Comparison) -> int:
    """--shap-rows, capped by --endpoint-shap-rows when a side is a scoring endpoint, and by the model-agnostic
    row budget when a side has no estimator (it is explained on that many rows at most): the random rows that
    give the importance are then not crowded out by the largest disagreements, which are explained first."""
    options = comparison.options
    budget = options.shap_rows
    if endpoint_sides(comparison):
        budget = min(budget, options.endpoint_shap_rows)
    if comparison.repo.estimator is None or comparison.deployed.estimator is None:
        budget = min(budget, options.explanations.agnostic_rows)
    return max(0, budget)


def shap_requests(model: LoadedModel, n_rows: int, n_features: int, plan: ExplainPlan) -> int:
    """About how many requests model-agnostic SHAP sends to `model`'s endpoint for `n_rows` rows.

    shap's PermutationExplainer makes `permutations` model calls per row, each on about 2 x features x
    background rows; the endpoint client cuts every call into requests of `batch_size` rows; one more call
    reads the explained rows' outputs. Rows whose values match the background take a few more calls.
    """
    agnostic = plan.settings.agnostic
    n = min(n_rows, agnostic.max_rows)
    batch = endpoint_batch_size(model)
    background = min(agnostic.background_rows, len(plan.background))
    per_call = math.ceil(2 * max(n_features, 1) * max(background, 1) / batch)
    return n * agnostic.permutations * per_call + math.ceil(n / batch)


def endpoint_batch_size(model: LoadedModel) -> int:
    """Rows per request of the model's endpoint client (EndpointSettings.batch_size; 500 by default)."""
    settings = getattr(getattr(getattr(model, "predictor", None), "client", None), "settings", None)
    size = getattr(settings, "batch_size", None)
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    from modelgap.sources.endpoint_client import EndpointSettings

    return EndpointSettings().batch_size


def explain_comparison(comparison: Comparison, progress: ProgressFn) -> ExplanationComparison | None:
    """Explain both models on the chosen rows in their shared output space, then compare."""
    options = comparison.options
    endpoints = endpoint_sides(comparison)
    if endpoints and options.endpoint_shap_rows <= 0 < options.shap_rows:
        comparison.notes.append(
            "Explanations skipped: --endpoint-shap-rows 0 sends no SHAP requests to the scoring endpoint."
        )
        return None
    selection = row_selection(comparison)
    rows = selection.order
    if len(rows) == 0:
        comparison.notes.append("Explanations: no rows to explain (--shap-rows 0 or empty data).")
        return None
    assert comparison.sample is not None
    if endpoints:  # said before the first request: the CLI's summary and the app's progress text show it
        note = endpoint_note(comparison, len(rows))
        comparison.notes.append(note)
        progress(note, 0.0)
    return explain_rows(comparison, comparison.sample.loc[rows], progress, selection=selection)


def endpoint_note(comparison: Comparison, n_rows: int) -> str:
    """How much traffic the comparison sends to each endpoint: predictions, then SHAP on `n_rows` rows."""
    options = comparison.options
    plan = explain_plan(comparison)
    predictions = comparison.sections.predictions
    n_predicted = int(getattr(predictions, "n_rows", 0) or 0)
    parts = []
    for side, model in endpoint_sides(comparison):
        batch = endpoint_batch_size(model)
        k = shap_requests(model, n_rows, _n_features(comparison, model), plan)
        parts.append(
            f"the {side} endpoint gets about {math.ceil(n_predicted / batch):,} request(s) for predictions "
            f"({n_predicted:,} rows, {batch} per request) and about {k:,} for SHAP on {n_rows} rows"
        )
    cap = options.endpoint_shap_rows
    capped = f" (--endpoint-shap-rows {cap})" if n_rows == cap < options.shap_rows else ""
    return "Endpoint traffic: " + "; ".join(parts) + capped + "."


def _n_features(comparison: Comparison, model: LoadedModel) -> int:
    if model.feature_names:
        return len(model.feature_names)
    sample = comparison.sample
    target = comparison.options.target
    return len([c for c in sample.columns if c != target]) if sample is not None else 1


@dataclass(frozen=True)
class ExplainPlan:
    """How both models are explained: the same for every row, whichever engine runs it."""

    background: pd.DataFrame
    output: str
    settings: ExplainSettings
    seconds: float  # time budget per model
    exclude: list[str]  # never an input (the label column)
    top_k: int


def explain_plan(comparison: Comparison) -> ExplainPlan:
    """The background rows, output space, settings, time budget and top-k the section uses."""
    options = comparison.options
    sample = comparison.sample
    assert sample is not None
    tuning = options.explanations
    agnostic_rows = tuning.agnostic_rows
    return ExplainPlan(
        background=sample.sample(min(BACKGROUND_ROWS, len(sample)), random_state=options.seed),
        output=choose_output_space(comparison.repo, comparison.deployed),
        settings=ExplainSettings(agnostic=AgnosticSettings(max_rows=agnostic_rows, seed=options.seed)),
        seconds=tuning.seconds,
        exclude=[options.target] if options.target else [],
        top_k=tuning.top_k,
    )


def nothing_explained(side: str, model: LoadedModel, seconds: float, method: str) -> ModelgapError:
    """The error when a model's time budget ran out before its first row."""
    return ModelgapError(
        f"The {side} model ({model.source}) could not be explained within {seconds:.0f} s ({method}).",
        "Lower --shap-rows, or compare a model whose flavor gives its estimator (sklearn/xgboost/lightgbm).",
    )


def explain_rows(
    comparison: Comparison,
    X: pd.DataFrame,
    progress: ProgressFn,
    *,
    should_stop: StopCallback | None = None,
    selection: RowSelection | None = None,
) -> ExplanationComparison:
    """Explain both models on rows X of the sample exactly as the section does (same space, background, budget).

    Used by the section and to explain one more row on demand. `should_stop` ends the work between chunks
    (the caller's cancel button); the time budget per model (options.explanations.seconds, counted from the
    model's first chunk) applies as well. Both models share the second core where they can (pair.explain_pair).
    `selection` (the section's) says which rows are random: the global statistics come from those only.
    """
    plan = explain_plan(comparison)
    sides = (("repo", comparison.repo), ("deployed", comparison.deployed))
    shown = [0.0]  # the fraction shown so far: the pair's chunks may finish a little out of order
    reports: list[ProgressCallback] = []
    stops: list[StopCallback] = []
    for i, (side, model) in enumerate(sides):
        what, cost = f"the {side} model", ""
        if is_endpoint(model):  # say what it costs: each SHAP evaluation is a request to the endpoint
            k = shap_requests(model, len(X), _n_features(comparison, model), plan)
            what, cost = f"the {side} model through its endpoint", f", about {k:,} requests"

        def report(done: int, total: int, what: str = what, cost: str = cost, i: int = i) -> None:
            shown[0] = max(shown[0], (i + done / max(total, 1)) / 2)
            progress(f"Explaining {what} ({done}/{total} rows{cost})", shown[0])

        deadline: list[float] = []  # the model's budget counts from its first chunk (the first time it is asked)

        def stop(deadline: list[float] = deadline) -> bool:
            if not deadline:
                deadline.append(time.monotonic() + plan.seconds)
            return time.monotonic() > deadline[0] or (should_stop is not None and should_stop())

        reports.append(report)
        stops.append(stop)

    def check(i: int, exp: Explanation) -> None:
        side, model = sides[i]
        if exp.n_rows == 0:
            if should_stop is not None and should_stop():
                raise ModelgapError(f"Explaining the {side} model was cancelled.", "Start it again when ready.")
            raise nothing_explained(side, model, plan.seconds, exp.method)

    explanations = explain_pair(
        [comparison.repo, comparison.deployed],
        X,
        output=plan.output,
        background=plan.background,
        progress=reports,
        should_stop=stops,
        settings=plan.settings,
        exclude=plan.exclude,
        check=check,
    )
    return compare_explanations(explanations[0], explanations[1], top_k=plan.top_k, selection=selection)
