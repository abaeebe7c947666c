"""Explanations with the Spark engine: SHAP computed on the executors, global importance aggregated in Spark.

The rows are the pandas engine's (`row_selection`: the largest disagreements of the collected sample first, then
seeded uniform random rows, up to --shap-rows). They are read again in Spark from the data by row position, cut
into parts of consecutive positions and explained per partition with `mapInPandas`, each task running the pandas
engine's `explain` for both models (explain_task.py). The mean |SHAP| per feature over the random rows (those of
them both models explained: RowSelection.statistics_rows, as on the pandas engine) is aggregated in Spark; the
per-row values come back to the driver (at most --shap-rows x features x classes x 2 doubles) for the per-row
views, the additivity check and the rank and sign statistics.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from modelgap.explanations.agnostic import AgnosticSettings
from modelgap.explanations.compare import ExplanationComparison, Importance, compare_explanations
from modelgap.explanations.engine import AGNOSTIC_METHOD
from modelgap.explanations.outputs import targets_of
from modelgap.explanations.result import Explanation, build_explanation
from modelgap.explanations.rows import RowSelection, global_rows
from modelgap.explanations.section import (
    ExplainPlan,
    build_explanations,
    explain_plan,
    nothing_explained,
    row_selection,
)
from modelgap.model import LoadedModel
from modelgap.predictions.schema import plan_inputs
from modelgap.spark.explain_task import PART, POS, SIDES, ExplainTask, record_schema
from modelgap.spark.frames import ROW, load_rows, spark_failures

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from modelgap.comparison import Comparison, ProgressFn

PARTS_PER_CORE = 2  # more parts than cores, so a slow part does not hold the others back


def build_explanations_spark(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (engine "spark"): the explanations section, computed on the executors."""
    build_explanations(comparison, progress, explainer=explain_comparison_spark)


def explain_comparison_spark(comparison: Comparison, progress: ProgressFn) -> ExplanationComparison | None:
    """Explain both models on the pandas engine's rows, on Spark, and compare (None: no rows to explain)."""
    selection = row_selection(comparison)
    rows = selection.order
    if len(rows) == 0:
        comparison.notes.append("Explanations: no rows to explain (--shap-rows 0 or empty data).")
        return None
    from modelgap.spark.session import get_session

    spark = get_session(comparison.options.spark.master)
    plan = explain_plan(comparison)
    progress(f"Spark: explaining {len(rows):,} rows on the executors", 0.05)
    start = time.perf_counter()
    records: DataFrame | None = None
    try:
        with spark_failures():
            records = _records(spark, comparison, rows, plan)
            from pyspark import StorageLevel

            records = records.persist(StorageLevel.MEMORY_AND_DISK)
            collected = records.toPandas()
            importance = _importance_in_spark(records, comparison, plan, _statistics_rows(collected, selection))
    finally:
        if records is not None:
            records.unpersist()
    seconds = time.perf_counter() - start
    progress("Spark: comparing the explanations", 0.9)
    sample = comparison.sample
    assert sample is not None
    X = sample.loc[rows]
    models = (comparison.repo, comparison.deployed)
    explanations = [
        _explanation(collected, side, model, X, plan, seconds) for side, model in zip(SIDES, models, strict=True)
    ]
    for side, model, exp in zip(SIDES, models, explanations, strict=True):
        if exp.n_rows == 0:
            raise nothing_explained(side, model, plan.seconds, exp.method)
    result = compare_explanations(
        explanations[0], explanations[1], top_k=plan.top_k, importance=importance, selection=selection
    )
    result.notes.append(
        f"Spark engine: SHAP for {len(rows):,} rows computed on the executors; importance aggregated in Spark."
    )
    return result


def _records(spark: SparkSession, comparison: Comparison, rows: pd.Index, plan: ExplainPlan) -> DataFrame:
    """The explanation records (explain_task.record_schema), lazily: the chosen rows read in Spark by position,
    in parts of consecutive positions, explained per partition."""
    from pyspark.sql import functions as F

    options = comparison.options
    positions = pd.DataFrame({ROW: np.asarray(rows, dtype=np.int64), POS: np.arange(len(rows), dtype=np.int64)})
    part_rows, n_parts = _parts(len(rows), _parallelism(spark), plan.settings.agnostic)
    positions[PART] = positions[POS] // part_rows
    chosen = spark.createDataFrame(positions)
    data = load_rows(spark, data=comparison.data, data_path=comparison.data_path, max_rows=options.max_rows)
    data = data.where(F.col(ROW).isin([int(r) for r in positions[ROW]]))
    joined = data.join(F.broadcast(chosen), on=ROW, how="inner").repartition(n_parts, F.col(PART))
    columns = [c for c in data.columns if c != ROW]
    input_plan = plan_inputs(comparison.repo, comparison.deployed, columns, options.target)
    task = ExplainTask(
        models=(comparison.repo, comparison.deployed),
        plan=input_plan,
        target=options.target,
        output=plan.output,
        background=plan.background,
        settings=plan.settings,
        exclude=tuple(plan.exclude),
        part_rows=part_rows,
        deadline=time.time() + 2 * plan.seconds,  # the pandas engine gives each model `seconds`
    )
    return joined.mapInPandas(task, record_schema())


def _parallelism(spark: SparkSession) -> int:
    """Cores Spark can run tasks on (2 when the session does not say, e.g. over Spark Connect)."""
    try:
        return max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return 2


def _parts(n_rows: int, cores: int, agnostic: AgnosticSettings) -> tuple[int, int]:
    """(rows per part, number of parts): parts are whole multiples of the agnostic chunk size."""
    chunk = max(1, agnostic.chunk_rows)
    wanted = max(1, cores * PARTS_PER_CORE)
    part_rows = max(chunk, math.ceil(math.ceil(n_rows / wanted) / chunk) * chunk)
    return part_rows, max(1, math.ceil(n_rows / part_rows))


def _statistics_rows(collected: pd.DataFrame, selection: RowSelection) -> list[int]:
    """The rows the importance is aggregated over: the random rows both models explained (global_rows)."""
    explained = collected[collected["kind"] == "row"].groupby("row")["side"].nunique()
    both = pd.Index(explained.index[explained.to_numpy() == len(SIDES)].astype(np.int64))
    rows, _ = global_rows(selection, both)
    return [int(r) for r in rows]


def _importance_in_spark(records: DataFrame, comparison: Comparison, plan: ExplainPlan, rows: list[int]) -> Importance:
    """Mean |SHAP| per (side, target, feature) over `rows` (the random rows both explained), in Spark."""
    from pyspark.sql import functions as F

    values = records.where((F.col("kind") == "row") & F.col("row").isin(rows))
    exploded = values.select("side", "target", F.posexplode("values").alias("feature", "value"))
    means = exploded.groupBy("side", "target", "feature").agg(F.avg(F.abs(F.col("value"))).alias("importance"))
    found: dict[tuple[str, str], dict[int, float]] = {}
    for r in means.collect():
        found.setdefault((str(r["side"]), str(r["target"])), {})[int(r["feature"])] = float(r["importance"])
    names = {side: _features(model, plan, comparison) for side, model in zip(SIDES, _models(comparison), strict=True)}
    targets = {side: targets_of(model)[0] for side, model in zip(SIDES, _models(comparison), strict=True)}
    out: Importance = {}
    for target in targets["repo"]:
        deployed_target = target if target in targets["deployed"] else targets["deployed"][0]
        series = []
        for side, key in (("repo", target), ("deployed", deployed_target)):
            by_index = found.get((side, key), {})
            series.append(pd.Series([by_index.get(i, 0.0) for i in range(len(names[side]))], index=names[side]))
        out[target] = (series[0], series[1])
    return out


def _models(comparison: Comparison) -> tuple[LoadedModel, LoadedModel]:
    return comparison.repo, comparison.deployed


def _features(model: LoadedModel, plan: ExplainPlan, comparison: Comparison) -> list[str]:
    """The columns `explain` explains the model on (its inputs, else the sample's columns except the label)."""
    sample = comparison.sample
    assert sample is not None
    return model.feature_names or [c for c in sample.columns if c not in set(plan.exclude)]


def _explanation(
    collected: pd.DataFrame, side: str, model: LoadedModel, X: pd.DataFrame, plan: ExplainPlan, seconds: float
) -> Explanation:
    """One side's Explanation from its collected records, rows in the pandas engine's order."""
    mine = collected[collected["side"] == side]
    meta = mine[mine["kind"] == "meta"]
    rows = mine[mine["kind"] == "row"].sort_values(["pos", "target"])
    targets, labels = targets_of(model)
    features = model.feature_names or [c for c in X.columns if c not in set(plan.exclude)]
    explained = rows.drop_duplicates("pos").sort_values("pos")
    index = X.index[explained["pos"].to_numpy(dtype=np.int64)]
    n, f, k = len(index), len(features), len(targets)
    values = np.zeros((n, f, k))
    base = np.zeros((n, k))
    outputs = np.zeros((n, k))
    where = {pos: i for i, pos in enumerate(explained["pos"].to_numpy(dtype=np.int64))}
    column = {t: j for j, t in enumerate(targets)}
    for pos, target, b, out, vector in zip(
        rows["pos"], rows["target"], rows["base"], rows["output"], rows["values"], strict=True
    ):
        i, j = where[int(pos)], column[str(target)]
        values[i, :, j] = np.asarray(vector, dtype=float)
        base[i, j] = float(b)
        outputs[i, j] = float(out)
    method = str(meta["method"].iloc[0]) if len(meta) else AGNOSTIC_METHOD
    part_notes = [list(n) for n in meta["notes"] if n is not None]
    notes = list(dict.fromkeys(note for listed in part_notes for note in listed))
    agnostic_rows = plan.settings.agnostic.max_rows
    if method == AGNOSTIC_METHOD and len(X) > agnostic_rows:
        notes.append(f"Model-agnostic SHAP explained the first {agnostic_rows} of {len(X)} rows (row budget).")
    return build_explanation(
        values,
        base,
        outputs,
        explained=X.loc[index],
        n_requested=len(X),
        output=plan.output,
        method=method,
        targets=targets,
        class_labels=labels,
        features=features,
        stopped=bool(meta["stopped"].astype(bool).any()) if len(meta) else False,
        seconds=seconds,
        notes=notes,
    )
