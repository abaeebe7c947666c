"""The pandas engine's whole-data measures, walked block by block so that no temporary is as long as the data.

Each measure gives the very number that numpy gives on the whole arrays: counts, maxima, the cross-tab, flips
and the top rows are exact in any blocking; the histogram uses the whole data's range in every block (so each
value lands in the same bin); the means follow numpy's own summation order (`PairwiseSum`), which makes them
bit-identical to `np.mean` / `np.std` of the whole array. Two passes: the first counts the finite values (the
summation order depends on the count) and finds the ranges, the second sums and bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelgap.predictions import measures
from modelgap.predictions.measures import DEFAULT_TOLERANCE_SHARE, HISTOGRAM_BINS, DiffHistogram, Outputs

__all__ = ["PairwiseSum", "WholeData", "default_tolerance", "whole_data"]

PAIRWISE_BLOCK = 8  # numpy's pairwise summation splits at multiples of 8 (loops unrolled by 8)
PAIRWISE_LEAF = 128  # ... and sums at most this many values in one loop (PW_BLOCKSIZE)
LEAF_ROWS = 1 << 20  # values summed by one np.sum call; a leaf of numpy's own split, so the order is the same


@dataclass
class WholeData:
    """The section's measures over every compared row, as an engine aggregated them."""

    n_rows: int
    n_disagreements: int
    mean_abs_diff: float
    max_abs_diff: float
    top: list[dict[str, Any]]
    crosstab: pd.DataFrame | None
    diff_histogram: DiffHistogram | None
    flips: dict[str, Any] | None


def _leaves(n: int, limit: int) -> Any:
    """numpy's pairwise split of n values (`pairwise_sum` in loops_utils.h: n2 = n / 2 rounded down to a multiple
    of 8) down to ranges of at most `limit` values: a (start, end) leaf or a pair of subtrees."""

    def split(start: int, end: int) -> Any:
        n = end - start
        if n <= limit:
            return (start, end)
        half = n // 2
        half -= half % PAIRWISE_BLOCK
        return [split(start, start + half), split(start + half, end)]

    return split(0, n)


class PairwiseSum:
    """The sum of `n` values fed in pieces of any length, bit-identical to np.sum of their concatenation.

    np.add.reduce over a contiguous float array is a pairwise sum that halves the range at multiples of 8 until
    at most 128 values remain; any range of that recursion summed by np.sum is summed the same way, so summing
    its leaves (ranges of at most `limit` values) with np.sum and adding them up the same tree gives the same
    bits. `n` must be known first (the tree depends on it)."""

    def __init__(self, n: int, limit: int | None = None) -> None:
        self.n = n
        self.tree = _leaves(n, max(limit or LEAF_ROWS, PAIRWISE_LEAF))
        self.ends: list[int] = []
        self._collect(self.tree)
        self.sums: list[Any] = []
        self.pending: list[np.ndarray] = []
        self.seen = 0

    def _collect(self, node: Any) -> None:
        if isinstance(node, tuple):
            self.ends.append(node[1])
        else:
            self._collect(node[0])
            self._collect(node[1])

    def add(self, values: np.ndarray) -> None:
        self.pending.append(values)
        self.seen += len(values)
        while len(self.sums) < len(self.ends) and self.seen >= self.ends[len(self.sums)]:
            joined = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
            start = self.ends[len(self.sums) - 1] if self.sums else 0
            first = self.seen - len(joined)  # data position of joined[0]
            cut = self.ends[len(self.sums)] - first
            self.sums.append(np.sum(joined[start - first : cut]))
            self.pending = [joined[cut:]]

    def total(self) -> Any:
        """The sum (a numpy scalar of the values' dtype); every value must have been added."""
        if self.seen != self.n:
            raise ValueError(f"PairwiseSum expected {self.n} values, got {self.seen}")
        if self.n == 0:
            return np.float64(0.0)
        sums = iter(self.sums)

        def walk(node: Any) -> Any:
            return next(sums) if isinstance(node, tuple) else walk(node[0]) + walk(node[1])

        return walk(self.tree)


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _mean(total: Any, n: int) -> Any:
    """np.mean's last step: the sum divided by the count, in the sum's dtype."""
    return total.dtype.type(total / n)


def default_tolerance(outputs: Outputs) -> float:
    """measures.default_tolerance of the deployed predictions (1% of their population std), bit for bit:
    np.std's two passes (the mean, then the mean squared deviation) as pairwise sums in blocks."""
    n = sum(int(np.isfinite(b.deployed).sum()) for _, b in outputs.blocks())
    if n == 0:
        return 0.0
    first = PairwiseSum(n)
    for _, b in outputs.blocks():
        first.add(_finite(b.deployed))
    mean = _mean(first.total(), n)
    second = PairwiseSum(n)
    for _, b in outputs.blocks():
        x = _finite(b.deployed) - mean
        second.add(x * x)
    return float(DEFAULT_TOLERANCE_SHARE * np.sqrt(_mean(second.total(), n)))


def whole_data(outputs: Outputs, tolerance: float | None, top_n: int) -> WholeData:
    """The pandas engine's aggregations over every compared row's outputs, block by block."""
    classification = outputs.is_classification
    k = len(outputs.classes)
    n_dis = n_abs = n_diff = 0
    max_abs: Any = None
    low: Any = None
    high: Any = None
    cross = np.zeros((k, k), dtype=np.int64) if classification else None
    flip = np.zeros(5, dtype=np.int64)
    labelled = classification and outputs.target is not None
    top_pos: list[np.ndarray] = []
    top_val: list[np.ndarray] = []
    for start, b in outputs.blocks():
        n_dis += int(measures.disagrees(b, tolerance).sum())
        finite = _finite(b.abs_diff)
        n_abs += len(finite)
        if len(finite):
            m = finite.max()
            max_abs = m if max_abs is None else max(max_abs, m)
        diffs = _finite(b.diff)
        n_diff += len(diffs)
        if len(diffs):
            lo, hi = diffs.min(), diffs.max()
            low, high = (lo, hi) if low is None else (min(low, lo), max(high, hi))
        if cross is not None:
            cross += measures.crosstab_counts(b)
        if labelled:
            flip += measures.flip_counts(b)
        picked = measures.largest(b.abs_diff, top_n)
        top_pos.append(picked + start)
        top_val.append(b.abs_diff[picked])
    mean_sum = PairwiseSum(n_abs)
    counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    edges: np.ndarray | None = None
    for _, b in outputs.blocks():
        mean_sum.add(_finite(b.abs_diff))
        if n_diff:
            block_counts, edges = np.histogram(_finite(b.diff), bins=HISTOGRAM_BINS, range=(low, high))
            counts += block_counts
    histogram = None
    if edges is not None:
        positive = outputs.classes[1] if classification and k == 2 else None
        what = measures.histogram_what(classification, k, positive)
        histogram = DiffHistogram(edges=edges, counts=counts, what=what)
    return WholeData(
        n_rows=outputs.n_rows,
        n_disagreements=n_dis,
        mean_abs_diff=float(_mean(mean_sum.total(), n_abs)) if n_abs else 0.0,
        max_abs_diff=float(max_abs) if max_abs is not None else 0.0,
        top=_top(outputs, tolerance, top_pos, top_val, top_n),
        crosstab=measures.crosstab_frame(cross, outputs.classes) if cross is not None else None,
        diff_histogram=histogram,
        flips=measures.flip_measures(*(int(c) for c in flip)) if labelled and flip[0] else None,
    )


def _top(
    outputs: Outputs, tolerance: float | None, positions: list[np.ndarray], values: list[np.ndarray], top_n: int
) -> list[dict[str, Any]]:
    """measures.largest over every row from each block's own top rows (a row in the top of all rows is in the
    top of its block; blocks come in row order, so ties still go to the lower row)."""
    if top_n <= 0 or not positions:
        return []
    pos, val = np.concatenate(positions), np.concatenate(values)
    chosen = pos[measures.largest(val, top_n)]
    rows = outputs.take(chosen)
    return measures.top_entries(rows, chosen, measures.disagrees(rows, tolerance))
