"""Each side of the comparison as an MLflow pyfunc model, scored on the executors with `mlflow.pyfunc.spark_udf`.

Every source (a local file, a git revision, a registry model, an endpoint) is wrapped the same way: a pyfunc
in a temporary directory whose Python model holds the side's predictor (the LoadedModel, the input plan and the
common class codes, pickled with cloudpickle). It returns one fixed-width vector of doubles per row, so the
driver-side code that reads it is the same for every source:

- classification: [code, p_0, ..., p_{k-1}] (code into the common classes, -1 for a label outside them;
  probabilities in the common class order, NaN when the side gives labels only);
- regression: [value].

The wrapper runs the pandas engine's own `prepare_chunk` and `SidePredictor`, so conversions, refusals and
labels are exactly the pandas engine's. An endpoint source is called from the executors, one Arrow batch
(`spark.sql.execution.arrow.maxRecordsPerBatch` rows) per request batch, with the source's own timeouts.
Executors need modelgap and the models' libraries installed (local mode shares the driver's environment).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.predictions.predict import SideOutput, SidePredictor
from modelgap.predictions.schema import InputPlan, prepare_chunk
from modelgap.spark.remote_errors import carried
from modelgap.spark.session import SparkEngineError
from modelgap.values import one_line

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession


def output_width(predictor: SidePredictor) -> int:
    """Doubles per row the side's vector holds."""
    return 1 + len(predictor.alignment.classes) if predictor.alignment.is_classification else 1


def to_vector(out: SideOutput, width: int, n_known: int) -> np.ndarray:
    """A side's outputs for a block as an (n, width) float array (see the module doc)."""
    if out.values is not None:
        return np.asarray(out.values, dtype=float).reshape(-1, 1)
    assert out.codes is not None
    codes = np.asarray(out.codes, dtype=np.int64)
    codes = np.where(codes >= n_known, -1, codes)  # labels outside the driver's classes (see predictions.py notes)
    matrix = np.full((len(codes), width), np.nan)
    matrix[:, 0] = codes
    if out.proba is not None:
        matrix[:, 1:] = out.proba
    return matrix


def from_vectors(column: pd.Series, width: int) -> np.ndarray:
    """An (n, width) array from a Spark array<double> column handed to pandas (one numpy array per row)."""
    if len(column) == 0:
        return np.empty((0, width))
    return np.vstack(list(column.to_numpy())).astype(float, copy=False)


def side_output(matrix: np.ndarray, classification: bool, has_proba: bool) -> SideOutput:
    """The SideOutput a vector block stands for."""
    if not classification:
        return SideOutput(values=matrix[:, 0])
    proba = matrix[:, 1:] if has_proba else None
    return SideOutput(codes=matrix[:, 0].astype(np.int32), proba=proba)


def _model_class() -> type:
    import mlflow.pyfunc

    class SideModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,unused-ignore]
        """One side's predictor as a pyfunc: pandas rows in, (n, width) doubles out."""

        def __init__(self, predictor: SidePredictor, plan: InputPlan, width: int) -> None:
            self.predictor = predictor
            self.plan = plan
            self.width = width
            self.n_known = len(predictor.alignment.classes)

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
            with carried():
                frame = prepare_chunk(model_input, self.plan)
                out = self.predictor.predict(frame)
                return to_vector(out, self.width, self.n_known)

    return SideModel


def _unpicklable(predictors: tuple[SidePredictor, SidePredictor]) -> SidePredictor | None:
    """The first side whose model cloudpickle cannot serialise, or None."""
    import cloudpickle

    for predictor in predictors:
        try:
            cloudpickle.dumps(predictor.model)
        except Exception:  # noqa: BLE001 - any failure means this side cannot travel to the executors
            return predictor
    return None


class WrappedSides:
    """Both sides saved as pyfunc models in one temporary directory; `close()` removes it."""

    def __init__(self, spark: SparkSession, predictors: tuple[SidePredictor, SidePredictor], plan: InputPlan) -> None:
        import mlflow.pyfunc

        self.directory = Path(tempfile.mkdtemp(prefix="modelgap-spark-"))
        self.widths = (output_width(predictors[0]), output_width(predictors[1]))
        self.udfs: list[Any] = []
        model_class = _model_class()
        free_plan = dataclasses.replace(plan, target=None)  # the UDF gets the input columns only
        for predictor, width in zip(predictors, self.widths, strict=True):
            path = self.directory / predictor.side
            try:
                # env_manager="local": the executors use their own environment, so the requirements MLflow would
                # infer (a subprocess that imports the model, ~4 s a side) are never read
                mlflow.pyfunc.save_model(
                    str(path), python_model=model_class(predictor, free_plan, width), pip_requirements=["modelgap"]
                )
            except Exception as exc:
                self.close()
                culprit = _unpicklable(predictors) or predictor  # each side's wrapper holds both models' plan
                raise SparkEngineError(
                    f"The {culprit.side} model ({culprit.model.source}) could not be packaged for the Spark "
                    f"executors: {type(exc).__name__}: {one_line(exc)}.",
                    "Use a model source that can be pickled (a file or MLflow model), or --engine pandas.",
                ) from exc
            self.udfs.append(
                mlflow.pyfunc.spark_udf(spark, str(path), result_type="array<double>", env_manager="local")
            )

    def columns(self, inputs: list[str]) -> tuple[Column, Column]:
        """The repo and deployed vectors as Spark columns over the input columns."""
        from pyspark.sql import functions as F

        packed = F.struct(*[F.col(f"`{c}`") for c in inputs])
        return self.udfs[0](packed), self.udfs[1](packed)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
