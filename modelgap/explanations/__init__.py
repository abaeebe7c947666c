"""SHAP for both models on the same rows, in the same output space, per input column of the data.

`explain` explains one model; `choose_output_space` picks the space two models share;
`compare_explanations` says how two explanations differ; `build_explanations` is the comparison section.
"""

from __future__ import annotations

from modelgap.explanations.agnostic import AgnosticSettings
from modelgap.explanations.compare import ExplanationComparison, compare_explanations
from modelgap.explanations.engine import ExplainSettings, explain
from modelgap.explanations.outputs import OUTPUT_SPACES, choose_output_space, raw_space
from modelgap.explanations.result import Additivity, Explanation
from modelgap.explanations.section import build_explanations, explain_rows, pick_rows
from modelgap.explanations.words import output_space_label, row_sentence

__all__ = [
    "OUTPUT_SPACES",
    "Additivity",
    "AgnosticSettings",
    "ExplainSettings",
    "Explanation",
    "ExplanationComparison",
    "build_explanations",
    "choose_output_space",
    "compare_explanations",
    "explain",
    "explain_rows",
    "output_space_label",
    "pick_rows",
    "raw_space",
    "row_sentence",
]
