"""The `explanations` section of a comparison: SHAP for both models on chosen rows of the sample.

Rows: the largest disagreements first (from the predictions section), then a seeded random sample, up to
`--shap-rows`. A model that cannot be explained is recorded in `comparison.errors`, never raised.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.errors import ModelgapError
from modelgap.explanations.agnostic import AgnosticSettings
from modelgap.explanations.compare import ExplanationComparison, compare_explanations
from modelgap.explanations.engine import ExplainSettings, explain
from modelgap.explanations.outputs import choose_output_space
from modelgap.explanations.result import StopCallback
from modelgap.model import LoadedModel

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

BACKGROUND_ROWS = 100
DEFAULT_SECONDS = 120.0  # per model; only the model-agnostic path comes near it
DEFAULT_AGNOSTIC_ROWS = 200
DEFAULT_TOP_K = 5


def pick_rows(
    sample: pd.DataFrame, disagreement: pd.Series | None, n: int, *, seed: int = 0, top: int = 20
) -> pd.Index:
    """Up to n rows: the largest disagreements first (at least `top`, or a tenth of n), then random rows."""
    n = max(0, min(n, len(sample)))
    chosen: list[Any] = []
    if disagreement is not None and n:
        d = pd.to_numeric(disagreement, errors="coerce")
        d = d[d.index.isin(sample.index) & (d > 0)]
        n_top = min(n, max(top, n // 10))
        chosen = list(d.sort_values(ascending=False, kind="stable").index[:n_top])
    rest = sample.index[~sample.index.isin(chosen)]
    k = n - len(chosen)
    if k > 0:
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(rest), size=k, replace=False)
        chosen += list(rest[np.sort(picked)])
    return pd.Index(chosen)


Explainer = Callable[["Comparison", "ProgressFn"], "ExplanationComparison | None"]


def build_explanations(comparison: Comparison, progress: ProgressFn, explainer: Explainer | None = None) -> None:
    """Section builder: store an ExplanationComparison in comparison.sections["explanations"].

    `explainer` computes it (default: explain_comparison, on the driver); the Spark engine passes its own.
    """
    if comparison.options.no_shap:
        comparison.notes.append("Explanations skipped (--no-shap).")
        return
    if comparison.sample is None:
        comparison.notes.append("Explanations need sample data (--data); skipped.")
        return
    try:
        result = (explainer or explain_comparison)(comparison, progress)
    except ModelgapError as err:
        comparison.errors["explanations"] = err.one_line()
        return
    except Exception as exc:  # one section failing must not lose the others; the reason is kept in errors
        if os.environ.get("MODELGAP_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:300]
        comparison.errors["explanations"] = f"unexpected {type(exc).__name__}: {text}"
        return
    if result is not None:
        comparison.sections["explanations"] = result


def chosen_rows(comparison: Comparison) -> pd.Index:
    """The sample rows to explain: the largest disagreements first, then seeded random rows (pick_rows)."""
    options = comparison.options
    sample = comparison.sample
    assert sample is not None
    predictions = comparison.sections.get("predictions")
    rows_frame = getattr(predictions, "rows", None)
    disagreement = rows_frame["abs_diff"] if isinstance(rows_frame, pd.DataFrame) and "abs_diff" in rows_frame else None
    return pick_rows(sample, disagreement, options.shap_rows, seed=options.seed, top=options.top_n)


def explain_comparison(comparison: Comparison, progress: ProgressFn) -> ExplanationComparison | None:
    """Explain both models on the chosen rows in their shared output space, then compare."""
    rows = chosen_rows(comparison)
    if len(rows) == 0:
        comparison.notes.append("Explanations: no rows to explain (--shap-rows 0 or empty data).")
        return None
    assert comparison.sample is not None
    return explain_rows(comparison, comparison.sample.loc[rows], progress)


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
    extra = options.extra
    agnostic_rows = int(extra.get("shap_agnostic_rows", DEFAULT_AGNOSTIC_ROWS))
    return ExplainPlan(
        background=sample.sample(min(BACKGROUND_ROWS, len(sample)), random_state=options.seed),
        output=choose_output_space(comparison.repo, comparison.deployed),
        settings=ExplainSettings(agnostic=AgnosticSettings(max_rows=agnostic_rows, seed=options.seed)),
        seconds=float(extra.get("shap_seconds", DEFAULT_SECONDS)),
        exclude=[options.target] if options.target else [],
        top_k=int(extra.get("shap_top_k", DEFAULT_TOP_K)),
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
) -> ExplanationComparison:
    """Explain both models on rows X of the sample exactly as the section does (same space, background, budget).

    Used by the section and to explain one more row on demand. `should_stop` ends the work between chunks
    (the caller's cancel button); the time budget per model (extra["shap_seconds"]) applies as well.
    """
    plan = explain_plan(comparison)
    explanations = []
    for i, (side, model) in enumerate((("repo", comparison.repo), ("deployed", comparison.deployed))):
        deadline = time.monotonic() + plan.seconds

        def report(done: int, total: int, side: str = side, i: int = i) -> None:
            progress(f"Explaining the {side} model ({done}/{total} rows)", (i + done / max(total, 1)) / 2)

        def stop(deadline: float = deadline) -> bool:
            return time.monotonic() > deadline or (should_stop is not None and should_stop())

        exp = explain(
            model,
            X,
            output=plan.output,
            background=plan.background,
            progress=report,
            should_stop=stop,
            settings=plan.settings,
            exclude=plan.exclude,
        )
        if exp.n_rows == 0:
            if should_stop is not None and should_stop():
                raise ModelgapError(f"Explaining the {side} model was cancelled.", "Start it again when ready.")
            raise nothing_explained(side, model, plan.seconds, exp.method)
        explanations.append(exp)
    return compare_explanations(explanations[0], explanations[1], top_k=plan.top_k)
