"""What the Predictions page computes beyond the comparison: re-measuring at another regression tolerance, and
each class's probabilities for sample rows (multiclass charts and a row's drill-down).

Both are cached per comparison (`compute.comparison_key(spec)`) plus the user's choice, bounded by
`max_entries` and `ttl`; the comparison object itself is passed as an unhashed `_argument` and never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components import compute, state
from components.cache import RESULT_TTL_S
from modelgap.comparison import Comparison
from modelgap.predictions import PredictionComparison, align_classes, remeasure
from modelgap.predictions.classes import CodeBook
from modelgap.predictions.predict import SidePredictor
from modelgap.predictions.schema import plan_inputs, prepare_chunk

ENTRIES = 8
TTL_S = RESULT_TTL_S
PROBA_ROWS = 20_000  # per-class probability histograms without stored probabilities: at most this many rows


@dataclass
class ClassProbabilities:
    """Both models' probability of every class (columns in `classes` order) for `rows` (sample row ids)."""

    classes: list[Any]
    rows: np.ndarray
    repo: np.ndarray
    deployed: np.ndarray


def comparison_key() -> str:
    spec = state.current_spec()
    return compute.comparison_key(spec) if spec is not None else ""


@st.cache_data(max_entries=ENTRIES, ttl=TTL_S, show_spinner="Re-measuring at the new tolerance…")
def _remeasured(key: str, tolerance: float | None, _result: PredictionComparison, _sample: Any) -> PredictionComparison:
    return remeasure(_result, _sample, tolerance=tolerance)


def measured(comparison: Comparison, result: PredictionComparison, tolerance: float | None) -> PredictionComparison:
    """`result` as it is, or re-measured (no model calls) when `tolerance` differs from the one it used."""
    if result.task != "regression" or comparison.sample is None:
        return result
    if tolerance is None and result.tolerance_is_default:
        return result
    if tolerance is not None and result.tolerance is not None and np.isclose(tolerance, result.tolerance, rtol=1e-9):
        return result
    return _remeasured(comparison_key(), tolerance, result, comparison.sample)


def _predict_proba(comparison: Comparison, rows: pd.Index) -> ClassProbabilities | None:
    """Predict `rows` of the sample with both models, probabilities aligned to the common class order."""
    sample = comparison.sample
    if sample is None or len(rows) == 0:
        return None
    alignment = align_classes(comparison.repo, comparison.deployed)
    if not alignment.is_classification or not alignment.uses_probabilities:
        return None
    plan = plan_inputs(comparison.repo, comparison.deployed, list(sample.columns), comparison.options.target)
    frame = prepare_chunk(sample.loc[rows], plan)
    codebook = CodeBook(alignment)
    repo = SidePredictor(plan.repo, alignment, codebook).predict(frame).proba
    deployed = SidePredictor(plan.deployed, alignment, codebook).predict(frame).proba
    if repo is None or deployed is None:
        return None
    return ClassProbabilities(list(alignment.classes), rows.to_numpy(), repo, deployed)


@st.cache_data(max_entries=ENTRIES, ttl=TTL_S, show_spinner="Predicting each class's probability…")
def _sample_probabilities(key: str, n_rows: int, _comparison: Comparison) -> ClassProbabilities | None:
    sample = _comparison.sample
    assert sample is not None
    rows = sample.index
    if len(rows) > n_rows:
        rows = rows[np.sort(np.random.default_rng(_comparison.options.seed).choice(len(rows), n_rows, replace=False))]
    return _predict_proba(_comparison, rows)


@st.cache_data(max_entries=64, ttl=TTL_S, show_spinner=False)
def _row_probabilities(key: str, row: int, _comparison: Comparison) -> ClassProbabilities | None:
    return _predict_proba(_comparison, pd.Index([row]))


def class_diffs(comparison: Comparison, result: PredictionComparison) -> tuple[dict[str, np.ndarray], str] | None:
    """Per class: repo - deployed probability, and where the rows come from; None when only labels were compared.

    Binary: the positive class over every compared row. Multiclass: every class, from the stored probabilities
    (every compared row, kept when a target is given) or else predicted for a sample of rows.
    """
    outputs = result.outputs
    if not outputs.is_classification or result.compared_on != "probabilities":
        return None
    if len(outputs.classes) == 2:
        return {str(outputs.classes[1]): outputs.diff}, f"all {outputs.n_rows:,} compared rows"
    if outputs.repo_proba is not None and outputs.deployed_proba is not None:
        delta = outputs.repo_proba - outputs.deployed_proba
        where = f"all {outputs.n_rows:,} compared rows"
    else:
        probs = _sample_probabilities(comparison_key(), PROBA_ROWS, comparison)
        if probs is None:
            return None
        delta = probs.repo - probs.deployed
        where = f"{len(probs.rows):,} rows of the sample"
    return {str(c): delta[:, i] for i, c in enumerate(outputs.classes)}, where


def row_probabilities(comparison: Comparison, row: int) -> ClassProbabilities | None:
    """Both models' probability of every class for one sample row (None: a model gives labels only)."""
    return _row_probabilities(comparison_key(), int(row), comparison)
