"""Explanations with the Spark engine: not distributed yet.

SHAP runs on the driver with the pandas engine's section, on rows of the bounded sample the Spark predictions
builder collected (at most --shap-rows rows), so the numbers equal the pandas engine's. Distributing it with
mapInPandas and aggregating the global importance in Spark is left to do (docs/spark.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn


def build_explanations_spark(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder (engine "spark"): the pandas engine's explanations on the collected sample."""
    from modelgap.explanations import build_explanations

    build_explanations(comparison, progress)
