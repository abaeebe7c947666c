"""Exact SHAP for linear models: coef * (x - mean(background)), the interventional closed form.

This is what shap's LinearExplainer computes with independent features; the closed form needs no explainer
object, handles binary (one margin) and multiclass (one per class) alike, and costs one matrix product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelgap.explanations.chunks import ChunkResult, chunk_size, run_chunks
from modelgap.explanations.outputs import family, raw_space_of_estimator
from modelgap.explanations.result import ProgressCallback, StopCallback


def supports(est: Any, output: str, task: str) -> bool:
    return family(est) == "linear" and output == raw_space_of_estimator(est, task)


def explain_linear(
    est: Any,
    X: np.ndarray,
    *,
    background: np.ndarray,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> ChunkResult:
    """(n, f, k) values and (n, k) base values of the model's raw output (decision function / prediction)."""
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))  # (k, f)
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=float)).reshape(-1)  # (k,)
    if coef.shape[1] != X.shape[1]:
        coef = coef.T  # multi-output regressors store (f, k) in some estimators
    mean = np.asarray(background, dtype=float).mean(axis=0)  # (f,)
    base = intercept + coef @ mean  # (k,)

    def fn(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centred = np.asarray(rows, dtype=float) - mean
        values = centred[:, :, None] * coef.T[None, :, :]  # (m, f, k)
        return values, np.tile(base, (rows.shape[0], 1))

    return run_chunks(fn, X, size=chunk_size(X.shape[0], minimum=5000), progress=progress, should_stop=should_stop)
