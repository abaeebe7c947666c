"""The `metrics` section on Spark: point values over every labelled row, intervals from the collected sample.

When the uniform sample holds every row, the section is the pandas engine's (`build_metrics` on the collected
outputs). When it is capped, `whole_data_metrics` runs while the scored frame is still persisted (called from
predictions._measure) and computes both models' metrics over every labelled row as Spark aggregations, with
metrics.py's definitions: accuracy and F1 from label-by-prediction counts, log loss as a mean of clipped
negative log probabilities, MAE / RMSE / R² from means and the target's var_pop, and ROC AUC exactly (ties
count one half) as Mann-Whitney: positives and negatives per distinct score, range-partitioned by score, each
partition's sum of positives x (negatives below + half the tied ones), plus its positives x the negatives of
the partitions before it. `build_metrics_spark` then takes the intervals from the sample's paired bootstrap,
shifted to the all-row change and scaled to all labelled rows as bootstrap.py's m-out-of-n intervals are.

Collected to the driver: one row of counts and means; labels x predictions counts (at most classes x classes
rows per side); for ROC AUC one row per (range partition, side, class) it touches: at most partitions +
2 x classes rows. Nothing grows with the data.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from modelgap.predictions.measures import RowOutputs
from modelgap.predictions.metrics import (
    EPS,
    NO_PROBABILITIES,
    MetricsComparison,
    MetricValue,
    compare_metrics,
    excluded_note,
    undefined_note,
)
from modelgap.predictions.result import PredictionComparison
from modelgap.spark.scoring import DEPLOYED, DEPLOYED_PROBA, REPO, REPO_PROBA, TARGET, ScoreSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from modelgap.comparison import Comparison, ProgressFn

SIDES = (REPO, DEPLOYED)
PROBAS = (REPO_PROBA, DEPLOYED_PROBA)
NAN = float("nan")
RANGE_ROWS = 1_000_000  # ROC AUC: distinct (side, class, score) rows per range partition, at most (about)


@dataclass
class WholeMetrics:
    """Both models' metric point values over every labelled row (NaN where a metric is not defined)."""

    task: str
    values: dict[str, tuple[float, float]]  # name -> (repo, deployed), in metrics.py's order
    n_rows: int  # labelled rows
    n_excluded: int  # rows without a usable label
    notes: list[str] = field(default_factory=list)


def whole_data_metrics(scored: DataFrame, spec: ScoreSpec, classes: list[Any]) -> WholeMetrics:
    """metrics.py's point values over every row of the scored frame (persisted: it is read by a few jobs)."""
    from pyspark.sql import functions as F

    classification = spec.classification
    target = F.col(TARGET)
    usable = target.isNotNull() & (target >= 0) if classification else _finite(target)
    means = _means(usable, classification, spec.keep_proba)
    row = scored.agg(F.count(F.lit(1)), F.sum(F.when(usable, 1).otherwise(0)), *means).first()
    assert row is not None
    n_total, n = int(row[0]), int(row[1] or 0)
    averages = [_num(v) for v in row[2:]]
    notes: list[str] = []
    if n < n_total:
        notes.append(excluded_note(n_total - n, classification))
    labelled = scored.where(usable)
    if classification:
        values = _classification(labelled, spec, len(classes), n, averages, notes)
    else:
        values = _regression(n, averages)
    for name, (r, d) in values.items():
        if not (math.isfinite(r) and math.isfinite(d)):
            notes.append(undefined_note(name))
    return WholeMetrics(spec.alignment.task, values, n, n_total - n, notes)


def _finite(c: Column) -> Column:
    from pyspark.sql import functions as F

    return c.isNotNull() & ~F.isnan(c) & (F.abs(c) != F.lit(float("inf")))


def _means(usable: Column, classification: bool, keep_proba: bool) -> list[Column]:
    """Aggregates over the labelled rows: classifiers with probabilities, each side's log loss; regressors, the
    target's var_pop (its total sum of squares / n), then per side mean |err| and mean err²."""
    from pyspark.sql import functions as F

    target = F.col(TARGET)
    if classification:
        return [F.avg(F.when(usable, _nll(c))) for c in PROBAS] if keep_proba else []
    out = [F.var_pop(F.when(usable, target))]
    for side in SIDES:
        err = F.coalesce(F.col(side), F.lit(NAN)) - target  # a missing prediction is NaN, as in numpy
        out += [F.avg(F.when(usable, F.abs(err))), F.avg(F.when(usable, err * err))]
    return out


def _nll(column: str) -> Column:
    """-log(clip(p[target], EPS, 1 - EPS)); p = 0 for a target code beyond the probabilities (metrics._nll)."""
    from pyspark.sql import functions as F

    target, proba = F.col(TARGET), F.col(column)
    p = F.coalesce(F.when(target < F.size(proba), F.element_at(proba, target + 1)).otherwise(0.0), F.lit(NAN))
    clipped = F.when(F.isnan(p), p).otherwise(F.least(F.greatest(p, F.lit(EPS)), F.lit(1 - EPS)))
    return -F.log(clipped)  # Spark's least/greatest would drop a NaN: kept NaN, as numpy's clip keeps it


def _classification(
    labelled: DataFrame, spec: ScoreSpec, k: int, n: int, log_loss: list[float], notes: list[str]
) -> dict[str, tuple[float, float]]:
    """accuracy, roc_auc, log_loss (both sides with probabilities), f1: metrics._classification's order."""
    confusion = _confusion(labelled)
    out: dict[str, tuple[float, float]] = {}
    accuracy = [sum(c for (y, p), c in counts.items() if y == p) / n if n else NAN for counts in confusion]
    out["accuracy"] = (accuracy[0], accuracy[1])
    if spec.keep_proba:
        out["roc_auc"] = _roc_auc(labelled, n, k) if n else (NAN, NAN)
        out["log_loss"] = (log_loss[0], log_loss[1])
    else:
        notes.append(NO_PROBABILITIES)
    f1 = [_f1(counts, k) if n else NAN for counts in confusion]
    out["f1"] = (f1[0], f1[1])
    return out


def _confusion(labelled: DataFrame) -> list[dict[tuple[int, int], int]]:
    """Per side, (target code, predicted code) -> rows: at most classes x classes rows each, one job."""
    from pyspark.sql import functions as F

    parts = [labelled.select(F.lit(i).alias("side"), TARGET, F.col(c).alias("pred")) for i, c in enumerate(SIDES)]
    rows = parts[0].unionByName(parts[1]).groupBy("side", TARGET, "pred").count().collect()
    out: list[dict[tuple[int, int], int]] = [{}, {}]
    for r in rows:
        out[int(r[0])][(int(r[1]), int(r[2]))] = int(r[3])
    return out


def _f1(counts: dict[tuple[int, int], int], k: int) -> float:
    """metrics._f1: binary F1 of code 1; multiclass macro over the k classes (0 where undefined)."""
    classes = [1] if k == 2 else list(range(k))
    tp = np.array([float(counts.get((c, c), 0)) for c in classes])
    fp = np.array([float(sum(v for (y, p), v in counts.items() if p == c and y != c)) for c in classes])
    fn = np.array([float(sum(v for (y, p), v in counts.items() if y == c and p != c)) for c in classes])
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    return float(scores.mean())


def _roc_auc(labelled: DataFrame, n: int, k: int) -> tuple[float, float]:
    """Binary: AUC of class 1's probability; multiclass: mean of the defined one-vs-rest AUCs (metrics._auc)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, IntegerType, LongType, StructField, StructType

    binary = k == 2
    parts = []
    for i, column in enumerate(PROBAS):
        exploded = labelled.select(
            F.lit(i).alias("side"), F.posexplode(column).alias("cls", "score"), F.col(TARGET).alias("y")
        )
        parts.append(exploded.where(F.col("cls") == 1) if binary else exploded)
    positive = (F.col("y") == F.col("cls")).cast("long")
    counts = (
        parts[0]
        .unionByName(parts[1])
        .withColumn("score", F.coalesce(F.col("score"), F.lit(NAN)))
        .groupBy("side", "cls", "score")
        .agg(F.sum(positive).alias("pos"), F.sum(1 - positive).alias("neg"))
    )
    keys = ["side", "cls", "score"]
    schema = StructType(
        [
            StructField("side", IntegerType()),
            StructField("cls", IntegerType()),
            StructField("first", DoubleType()),
            StructField("num", DoubleType()),
            StructField("pos", LongType()),
            StructField("neg", LongType()),
        ]
    )
    # An explicit count (adaptive execution keeps it): about RANGE_ROWS distinct scores per partition at most,
    # at least 2, at most spark.sql.shuffle.partitions.
    most = int(labelled.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
    n_parts = max(2, min(most, math.ceil(2 * n * (1 if binary else k) / RANGE_ROWS)))
    ranged = counts.repartitionByRange(n_parts, *keys).sortWithinPartitions(*keys)
    sums = pd.DataFrame(
        [r.asDict() for r in ranged.mapInPandas(_partition_sums, schema).collect()],
        columns=[f.name for f in schema.fields],
    )
    per_side: list[float] = []
    for side in range(2):
        aucs = [_combine(group) for _, group in sums[sums["side"] == side].groupby("cls", sort=True)]
        finite = [a for a in aucs if math.isfinite(a)]
        per_side.append(sum(finite) / len(finite) if finite else NAN)
    return per_side[0], per_side[1]


def _partition_sums(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """One range partition, rows sorted by (side, cls, score): per (side, cls) its smallest score, positives,
    negatives and sum over scores of positives x (negatives below in this partition + half the tied ones)."""
    state: dict[tuple[int, int], list[float]] = {}  # key -> [first score, last score, num, pos, neg]
    for batch in batches:
        for raw, group in batch.groupby(["side", "cls"], sort=False):
            side, cls = cast(tuple[Any, Any], raw)
            key = (int(side), int(cls))
            score = _ordered(group["score"].to_numpy(dtype=float))
            pos = group["pos"].to_numpy(dtype=np.int64)
            neg = group["neg"].to_numpy(dtype=np.int64)
            seen = state.get(key)
            before = seen[4] if seen is not None else 0.0
            if np.any(np.diff(score) <= 0) or (seen is not None and score[0] <= seen[1]):
                raise RuntimeError("ROC AUC: scores reached a partition out of order (range partitioning broken).")
            below = before + np.cumsum(neg, dtype=float) - neg
            num = float(pos @ (below + neg / 2.0))
            if seen is None:
                state[key] = [float(score[0]), float(score[-1]), num, float(pos.sum()), float(neg.sum())]
            else:
                seen[1], seen[2] = float(score[-1]), seen[2] + num
                seen[3], seen[4] = seen[3] + float(pos.sum()), seen[4] + float(neg.sum())
    if state:
        rows = [(s, c, v[0], v[2], int(v[3]), int(v[4])) for (s, c), v in state.items()]
        yield pd.DataFrame(rows, columns=["side", "cls", "first", "num", "pos", "neg"])


def _ordered(score: np.ndarray) -> np.ndarray:
    """Scores as Spark orders them: NaN above every number (probabilities are never infinite)."""
    return np.where(np.isnan(score), np.inf, score)


def _combine(parts: pd.DataFrame) -> float:
    """One (side, class) AUC from its partitions: in score order, each adds its positives x the negatives of
    the partitions before it; divided by positives x negatives (NaN when a class is absent or alone)."""
    parts = parts.iloc[np.argsort(parts["first"].to_numpy(dtype=float), kind="stable")]
    neg = parts["neg"].to_numpy(dtype=float)
    pos = parts["pos"].to_numpy(dtype=float)
    earlier = np.cumsum(neg) - neg
    numerator = float(parts["num"].to_numpy(dtype=float).sum() + pos @ earlier)
    total = float(pos.sum()) * float(neg.sum())
    return numerator / total if total > 0 else NAN


def _regression(n: int, means: list[float]) -> dict[str, tuple[float, float]]:
    """mae, rmse, r2 (1 - SSE / total sum of squares, NaN when the target is constant): metrics._regression.
    `means`: var_pop of the target, then per side mean |err| and mean err² (SSE / SST = their ratio)."""
    variance = means[0] if n else NAN
    mae, rmse, r2 = [], [], []
    for i in range(2):
        abs_mean, sq_mean = means[1 + 2 * i], means[2 + 2 * i]
        mae.append(abs_mean)
        rmse.append(math.sqrt(sq_mean) if sq_mean >= 0 else NAN)
        r2.append(1 - sq_mean / variance if variance > 0 else NAN)
    return {"mae": (mae[0], mae[1]), "rmse": (rmse[0], rmse[1]), "r2": (r2[0], r2[1])}


def _num(value: Any) -> float:
    return float(value) if value is not None else NAN


def spark_metrics(predictions: PredictionComparison, *, seed: int = 0) -> MetricsComparison:
    """The metrics section: compare_metrics when the sample holds every row; else point values over every
    labelled row (`predictions.whole_metrics`) with the sample's paired-bootstrap intervals, shifted to the
    all-row change and scaled from the sample's labelled rows to all labelled rows."""
    whole: WholeMetrics | None = getattr(predictions, "whole_metrics", None)
    cap = predictions.row_cap
    if whole is None and (cap is None or not cap.sample_capped):
        return compare_metrics(predictions.outputs, seed=seed)
    sample = compare_metrics(uniform_outputs(predictions), seed=seed)
    if whole is None:  # capped without whole-data values (not reached from compare_predictions_spark)
        return sample
    return with_whole_points(sample, whole)


def uniform_outputs(predictions: PredictionComparison) -> RowOutputs:
    """The collected outputs restricted to the uniform sample (the top rows collected beside it left out)."""
    keep = np.asarray(predictions.rows.index.isin(predictions.uniform_rows), dtype=bool)
    outputs = predictions.outputs
    if not isinstance(outputs, RowOutputs):  # the Spark engine collects plain per-row arrays
        raise TypeError(f"Spark metrics need collected RowOutputs, not {type(outputs).__name__}")
    values = {f.name: getattr(outputs, f.name) for f in dataclasses.fields(outputs)}
    subset = {name: array[keep] for name, array in values.items() if isinstance(array, np.ndarray)}
    return dataclasses.replace(outputs, **subset)


def with_whole_points(sample: MetricsComparison, whole: WholeMetrics) -> MetricsComparison:
    """Whole-data point values with the sample's intervals moved onto them: a bound b of the sample's change
    d becomes D + (b - d) * sqrt(n / N) (n, N: labelled rows of the sample and of all data), which is
    bootstrap.py's m-out-of-n interval scaled to N rows (the sample's own interval is already scaled to n)."""
    scale = math.sqrt(sample.n_rows / whole.n_rows) if whole.n_rows else NAN
    notes = list(whole.notes)
    metrics: dict[str, MetricValue] = {}
    for name, (r, d) in whole.values.items():
        if not (math.isfinite(r) and math.isfinite(d)):
            continue
        delta = r - d
        s = sample.metrics.get(name)
        low = high = None
        if s is not None and s.ci_low is not None and s.ci_high is not None and math.isfinite(scale):
            low, high = delta + (s.ci_low - s.delta) * scale, delta + (s.ci_high - s.delta) * scale
        else:
            notes.append(f"{name}: no interval (not defined on the uniform sample's labels).")
        metrics[name] = MetricValue(name, r, d, delta, low, high)
    # the sample's bootstrap settings (resamples, resample rows, confidence, seed) with the whole-data values
    counts = {"n_rows": whole.n_rows, "n_excluded": whole.n_excluded}
    return dataclasses.replace(sample, task=whole.task, metrics=metrics, notes=notes, **counts)


def coverage_note(metrics: MetricsComparison, sample: int) -> str:
    """What the capped Spark metrics cover, in one line."""
    return (
        f"Spark engine: metric values (repo, deployed, change) use all {metrics.n_rows:,} labelled rows; their "
        f"intervals come from {metrics.n_resamples:,} paired bootstrap resamples of {metrics.resample_rows:,} "
        f"labelled rows of the {sample:,}-row uniform sample, centred on the all-row change and scaled to "
        f"{metrics.n_rows:,} rows (m-out-of-n bootstrap)."
    )


def build_metrics_spark(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (engine "spark"): the pandas builder with whole-data point values when the sample is capped."""
    from modelgap.predictions.section import build_metrics

    build_metrics(comparison, progress, lambda predictions, seed: spark_metrics(predictions, seed=seed))
    metrics = comparison.sections.metrics
    predictions = comparison.sections.predictions
    if not isinstance(metrics, MetricsComparison) or not isinstance(predictions, PredictionComparison):
        return
    cap = predictions.row_cap
    if cap is not None and cap.sample_capped:
        if getattr(predictions, "whole_metrics", None) is not None:
            comparison.notes.append(coverage_note(metrics, cap.sample_rows))
        else:
            comparison.notes.append(f"Spark engine: metrics use the {cap.sample_rows:,}-row uniform sample.")
