"""One assembly of the `predictions` section for both engines.

An engine supplies what it aggregated over every compared row (`WholeData`: counts, means, top rows, cross-tab,
histogram, flips) and the in-memory sample with its per-row outputs; `assemble` builds the PredictionComparison
from those pieces: the tolerance note, the per-row table, the slices (found on the sample unless the engine
counts them itself) and the surrogate rules. `finish` adds what both engines record about the inputs and the
row caps. The pandas engine's aggregations are `whole_data` (numpy, block by block: blockwise.py); the Spark
engine's are in modelgap/spark/aggregates.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from modelgap.predictions import blockwise, measures
from modelgap.predictions.blockwise import WholeData, whole_data
from modelgap.predictions.measures import Outputs
from modelgap.predictions.result import PredictionComparison, RowCap
from modelgap.predictions.slices import Slice, find_slices, fmt_number
from modelgap.predictions.surrogate import fit_surrogate

if TYPE_CHECKING:
    from modelgap.predictions.classes import ClassAlignment
    from modelgap.predictions.schema import InputPlan

__all__ = ["WholeData", "assemble", "finish", "pick_tolerance", "summarize", "whole_data"]

R = TypeVar("R", bound=PredictionComparison)
SliceFinder = Callable[[pd.DataFrame, np.ndarray], list[Slice]]  # (uniform inputs, their disagreements)


def pick_tolerance(
    classification: bool, given: float | None, default: Callable[[], float]
) -> tuple[float | None, bool, list[str]]:
    """(tolerance, whether it is the default, notes): none for classifiers; `default()` (1% of the std of the
    deployed model's predictions, computed by the engine) when a regression comparison names none."""
    if classification:
        return None, False, []
    if given is not None:
        return given, False, []
    tolerance = default()
    note = f"Tolerance {fmt_number(tolerance)} = 1% of the standard deviation of the deployed model's predictions."
    return tolerance, True, [note]


def assemble(
    whole: WholeData,
    outputs: Outputs,
    at: np.ndarray,
    sample: pd.DataFrame,
    uniform: pd.Index,
    *,
    input_columns: Sequence[str],
    tolerance: float | None,
    tolerance_is_default: bool = False,
    top_n: int,
    seed: int = 0,
    notes: Sequence[str] = (),
    slices: SliceFinder | None = None,
    result_type: type[R] = PredictionComparison,  # type: ignore[assignment]
) -> R:
    """The section from an engine's whole-data measures and the sample. `outputs` holds per-row outputs;
    `at[i]` is the position in `outputs` of the sample's i-th row (the sample's index holds 0-based data rows);
    `uniform` are the sample rows drawn uniformly (the rest were added for the top rows). Slices are
    `find_slices` on the uniform rows unless the engine passes its own finder."""
    at = np.asarray(at, dtype=np.int64)
    chosen = outputs.take(at)  # the sample rows' outputs (only they are needed here)
    disagree = measures.disagrees(chosen, tolerance)
    rows = measures.rows_frame(chosen, np.arange(len(at)), disagree)
    rows.index = pd.Index(sample.index.to_numpy(dtype=np.int64), name="row")
    in_uniform = np.asarray(sample.index.isin(uniform), dtype=bool)
    columns = [c for c in input_columns if c in sample.columns]
    inputs = sample[columns] if in_uniform.all() else sample.loc[in_uniform, columns]
    uniform_disagree = disagree[in_uniform]
    classification = outputs.is_classification
    classes = list(outputs.classes)
    notes = list(notes)
    if whole.diff_histogram is None and classification:
        notes.append("No probability-difference histogram: a model gives labels only.")
    n = whole.n_rows
    return result_type(
        task=outputs.task,
        n_rows=n,
        n_disagreements=whole.n_disagreements,
        disagreement_rate=whole.n_disagreements / n if n else 0.0,
        mean_abs_diff=whole.mean_abs_diff,
        max_abs_diff=whole.max_abs_diff,
        top=whole.top,
        top_n=top_n,
        seed=seed,
        rows=rows,
        outputs=outputs,
        classes=classes,
        tolerance=tolerance,
        tolerance_is_default=tolerance_is_default,
        compared_on=outputs.compared_on,
        positive_class=classes[1] if classification and len(classes) == 2 else None,
        crosstab=whole.crosstab,
        diff_histogram=whole.diff_histogram,
        flips=whole.flips,
        slices=(slices or find_slices)(inputs, uniform_disagree),
        surrogate=fit_surrogate(inputs, uniform_disagree, seed=seed),
        input_columns=list(input_columns),
        uniform_rows=uniform,
        notes=notes,
    )


def summarize(
    outputs: Outputs,
    sample: pd.DataFrame,
    uniform: pd.Index,
    *,
    input_columns: list[str],
    tolerance: float | None,
    top_n: int,
    seed: int = 0,
) -> PredictionComparison:
    """Every measure of the section from every row's outputs and the in-memory sample (no model calls)."""
    tolerance, is_default, notes = pick_tolerance(
        outputs.is_classification, tolerance, lambda: blockwise.default_tolerance(outputs)
    )
    whole = whole_data(outputs, tolerance, top_n)
    positions = sample.index.to_numpy(dtype=np.int64)
    return assemble(
        whole,
        outputs,
        positions,
        sample,
        uniform,
        input_columns=input_columns,
        tolerance=tolerance,
        tolerance_is_default=is_default,
        top_n=top_n,
        seed=seed,
        notes=notes,
    )


def finish(result: PredictionComparison, alignment: ClassAlignment, plan: InputPlan, *, max_rows: int | None) -> bool:
    """What both engines record beside the measures: the row cap, how classes were matched, the columns only
    one model reads, and the --max-rows note. Returns whether the sample is capped (a uniform subset)."""
    n = result.n_rows
    capped = len(result.uniform_rows) < n
    result.row_cap = RowCap(n, max_rows, len(result.uniform_rows), capped)
    result.class_matching = list(alignment.matched)
    result.columns_only_in_repo = list(plan.columns_only_in_repo)
    result.columns_only_in_deployed = list(plan.columns_only_in_deployed)
    if max_rows is not None and n >= max_rows:
        result.notes.append(f"At most the first {max_rows:,} rows of the data were read (--max-rows).")
    return capped
