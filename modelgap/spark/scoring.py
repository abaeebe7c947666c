"""Score every row with both models on the executors and turn the two output vectors into per-row measures.

The result is the input rows plus the OUT columns below, computed per Arrow batch with the pandas engine's
own definitions (classification_diffs, predicted_scores, the target codes) and the uniform sample's random key:
row r gets the r-th draw of `np.random.default_rng(seed).random`, found by advancing PCG64 to r, so the Spark
engine's sample is the pandas engine's sample whatever the partitioning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.predictions.classes import ClassAlignment, CodeBook
from modelgap.predictions.measures import classification_diffs, predicted_scores
from modelgap.spark.frames import ROW
from modelgap.spark.remote_errors import carried
from modelgap.spark.wrap import from_vectors, side_output

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

P = "__mg_"
REPO, DEPLOYED, ABS_DIFF, DIFF = P + "repo", P + "deployed", P + "abs_diff", P + "diff"
REPO_SCORE, DEPLOYED_SCORE, TARGET, KEY = P + "repo_score", P + "deployed_score", P + "target", P + "key"
REPO_PROBA, DEPLOYED_PROBA = P + "repo_proba", P + "deployed_proba"
_R, _D = P + "r_vec", P + "d_vec"


@dataclass(frozen=True)
class ScoreSpec:
    """What the per-batch step needs (pickled to the executors)."""

    alignment: ClassAlignment
    codebook: CodeBook | None
    widths: tuple[int, int]
    target: str | None
    keep_proba: bool
    seed: int

    @property
    def classification(self) -> bool:
        return self.alignment.is_classification


def sample_keys(rows: np.ndarray, seed: int) -> np.ndarray:
    """The pandas engine's reservoir keys: row r gets draw r of default_rng(seed).random (any set of rows)."""
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty(len(rows))
    if len(rows) == 0:
        return out
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
    for run in np.split(np.arange(len(ordered)), breaks):
        bits = np.random.PCG64(seed)
        bits.advance(int(ordered[run[0]]))
        out[order[run]] = np.random.Generator(bits).random(len(run))
    return out


def target_codes(values: pd.Series, spec: ScoreSpec) -> np.ndarray:
    """The target as the pandas engine codes it: class codes (-1 missing/unknown) or floats (NaN missing)."""
    if spec.codebook is None:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    codes = np.full(len(values), -1, dtype=np.int32)
    present = np.asarray(values.notna())
    if present.any():
        codes[present] = spec.codebook.encode(values[present].to_numpy(), "target", grow=False)
    return codes


def measure_batch(batch: pd.DataFrame, spec: ScoreSpec) -> pd.DataFrame:
    """One batch's per-row measures from the two output vectors (the pandas engine's `_block`)."""
    r = side_output(
        from_vectors(batch[_R], spec.widths[0]), spec.classification, spec.alignment.repo_columns is not None
    )
    d = side_output(
        from_vectors(batch[_D], spec.widths[1]), spec.classification, spec.alignment.deployed_columns is not None
    )
    out: dict[str, Any] = {}
    if not spec.classification:
        assert r.values is not None and d.values is not None
        diff = r.values - d.values
        out |= {REPO: r.values, DEPLOYED: d.values, ABS_DIFF: np.abs(diff), DIFF: diff}
    else:
        assert r.codes is not None and d.codes is not None
        both = r.proba is not None and d.proba is not None
        abs_diff, diff = classification_diffs(r.codes, d.codes, r.proba if both else None, d.proba if both else None)
        out |= {REPO: r.codes, DEPLOYED: d.codes, ABS_DIFF: abs_diff, DIFF: diff}
        out |= {REPO_SCORE: predicted_scores(r.proba, r.codes), DEPLOYED_SCORE: predicted_scores(d.proba, d.codes)}
        if spec.keep_proba:
            assert r.proba is not None and d.proba is not None
            out |= {REPO_PROBA: list(r.proba), DEPLOYED_PROBA: list(d.proba)}
    if spec.target is not None:
        out[TARGET] = target_codes(batch[spec.target], spec)
    out[KEY] = sample_keys(batch[ROW].to_numpy(), spec.seed)
    return batch.drop(columns=[_R, _D]).assign(**{k: v for k, v in out.items()})


def out_schema(base: StructType, spec: ScoreSpec) -> StructType:
    from pyspark.sql.types import ArrayType, DoubleType, IntegerType, StructField, StructType

    label = IntegerType() if spec.classification else DoubleType()
    fields = [f for f in base.fields if f.name not in (_R, _D)]
    fields += [StructField(REPO, label), StructField(DEPLOYED, label)]
    fields += [StructField(ABS_DIFF, DoubleType()), StructField(DIFF, DoubleType())]
    if spec.classification:
        fields += [StructField(REPO_SCORE, DoubleType()), StructField(DEPLOYED_SCORE, DoubleType())]
        if spec.keep_proba:
            fields += [
                StructField(REPO_PROBA, ArrayType(DoubleType())),
                StructField(DEPLOYED_PROBA, ArrayType(DoubleType())),
            ]
    if spec.target is not None:
        fields.append(StructField(TARGET, label))
    fields.append(StructField(KEY, DoubleType()))
    return StructType(fields)


def score(df: DataFrame, repo_vec: Any, deployed_vec: Any, spec: ScoreSpec) -> DataFrame:
    """`df` (with ROW) plus the OUT columns; lazy: nothing runs until an action."""
    vectors = df.withColumn(_R, repo_vec).withColumn(_D, deployed_vec)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            with carried():
                yield measure_batch(batch, spec)

    return vectors.mapInPandas(run, out_schema(vectors.schema, spec))
