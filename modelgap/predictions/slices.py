"""Where the two models disagree: the disagreement rate per category or quantile bin of each input column.

Slices are ranked by a z-score, (rate - overall) / sqrt(overall * (1 - overall) / n): how surprising the
slice's rate is given its size, so that a 100% rate on three rows does not top a 40% rate on three thousand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelgap.jsonsafe import json_safe

MAX_BINS = 8
MAX_LEVELS = 20
LOW_CARDINALITY = 10
MISSING = "(missing)"
OTHER = "(other)"
EDGE_ROWS = 20_000


@dataclass
class Slice:
    """One slice of one column: a set of levels (kind "category") or a value range (kind "range").

    A range covers low < x <= high (low <= x <= high for the first bin); `values` lists the levels of a
    category slice ([] for "(other)", which means every level not listed in the column's other slices).
    """

    column: str
    label: str
    kind: str  # "category", "range", "missing" or "other"
    n_rows: int
    n_disagree: int
    rate: float
    lift: float | None  # rate / overall rate
    z: float
    values: list[Any] = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    closed_low: bool = False
    excluded: list[Any] = field(default_factory=list)  # "(other)": the listed levels it excludes
    integer: bool = False  # a range of a whole-number column: labelled by the whole numbers it holds

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of `frame` fall in this slice (to filter a row table to it)."""
        col = frame[self.column]
        if self.kind == "missing":
            return np.asarray(col.isna())
        if self.kind == "other":
            return np.asarray(col.notna() & ~col.isin(self.excluded))
        if self.kind == "category":
            return np.asarray(col.isin(self.values))
        x = pd.to_numeric(col, errors="coerce")
        assert self.low is not None and self.high is not None
        above = x >= self.low if self.closed_low else x > self.low
        return np.asarray(above & (x <= self.high))

    @property
    def condition(self) -> str:
        """ "income in (127475, 454212]", "region = North", "recent_inquiries = 4" (a range holding one number)."""
        ranged = self.kind == "range" and self.label.startswith(("(", "["))
        return f"{self.column} in {self.label}" if ranged else f"{self.column} = {self.label}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "column": self.column,
            "slice": self.label,
            "condition": self.condition,
            "kind": self.kind,
            "n_rows": self.n_rows,
            "n_disagree": self.n_disagree,
            "rate": self.rate,
            "lift": self.lift,
            "z": self.z,
        }
        if self.kind == "range":
            out.update(low=self.low, high=self.high, closed_low=self.closed_low)
        elif self.kind == "category":
            out["values"] = self.values
        return json_safe(out)


def find_slices(inputs: pd.DataFrame, disagree: np.ndarray, *, limit: int | None = 100) -> list[Slice]:
    """Every column's slices, most over-represented in disagreements first; [] when nothing (or all) disagrees."""
    disagree = np.asarray(disagree, dtype=bool)
    n = len(disagree)
    overall = float(disagree.mean()) if n else 0.0
    if n == 0 or overall in (0.0, 1.0):
        return []
    out: list[Slice] = []
    weights = disagree.astype(float)
    for column in inputs.columns:
        out += _column_slices(inputs[column], str(column), weights, overall)
    out.sort(key=lambda s: (-s.z, -s.n_rows, s.column, s.label))
    return out[:limit] if limit is not None else out


def slice_stats(n: int, k: float, overall: float) -> tuple[int, int, float, float | None, float]:
    """(rows, disagreements, rate, lift, z) of a slice of n rows with k disagreements."""
    rate = k / n if n else 0.0
    z = (rate - overall) / float(np.sqrt(overall * (1 - overall) / n)) if n else 0.0
    return n, round(k), rate, (rate / overall if overall else None), z


def _is_categorical(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
        return True
    return n_distinct(col, LOW_CARDINALITY) <= LOW_CARDINALITY


def n_distinct(col: pd.Series, cap: int) -> int:
    """Distinct non-missing values, counted exactly up to `cap` (a spread-out subset decides the clear cases)."""
    values = col.dropna().to_numpy()
    probe = values[:: max(1, len(values) // 5000)]
    if len(pd.unique(probe)) > cap:
        return cap + 1
    return min(len(pd.unique(values)), cap + 1)


def _column_slices(col: pd.Series, name: str, weights: np.ndarray, overall: float) -> list[Slice]:
    out: list[Slice] = []
    missing = np.asarray(col.isna())
    n_missing = int(missing.sum())
    if n_missing:
        out.append(Slice(name, MISSING, "missing", *slice_stats(n_missing, float(weights[missing].sum()), overall)))
    if n_missing == len(col):
        return out
    if _is_categorical(col):
        return out + _category_slices(col, name, weights, overall)
    return out + _range_slices(col, name, weights, overall)


def _category_slices(col: pd.Series, name: str, weights: np.ndarray, overall: float) -> list[Slice]:
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques))
    hits = np.bincount(codes[present], weights=weights[present], minlength=len(uniques))
    order = np.lexsort((np.arange(len(uniques)), -counts))
    top = order[:MAX_LEVELS]
    out = []
    for code in top:
        value = uniques[code]
        value = value.item() if isinstance(value, np.generic) else value
        stats = slice_stats(int(counts[code]), float(hits[code]), overall)
        out.append(Slice(name, str(value), "category", *stats, values=[value]))
    if len(uniques) > MAX_LEVELS:
        rest = order[MAX_LEVELS:]
        excluded = [s.values[0] for s in out]
        stats = slice_stats(int(counts[rest].sum()), float(hits[rest].sum()), overall)
        out.append(Slice(name, OTHER, "other", *stats, excluded=excluded))
    return out


def _range_slices(col: pd.Series, name: str, weights: np.ndarray, overall: float) -> list[Slice]:
    """Quantile bins (edges from at most EDGE_ROWS evenly spaced values), counted with bincount."""
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x)
    everything = bool(finite.all())
    values = x if everything else x[finite]
    if len(values) == 0:
        return []
    basis = values[:: -(-len(values) // EDGE_ROWS)]  # every k-th value: evenly spread, no sort of all rows
    edges = np.unique(np.quantile(basis, np.linspace(0, 1, MAX_BINS + 1)))
    edges[0], edges[-1] = min(edges[0], values.min()), max(edges[-1], values.max())
    if len(edges) < 2:
        return _category_slices(col, name, weights, overall)
    # Bin i holds edges[i] < x <= edges[i + 1]; the first bin also holds x == edges[0].
    bins = np.zeros(len(values), dtype=np.int8)  # = how many inner edges lie below x (at most MAX_BINS - 1)
    for edge in edges[1:-1]:
        np.add(bins, values > edge, out=bins, casting="unsafe")
    nb = len(edges) - 1
    integer = bool(np.all(values == np.round(values)))  # whole numbers: bins are labelled by the numbers they hold
    counts = np.bincount(bins, minlength=nb)
    hits = np.bincount(bins, weights=weights if everything else weights[finite], minlength=nb)
    out = []
    for i in range(nb):
        if counts[i] == 0:
            continue
        low, high = float(edges[i]), float(edges[i + 1])
        first = i == 0
        label = range_label(low, high, first=first, integer=integer)
        stats = slice_stats(int(counts[i]), float(hits[i]), overall)
        out.append(Slice(name, label, "range", *stats, low=low, high=high, closed_low=first, integer=integer))
    return out


def range_label(low: float, high: float, *, first: bool, integer: bool = False) -> str:
    """'[low, high]' for a column's first bin (it holds its low edge), '(low, high]' for the others.

    Bounds carry no thousands separators (the comma separates them). A whole-number column's bin is named by
    the whole numbers it holds: (3, 4] is "4", (3, 7] is "[4, 7]".
    """
    if integer:
        lo = math.ceil(low) if first else math.floor(low) + 1
        hi = math.floor(high)
        if lo >= hi:
            return _bound(hi)
        return f"[{_bound(lo)}, {_bound(hi)}]"
    return f"{'[' if first else '('}{_bound(low)}, {_bound(high)}]"


def _bound(x: float) -> str:
    """An interval bound: 127475 rather than 127,475 or 1.275e+05; 0.7023 rather than 0.70234567."""
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.4g}"


def fmt_number(x: float) -> str:
    """Readable bounds: 120,000 rather than 1.2e+05; 0.7023 rather than 0.70234567."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"
