"""Model-agnostic SHAP (shap's PermutationExplainer) on the input columns, for models with only predict fns.

Slow by nature: it runs on a row budget, in small chunks, reporting progress and stopping when asked.
Permutation SHAP with an independent masker is exactly additive (the base value is the mean output on the
background), and exact for models without interactions beyond second order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelgap.explanations.chunks import ChunkResult, run_chunks
from modelgap.explanations.codec import FrameCodec
from modelgap.explanations.outputs import OutputFn
from modelgap.explanations.result import ProgressCallback, StopCallback
from modelgap.explanations.shapes import as_2d, normalize_shap


@dataclass(frozen=True)
class AgnosticSettings:
    max_rows: int = 200  # row budget: the first rows of X (the builder puts the most disagreeing first)
    background_rows: int = 50  # each model evaluation integrates over this many background rows
    permutations: int = 4  # forward+backward passes per row; exact for additive models with one
    chunk_rows: int = 5  # rows between progress reports and stop checks
    seed: int = 0
    first_chunk: int = 0  # index of X's first chunk in a longer run: chunk i is seeded seed + i (Spark partitions)


def explain_agnostic(
    fn: OutputFn,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    settings: AgnosticSettings,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> ChunkResult:
    """(n, f, k) SHAP values and (n, k) base values of `fn` on X's columns (all of them, in order)."""
    import shap

    columns = list(X.columns)
    bg = background[columns].head(settings.background_rows)
    codec = FrameCodec.fit([X, bg], columns)

    def model(Z: np.ndarray) -> np.ndarray:
        out = as_2d(fn(codec.decode(Z)), Z.shape[0])
        return out[:, 0] if out.shape[1] == 1 else out

    masker = shap.maskers.Independent(codec.encode(bg), max_samples=len(bg))
    max_evals = settings.permutations * (2 * len(columns) + 1)
    state = np.random.get_state()  # shap shuffles with numpy's global RNG: seed it, then put it back
    try:
        explainer = shap.PermutationExplainer(model, masker, seed=settings.seed)
        counter = iter(range(settings.first_chunk, settings.first_chunk + 1_000_000))

        def chunk(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            np.random.seed(settings.seed + next(counter))
            result = explainer(rows, max_evals=max(max_evals, 2 * len(columns) + 1), silent=True)
            return normalize_shap(result.values, result.base_values, rows.shape[0], len(columns))

        encoded = codec.encode(X)
        return run_chunks(chunk, encoded, size=settings.chunk_rows, progress=progress, should_stop=should_stop)
    finally:
        np.random.set_state(state)
