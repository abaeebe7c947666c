"""The `predictions` section on Spark: both models scored on the executors, whole-data measures aggregated
in Spark, and only bounded pieces collected to the driver.

Collected: the `top` rows (top_n), the crosstab (classes x classes), the histogram (40 counts), the slice
counts (at most ~22 per input column), and the uniform sample (at most `--max-rows` or
`options.predictions.sample_rows`, default 100,000 rows, plus the top rows) with its per-row outputs. The
per-row table, the slice definitions and the surrogate rules come from that sample through the pandas engine's
own functions, so they equal the pandas engine's when the sample holds every row; slice counts (slices.py) and,
with a target, metric point values (metrics.py) cover every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.model import LoadedModel
from modelgap.predictions import measures
from modelgap.predictions.assembly import WholeData, assemble, finish, pick_tolerance
from modelgap.predictions.classes import CodeBook, align_classes
from modelgap.predictions.measures import RowOutputs
from modelgap.predictions.predict import LABEL_CHECK_ROWS, SidePredictor
from modelgap.predictions.result import PredictionComparison
from modelgap.predictions.schema import InputPlan, plan_inputs, prepare_chunk, unseen_notes
from modelgap.predictions.slices import Slice
from modelgap.spark import aggregates
from modelgap.spark.frames import ROW, load_rows, require_rows, spark_failures, unwrap_executor_error
from modelgap.spark.metrics import WholeMetrics, whole_data_metrics
from modelgap.spark.scoring import (
    ABS_DIFF,
    DEPLOYED,
    DEPLOYED_PROBA,
    DEPLOYED_SCORE,
    DIFF,
    KEY,
    REPO,
    REPO_PROBA,
    REPO_SCORE,
    TARGET,
    ScoreSpec,
    score,
)
from modelgap.spark.session import PANDAS_ENGINE, SparkEngineError
from modelgap.spark.slices import whole_data_slices
from modelgap.spark.wrap import WrappedSides

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from modelgap.comparison import CompareOptions, Comparison, ProgressFn


class SparkPredictionComparison(PredictionComparison):
    """The predictions section computed on Spark: the same contract, plus the engine and the rows read."""

    whole_metrics: WholeMetrics | None = None  # metric point values over every labelled row (sample capped)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["engine"] = "spark"
        out["rows_read"] = self.n_rows
        return out


def compare_predictions_spark(
    repo: LoadedModel,
    deployed: LoadedModel,
    *,
    spark: SparkSession,
    data: pd.DataFrame | None = None,
    data_path: str | None = None,
    options: CompareOptions | None = None,
    progress: ProgressFn | None = None,
) -> tuple[PredictionComparison, pd.DataFrame]:
    """Like predictions.compare_predictions, on Spark: (section result, in-memory sample with target kept)."""
    from modelgap.comparison import CompareOptions

    options = options or CompareOptions()
    report = progress or (lambda _m, _f: None)
    alignment = align_classes(repo, deployed)
    if alignment.open:
        raise SparkEngineError(
            "The Spark engine needs both classifiers to declare their classes (one predicts labels only and "
            "does not list them).",
            f"Log the model with its classes (a signature or an sklearn flavor), or use {PANDAS_ENGINE}.",
        )
    report("Spark: reading the data", 0.05)
    df = load_rows(spark, data=data, data_path=data_path, max_rows=options.max_rows)
    columns = [c for c in df.columns if c != ROW]
    plan = plan_inputs(repo, deployed, columns, options.target)
    codebook = CodeBook(alignment) if alignment.is_classification else None
    predictors = (SidePredictor(plan.repo, alignment, codebook), SidePredictor(plan.deployed, alignment, codebook))
    _check_head(df, plan, predictors, data_path)  # the pandas engine's first-chunk checks, on the driver
    keep_proba = options.target is not None and alignment.uses_probabilities
    wrapped = WrappedSides(spark, predictors, plan)
    scored: DataFrame | None = None
    try:
        with spark_failures():
            inputs = [c for c in columns if c != options.target]
            repo_vec, deployed_vec = wrapped.columns(inputs)
            spec = ScoreSpec(alignment, codebook, wrapped.widths, options.target, keep_proba, options.seed)
            from pyspark import StorageLevel

            # DISK_ONLY: with a memory level Spark reads a spilled block back into one heap buffer (an OOM with
            # 1 GB of driver memory at 20M rows in local mode); from disk, each later pass streams it.
            scored = score(df, repo_vec, deployed_vec, spec).persist(StorageLevel.DISK_ONLY)
            report("Spark: scoring both models", 0.1)
            result, sample = _measure(scored, plan, spec, options, report)
    finally:
        if scored is not None:
            scored.unpersist()
        wrapped.close()
    notes = list(alignment.notes) + plan.notes + unseen_notes(plan)
    if codebook is not None and codebook.added:
        notes.append(f"Labels outside the declared classes were predicted: {', '.join(map(repr, codebook.added))}.")
    result.notes = notes + result.notes
    return result, sample


def _check_head(
    df: DataFrame, plan: InputPlan, predictors: tuple[SidePredictor, SidePredictor], source: str | None
) -> None:
    """Predict the first rows on the driver: data problems fail here with the pandas engine's message, and
    each side learns whether its labels can come from its probabilities (as on the pandas engine's first chunk)."""
    from pyspark.sql import functions as F

    try:
        head = df.where(F.col(ROW) < LABEL_CHECK_ROWS).toPandas().sort_values(ROW)
    except Exception as exc:  # noqa: BLE001 - a Spark job failure: shown as one line, never a JVM stack
        raise unwrap_executor_error(exc) from None
    require_rows(len(head), source)
    head = head.set_index(ROW)
    head.index.name = None
    frame = prepare_chunk(head, plan)
    for predictor in predictors:
        predictor.predict(frame)
    plan.unseen.clear()  # counted over every row in Spark below


def _measure(
    scored: DataFrame, plan: InputPlan, spec: ScoreSpec, options: CompareOptions, report: ProgressFn
) -> tuple[PredictionComparison, pd.DataFrame]:
    """The Spark kernels (whole-data aggregates, the collected sample) fed to the shared assembly."""
    alignment = spec.alignment
    classification = alignment.is_classification
    classes = list(spec.codebook.classes) if spec.codebook is not None else []
    tolerance, is_default, notes = pick_tolerance(
        classification, options.tolerance, lambda: aggregates.default_tolerance(scored)
    )
    disagree = aggregates.disagree_column(classification, tolerance)
    head = aggregates.headline(scored, disagree)
    n, n_dis = int(head["n"]), int(head["n_dis"] or 0)
    require_rows(n, None)
    report(f"Spark: compared {n:,} rows", 0.6)
    _count_unseen(scored, plan)
    histogram = None
    if int(head["n_diff"] or 0) > 0:
        positive = classes[1] if classification and len(classes) == 2 else None
        what = measures.histogram_what(classification, len(classes), positive)
        histogram = aggregates.histogram(scored, float(head["diff_min"]), float(head["diff_max"]), what)
    sample_rows = max(1, options.max_rows or options.predictions.sample_rows)
    top = aggregates.top_rows(scored, disagree, options.top_n, classes, classification)
    report("Spark: collecting the sample", 0.8)
    frame, uniform = _collect_sample(scored, n, sample_rows, [t["row"] for t in top])
    tally = {key: dict(counts) for key, counts in plan.unseen.items()}
    sample = sample_inputs(frame, plan)
    plan.unseen.clear()
    plan.unseen.update(tally)  # converting the sample must not count its levels twice
    whole = WholeData(
        n_rows=n,
        n_disagreements=n_dis,
        mean_abs_diff=float(head["mean_abs"]) if head["mean_abs"] is not None else 0.0,
        max_abs_diff=float(head["max_abs"]) if head["max_abs"] is not None else 0.0,
        top=top,
        crosstab=aggregates.crosstab(scored, classes) if classification else None,
        diff_histogram=histogram,
        flips=aggregates.flips(scored) if classification and spec.target is not None else None,
    )

    def slices(inputs: pd.DataFrame, uniform_disagree: np.ndarray) -> list[Slice]:
        return whole_data_slices(scored, disagree, plan, inputs, uniform_disagree, n, n_dis)

    result = assemble(
        whole,
        _row_outputs(frame, spec, classes),
        np.arange(len(frame)),  # the collected outputs are the sample's rows, in order
        sample,
        uniform,
        input_columns=plan.input_columns,
        tolerance=tolerance,
        tolerance_is_default=is_default,
        top_n=options.top_n,
        seed=options.seed,
        notes=notes,
        slices=slices,
        result_type=SparkPredictionComparison,
    )
    capped = finish(result, alignment, plan, max_rows=options.max_rows)
    if capped and spec.target is not None:  # while `scored` is persisted; the metrics builder reads it
        report("Spark: metrics over every labelled row", 0.9)
        result.whole_metrics = whole_data_metrics(scored, spec, classes)
    if capped:
        result.notes.append(
            f"Spark engine: the headline numbers, top rows, cross-tab, histogram, flips and slice counts use all "
            f"{n:,} rows; the row table, the surrogate rules and the slices' edges and listed levels use a seeded "
            f"uniform sample of {len(uniform):,} rows collected to the driver."
        )
    return result, sample


def _collect_sample(scored: DataFrame, n: int, cap: int, top: list[int]) -> tuple[pd.DataFrame, pd.Index]:
    """The sample rows with their outputs, indexed by row: every row when n <= cap, else the cap rows with the
    smallest keys (the pandas engine's reservoir) plus the top rows; and the uniform rows' index."""
    from pyspark.sql import functions as F

    if n <= cap:
        frame = scored.toPandas()
    else:
        smallest = scored.orderBy(F.col(KEY).asc()).limit(cap)
        extra = scored.where(F.col(ROW).isin(top)) if top else None
        frame = smallest.toPandas()
        chosen = set(frame[ROW].tolist())
        if extra is not None:
            more = extra.toPandas()
            more = more[~more[ROW].isin(chosen)]
            if len(more):
                frame = pd.concat([frame, more], ignore_index=True)
        frame = frame.assign(__uniform=frame[ROW].isin(chosen))
    frame = frame.sort_values(ROW).set_index(ROW)
    frame.index.name = None
    if "__uniform" in frame.columns:
        chosen_rows = frame.index[frame.pop("__uniform").to_numpy(dtype=bool)]
    else:
        chosen_rows = frame.index
    return frame, pd.Index(chosen_rows.to_numpy(dtype=np.int64))


def _row_outputs(frame: pd.DataFrame, spec: ScoreSpec, classes: list[Any]) -> RowOutputs:
    """RowOutputs of the collected rows (all rows when the sample holds them all), in row order."""
    alignment = spec.alignment
    classification = alignment.is_classification
    cast = np.int32 if classification else float

    def arr(name: str, dtype: Any = float) -> np.ndarray:
        return frame[name].to_numpy(dtype=dtype, na_value=np.nan if dtype is float else -1)

    def matrix(name: str) -> np.ndarray:
        values = frame[name].to_numpy()
        return np.vstack(list(values)).astype(float) if len(values) else np.empty((0, len(classes)))

    compared_on = "probabilities" if alignment.uses_probabilities else "labels"
    compared_on = compared_on if classification else "values"
    return RowOutputs(
        task=alignment.task,
        classes=classes,
        repo=arr(REPO, cast),
        deployed=arr(DEPLOYED, cast),
        abs_diff=arr(ABS_DIFF),
        diff=arr(DIFF),
        repo_score=arr(REPO_SCORE) if classification else None,
        deployed_score=arr(DEPLOYED_SCORE) if classification else None,
        repo_proba=matrix(REPO_PROBA) if spec.keep_proba else None,
        deployed_proba=matrix(DEPLOYED_PROBA) if spec.keep_proba else None,
        target=arr(TARGET, cast) if spec.target is not None else None,
        compared_on=compared_on,
    )


def sample_inputs(frame: pd.DataFrame, plan: InputPlan) -> pd.DataFrame:
    """The sample as the pandas engine keeps it: converted model inputs, then the target column."""
    raw = frame[[c for c in frame.columns if not c.startswith("__mg_")]]
    converted = prepare_chunk(raw, plan)
    if plan.target is not None:
        converted = converted.assign(**{plan.target: raw[plan.target]})
    return converted


def _count_unseen(scored: DataFrame, plan: InputPlan) -> None:
    """Levels an encoder ignores, counted over every row (the pandas engine counts them chunk by chunk)."""
    from pyspark.sql import functions as F

    for side in plan.sides:
        for known in side.levels:
            if known.refuses_unknown or known.column not in scored.columns:
                continue
            col = F.col(f"`{known.column}`")
            plain = [v.item() if isinstance(v, np.generic) else v for v in known.levels]
            levels = [v for v in plain if v is not None and not (isinstance(v, float) and np.isnan(v))]
            has_nan = len(levels) < len(list(known.levels))
            outside = ~col.isin(levels) if levels else F.lit(True)
            cond = (col.isNotNull() & outside) if has_nan else (col.isNull() | outside)
            rows = scored.where(cond).groupBy(col).count().collect()
            if not rows:
                continue
            tally = plan.unseen.setdefault((side.side, known.column), {})
            for value, count in sorted(((r[0], int(r[1])) for r in rows), key=lambda kv: -kv[1]):
                key = _level_text(value)
                tally[key] = tally.get(key, 0) + count


def build_predictions_spark(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (engine "spark"): comparison.sections.predictions and comparison.sample."""
    if comparison.data is None and comparison.data_path is None:
        comparison.notes.append("Predictions not compared: no sample data was given (--data).")
        return
    from modelgap.spark.session import get_session

    spark = get_session(comparison.options.spark.master)
    result, sample = compare_predictions_spark(
        comparison.repo,
        comparison.deployed,
        spark=spark,
        data=comparison.data,
        data_path=comparison.data_path if comparison.data is None else None,
        options=comparison.options,
        progress=progress,
    )
    comparison.sections.predictions = result
    comparison.sample = sample  # the metrics builder (modelgap.spark.metrics) notes what its numbers cover


def _level_text(value: Any) -> str:
    """A level as the pandas engine's notes show it (schema._level)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "NaN"
    return repr(value.item() if isinstance(value, np.generic) else value)
