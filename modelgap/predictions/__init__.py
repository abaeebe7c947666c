"""Prediction disagreement: align the data, predict with both models, measure how much, where and on which rows
they differ, and (with a target) each model's metrics with paired bootstrap intervals."""

from __future__ import annotations

from modelgap.options import DEFAULT_SAMPLE_ROWS
from modelgap.predictions.assembly import summarize
from modelgap.predictions.classes import ClassAlignment, align_classes
from modelgap.predictions.measures import DiffHistogram, RowOutputs
from modelgap.predictions.metrics import MetricsComparison, MetricValue, compare_metrics
from modelgap.predictions.result import PredictionComparison, RowCap
from modelgap.predictions.section import (
    build_metrics,
    build_predictions,
    compare_predictions,
    remeasure,
)
from modelgap.predictions.slices import Slice, find_slices
from modelgap.predictions.surrogate import Surrogate, SurrogateRule, fit_surrogate

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "ClassAlignment",
    "DiffHistogram",
    "MetricValue",
    "MetricsComparison",
    "PredictionComparison",
    "RowCap",
    "RowOutputs",
    "Slice",
    "Surrogate",
    "SurrogateRule",
    "align_classes",
    "build_metrics",
    "build_predictions",
    "compare_metrics",
    "compare_predictions",
    "find_slices",
    "fit_surrogate",
    "remeasure",
    "summarize",
]
