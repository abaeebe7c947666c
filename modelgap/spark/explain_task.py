"""What each Spark task runs for the explanations: SHAP for both models on its rows, with the pandas engine's
own `explain`, returned as flat records.

The chosen rows are numbered 0..n-1 in the order the pandas engine explains them (POS) and cut into parts of
`part_rows` consecutive positions (PART). A part's first position is a multiple of the model-agnostic chunk
size, so its chunks get the seeds they get on the pandas engine (AgnosticSettings.first_chunk), and the
agnostic row budget is what is left of it after the part's first position: every number equals the pandas
engine's, however the parts land on partitions. Tree and linear paths are per row anyway.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.explanations.agnostic import AgnosticSettings
from modelgap.explanations.engine import ExplainSettings, explain
from modelgap.model import LoadedModel
from modelgap.predictions.schema import InputPlan
from modelgap.spark.frames import ROW
from modelgap.spark.remote_errors import carried

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

POS, PART = "__mg_pos", "__mg_part"
SIDES = ("repo", "deployed")
# Notes a part writes about its own slice; the driver words them again for the whole run.
PART_NOTES = ("Model-agnostic SHAP explained the first", "Stopped early:")


def record_schema() -> StructType:
    """One record per (side, row, target) with the row's SHAP values, plus one 'meta' record per (part, side)."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    return StructType(
        [
            StructField("kind", StringType()),
            StructField("side", StringType()),
            StructField("part", LongType()),
            StructField("pos", LongType()),
            StructField("row", LongType()),
            StructField("target", StringType()),
            StructField("base", DoubleType()),
            StructField("output", DoubleType()),
            StructField("values", ArrayType(DoubleType())),
            StructField("method", StringType()),
            StructField("notes", ArrayType(StringType())),
            StructField("stopped", BooleanType()),
            StructField("seconds", DoubleType()),
        ]
    )


@dataclass(frozen=True)
class ExplainTask:
    """Pickled to the executors: both models, how raw rows become the sample's columns, and the settings."""

    models: tuple[LoadedModel, LoadedModel]
    plan: InputPlan  # converts raw rows exactly as the predictions sample was converted
    target: str | None
    output: str
    background: pd.DataFrame
    settings: ExplainSettings
    exclude: tuple[str, ...]
    part_rows: int
    deadline: float  # epoch seconds: parts stop explaining after it (the section's time budget)

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = [b for b in batches if len(b)]
        if not frames:
            return
        data = pd.concat(frames, ignore_index=True)
        for _, rows in data.groupby(PART, sort=True):
            with carried():
                yield self.explain_part(int(rows[PART].iloc[0]), rows.sort_values(POS))

    def inputs(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows as the predictions sample holds them: converted inputs, then the target; index = ROW."""
        from modelgap.spark.predictions import sample_inputs

        raw = rows.drop(columns=[POS, PART]).set_index(ROW)
        raw.index.name = None
        return sample_inputs(raw, self.plan)

    def explain_part(self, part: int, rows: pd.DataFrame) -> pd.DataFrame:
        X = self.inputs(rows)
        positions = dict(zip(X.index, rows[POS].to_numpy(dtype=np.int64), strict=True))
        start = part * self.part_rows
        records: list[dict[str, Any]] = []
        for side, model in zip(SIDES, self.models, strict=True):
            began = time.perf_counter()
            exp = explain(
                model,
                X,
                output=self.output,
                background=self.background,
                should_stop=lambda: time.time() > self.deadline,
                settings=self._settings_for(start),
                exclude=self.exclude,
            )
            for target in exp.targets:
                values = exp.values[target]
                outputs = exp.outputs[target]
                base = exp.base_values[target]
                for row, vector in zip(values.index, values.to_numpy(dtype=float), strict=True):
                    records.append(
                        {
                            "kind": "row",
                            "side": side,
                            "part": part,
                            "pos": int(positions[row]),
                            "row": int(row),
                            "target": target,
                            "base": base,
                            "output": float(outputs.loc[row]),
                            "values": vector.tolist(),
                        }
                    )
            notes = [n for n in exp.notes if not n.startswith(PART_NOTES)]
            records.append(
                {
                    "kind": "meta",
                    "side": side,
                    "part": part,
                    "method": exp.method,
                    "notes": notes,
                    "stopped": exp.stopped,
                    "seconds": time.perf_counter() - began,
                }
            )
        names = list(record_schema().names)
        # every field present (None when it does not apply): pandas would fill NaN, which Arrow refuses in arrays
        return pd.DataFrame({name: [r.get(name) for r in records] for name in names}, dtype=object)

    def _settings_for(self, start: int) -> ExplainSettings:
        """This part's settings: no extra worker processes (Spark runs the parts in parallel), and the
        agnostic budget and seeds continued from the part's first position."""
        agnostic = self.settings.agnostic
        part_agnostic = AgnosticSettings(
            max_rows=max(0, agnostic.max_rows - start),
            background_rows=agnostic.background_rows,
            permutations=agnostic.permutations,
            chunk_rows=agnostic.chunk_rows,
            seed=agnostic.seed,
            first_chunk=agnostic.first_chunk + start // agnostic.chunk_rows,
        )
        return dataclasses.replace(self.settings, agnostic=part_agnostic, parallel=False)
