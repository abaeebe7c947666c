"""The `predictions` and `metrics` section builders, and `compare_predictions` for callers without a Comparison.

Data problems raise ModelgapError subclasses (the CLI exits 2 with one line); nothing is caught here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelgap.errors import DataError
from modelgap.model import LoadedModel
from modelgap.predictions.assembly import finish, summarize
from modelgap.predictions.classes import align_classes
from modelgap.predictions.metrics import MetricsComparison, compare_metrics
from modelgap.predictions.result import PredictionComparison
from modelgap.predictions.stream import Progress, frame_chunks, stream
from modelgap.tables import check_table, detect_format, iter_table

if TYPE_CHECKING:
    from modelgap.comparison import CompareOptions, Comparison, ProgressFn


def compare_predictions(
    repo: LoadedModel,
    deployed: LoadedModel,
    *,
    data: pd.DataFrame | None = None,
    data_path: str | Path | None = None,
    options: CompareOptions | None = None,
    progress: Progress | None = None,
) -> tuple[PredictionComparison, pd.DataFrame]:
    """Predict `data` (else the file at `data_path`) with both models and measure how they differ.

    Returns the section result and the in-memory sample (input rows indexed by 0-based row position, target
    column kept). Options used: target, tolerance, top_n, max_rows, seed; options.predictions
    (`chunk_rows`, `sample_rows`) tunes streaming and the sample cap (default 100,000; --max-rows, when set, is
    the cap).
    """
    from modelgap.comparison import CompareOptions

    options = options or CompareOptions()
    alignment = align_classes(repo, deployed)  # incompatible pairs fail before any data is read
    chunk_rows = max(1, options.predictions.chunk_rows)
    sample_rows = options.max_rows or options.predictions.sample_rows
    if data is not None:
        chunks = frame_chunks(data, chunk_rows, options.max_rows)
        total: int | None = len(data) if options.max_rows is None else min(len(data), options.max_rows)
    elif data_path is not None:
        if detect_format(Path(data_path).expanduser()) == "csv":
            check_table(data_path)  # empty, header-only and wrong-delimiter files fail here with a clear line
        chunks = iter_table(data_path, chunk_rows=chunk_rows, max_rows=options.max_rows)
        total = _count_rows(Path(data_path).expanduser(), options.max_rows)
    else:
        raise DataError("No sample data to compare predictions on.", "Pass --data FILE (CSV or Parquet).")
    streamed = stream(
        chunks,
        repo,
        deployed,
        alignment,
        target=options.target,
        sample_rows=max(1, sample_rows),
        top_n=options.top_n,
        seed=options.seed,
        chunk_rows=chunk_rows,
        total_rows=total,
        progress=progress,
    )
    _release_reader_memory()
    plan = streamed.plan
    result = summarize(
        streamed.outputs,
        streamed.sample,
        streamed.uniform,
        input_columns=plan.input_columns,
        tolerance=options.tolerance,
        top_n=options.top_n,
        seed=options.seed,
    )
    n = result.n_rows
    result.notes = streamed.notes + result.notes
    if finish(result, alignment, plan, max_rows=options.max_rows):
        result.notes.append(
            f"The headline numbers, top rows, cross-tab and histogram use all {n:,} rows; the row table, slices "
            f"and surrogate rules use a seeded uniform sample of {len(streamed.uniform):,} rows, which bounds "
            "memory (--max-rows N instead compares only the first N rows, all kept in memory)."
        )
    return result, streamed.sample


def remeasure(result: PredictionComparison, sample: pd.DataFrame, *, tolerance: float | None) -> PredictionComparison:
    """The same predictions measured with another regression tolerance (no model calls): for a tolerance slider."""
    fresh = summarize(
        result.outputs,
        sample,
        result.uniform_rows,
        input_columns=result.input_columns,
        tolerance=tolerance,
        top_n=result.top_n,
        seed=result.seed,
    )
    carried = {"row_cap", "class_matching", "columns_only_in_repo", "columns_only_in_deployed"}
    kept = [n for n in result.notes if not n.startswith("Tolerance ")]
    return dataclasses.replace(
        fresh, **{k: getattr(result, k) for k in carried}, notes=kept + [n for n in fresh.notes if n not in kept]
    )


def _release_reader_memory() -> None:
    """Give back what Arrow's memory pool kept from reading the file (~60 MB at any size): the measures and the
    metrics that follow then peak that much lower."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return
    pa.default_memory_pool().release_unused()


def _count_rows(path: Path, max_rows: int | None) -> int | None:
    """Row count for progress: Parquet metadata, or newlines of a CSV (an estimate when fields hold newlines)."""
    try:
        if detect_format(path) == "parquet":
            import pyarrow.parquet as pq

            files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
            n = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        else:
            with path.open("rb") as fh:
                n = max(0, sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1)
    except OSError:
        return None
    return min(n, max_rows) if max_rows is not None else n


def build_predictions(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder: comparison.sections.predictions and comparison.sample (the capped input rows)."""
    if comparison.data is None and comparison.data_path is None:
        comparison.notes.append("Predictions not compared: no sample data was given (--data).")
        return
    result, sample = compare_predictions(
        comparison.repo,
        comparison.deployed,
        data=comparison.data,
        data_path=comparison.data_path if comparison.data is None else None,
        options=comparison.options,
        progress=progress,
    )
    comparison.sections.predictions = result
    comparison.sample = sample


MetricsFn = Callable[[PredictionComparison, int], MetricsComparison]  # (predictions, seed) -> metrics


def build_metrics(comparison: Comparison, progress: ProgressFn, compute: MetricsFn | None = None) -> None:
    """Section builder: comparison.sections.metrics when a target column was given and predictions exist.

    `compute` computes them (default: compare_metrics on the predictions' rows); the Spark engine passes its own.
    """
    predictions = comparison.sections.predictions
    if comparison.options.target is None or not isinstance(predictions, PredictionComparison):
        return
    if predictions.outputs.target is None:
        return
    progress("Bootstrapping metric intervals", 0.0)
    seed = comparison.options.seed
    try:
        metrics = compute(predictions, seed) if compute else compare_metrics(predictions.outputs, seed=seed)
    except DataError as err:  # no labelled row: the section is absent and says why (never f1 = 0.0)
        raise DataError(err.problem + _label_examples(comparison, predictions)) from err  # recorded: pipeline
    comparison.sections.metrics = metrics


def _label_examples(comparison: Comparison, predictions: PredictionComparison) -> str:
    """' The models' classes are 0, 1; the label column holds 'no', 'yes'.' (classifiers, when known)."""
    target, sample = comparison.options.target, comparison.sample
    if not predictions.outputs.is_classification or sample is None or target not in sample:
        return ""
    seen = pd.unique(sample[target].dropna())[:5]

    def show(values: Any) -> str:
        return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values)

    held = show(seen) if len(seen) else "only empty values"
    return f" The models' classes are {show(predictions.outputs.classes[:10])}; column {target!r} holds {held}."
