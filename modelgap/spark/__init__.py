"""The Spark engine: the same comparison on Apache Spark, for data that outgrows one machine.

Nothing here imports PySpark at module load: the pandas engine never needs it. `engine_builders` swaps the
builders that have a Spark version (predictions, metrics, explanations, data) into the pipeline's builder list
(modelgap/pipeline.py), by name; the others read the bounded sample the Spark predictions builder collects.
The Spark versions supply aggregation kernels only: each section is assembled by the pandas engine's code.
See docs/spark.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelgap.errors import ModelgapError

if TYPE_CHECKING:
    from modelgap.pipeline import SectionBuilder

ENGINES = ("pandas", "spark")


def check_engine(engine: str) -> str:
    """The engine name, lower-cased, or a ModelgapError listing the valid ones."""
    name = (engine or "pandas").strip().lower()
    if name not in ENGINES:
        raise ModelgapError(f"Unknown engine {engine!r}.", f"Use one of: {', '.join(ENGINES)}.")
    return name


def engine_builders(builders: list[tuple[str, SectionBuilder]], engine: str) -> list[tuple[str, SectionBuilder]]:
    """The builder list for `engine`: unchanged for pandas; Spark versions swapped in by name for spark."""
    if check_engine(engine) == "pandas":
        return builders
    from modelgap.spark.data_section import build_data_spark
    from modelgap.spark.explanations import build_explanations_spark
    from modelgap.spark.metrics import build_metrics_spark
    from modelgap.spark.predictions import build_predictions_spark
    from modelgap.spark.session import import_pyspark

    import_pyspark()
    spark_versions: dict[str, SectionBuilder] = {
        "predictions": build_predictions_spark,
        "explanations": build_explanations_spark,
        "metrics": build_metrics_spark,
        "data": build_data_spark,
    }
    return [(name, spark_versions.get(name, build)) for name, build in builders]


__all__ = ["ENGINES", "check_engine", "engine_builders"]
