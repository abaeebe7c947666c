"""Paired bootstrap of metric differences, vectorised as resample-count weights (bounded cost).

Seed logic (so a test can redo it): `rng = np.random.default_rng(seed)`; when there are more than `max_rows`
labelled rows, a fixed subset `np.sort(rng.choice(n, max_rows, replace=False))` is drawn first; then resample
indices `rng.integers(0, m, size=(n_resamples, m))` (drawn in batches of rows of that matrix) select the same
rows for both models. With m == n the interval is the percentile interval of the resampled deltas; with a
subset it is the point delta plus the subset's resampled deviations scaled by sqrt(m / n) (an m-out-of-n
bootstrap), which keeps the cost bounded at any sample size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

N_RESAMPLES = 1000
MAX_ROWS = 5_000
BATCH_CELLS = 1_000_000  # resamples x rows per batch: bounds memory (a few 8 MB arrays)

# A statistic: (weights of shape (b, m), row subset as an index array) -> values of shape (b,)
Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Interval:
    low: float | None
    high: float | None


@dataclass
class BootstrapPlan:
    n_rows: int
    subset: np.ndarray  # rows the resamples draw from
    n_resamples: int
    seed: int

    @property
    def resample_rows(self) -> int:
        return len(self.subset)

    @property
    def scaled(self) -> bool:
        return self.resample_rows < self.n_rows


def plan(n_rows: int, *, seed: int = 0, n_resamples: int = N_RESAMPLES, max_rows: int = MAX_ROWS) -> BootstrapPlan:
    rng = np.random.default_rng(seed)
    subset = np.sort(rng.choice(n_rows, max_rows, replace=False)) if n_rows > max_rows else np.arange(n_rows)
    return BootstrapPlan(n_rows, subset, n_resamples, seed)


def paired_intervals(
    bp: BootstrapPlan, deltas: dict[str, Statistic], points: dict[str, float], *, confidence: float = 0.95
) -> dict[str, Interval]:
    """95% intervals of each named delta statistic (repo - deployed), all on the same resamples."""
    rng = np.random.default_rng(bp.seed)
    if bp.scaled:
        rng.choice(bp.n_rows, bp.resample_rows, replace=False)  # the subset draw, consumed as in `plan`
    m = bp.resample_rows
    if m == 0 or not deltas:
        return {name: Interval(None, None) for name in deltas}
    samples: dict[str, list[np.ndarray]] = {name: [] for name in deltas}
    batch = max(1, BATCH_CELLS // m)
    done = 0
    while done < bp.n_resamples:
        b = min(batch, bp.n_resamples - done)
        idx = rng.integers(0, m, size=(b, m))
        flat = (np.arange(b)[:, None] * m + idx).ravel()
        weights = np.bincount(flat, minlength=b * m).reshape(b, m).astype(float)
        for name, stat in deltas.items():
            samples[name].append(stat(weights, bp.subset))
        done += b
    tail = (1 - confidence) / 2 * 100
    out: dict[str, Interval] = {}
    ones = np.ones((1, m))
    for name, parts in samples.items():
        values = np.concatenate(parts)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            out[name] = Interval(None, None)
            continue
        lo, hi = np.percentile(values, [tail, 100 - tail])
        if bp.scaled:
            center = float(deltas[name](ones, bp.subset)[0])
            scale = np.sqrt(m / bp.n_rows)
            lo, hi = points[name] + (lo - center) * scale, points[name] + (hi - center) * scale
        out[name] = Interval(float(lo), float(hi))
    return out


def weighted_auc(weights: np.ndarray, scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC AUC per row of `weights` (ties count one half), equal to roc_auc_score with these sample weights.

    With rows sorted by score and cn = cumulative negative weight, a positive row in the tie group [start, end]
    outranks cn[start - 1] negatives and ties with cn[end] - cn[start - 1]: it scores (cn[start-1] + cn[end]) / 2.
    """
    order = np.argsort(scores, kind="stable")
    s = scores[order]
    pos = np.asarray(positive, dtype=bool)[order]
    new_group = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(new_group) - 1
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:], len(s)] - 1
    w = weights[:, order]
    cn = np.zeros((w.shape[0], w.shape[1] + 1))
    np.cumsum(w * ~pos, axis=1, out=cn[:, 1:])
    p_idx = np.flatnonzero(pos)
    if len(starts) == len(s):  # no ties: a positive row adds no negative weight, so cn[i] == cn[i + 1]
        beaten = cn[:, p_idx]
    else:
        g = group[p_idx]
        beaten = 0.5 * (cn[:, starts[g]] + cn[:, ends[g] + 1])
    w_pos = w[:, p_idx]
    numerator = np.einsum("ij,ij->i", w_pos, beaten)
    total = w_pos.sum(axis=1) * cn[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, numerator / total, np.nan)
