"""Which rows a point chart draws: every row up to a bound, beyond it the most telling rows and a seeded sample.

A browser draws each point of an SVG scatter as its own element, so a chart of thousands of rows takes seconds
to appear. Charts built here draw at most a bounded number of points per trace; the statistics next to them
(boxes, histograms, tables) still use every row, and the chart's title or caption says how many are drawn.
"""

from __future__ import annotations

import numpy as np

POINTS_PER_TRACE = 2_000  # an upper bound for any scatter trace the app draws
EXTREME_SHARE = 0.2  # of a bounded set: the rows with the largest scores (e.g. |difference|), always drawn


def bounded_positions(
    n: int, limit: int, *, scores: np.ndarray | None = None, seed: int = 0, extreme_share: float = EXTREME_SHARE
) -> np.ndarray:
    """Sorted positions in 0..n-1 to draw: all of them when n <= limit; otherwise the `extreme_share` of `limit`
    with the largest finite `scores` (when given; ties: lower position first) plus a seeded uniform sample of the
    others, `limit` positions in all."""
    if n <= limit:
        return np.arange(n)
    limit = max(0, int(limit))
    keep = np.empty(0, dtype=np.int64)
    if scores is not None and limit:
        values = np.asarray(scores, dtype=float)
        values = np.where(np.isfinite(values), values, -np.inf)
        n_keep = min(limit, round(extreme_share * limit))
        keep = np.lexsort((np.arange(n), -values))[:n_keep]
    rest = np.setdiff1d(np.arange(n), keep, assume_unique=False)
    drawn = np.random.default_rng(seed).choice(rest, limit - len(keep), replace=False)
    return np.sort(np.concatenate([keep, drawn]).astype(np.int64))
