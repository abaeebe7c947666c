"""Distribution drift between two tables, per column: PSI, KS and Wasserstein for numbers; PSI, new and
vanished levels and chi-square for categories; the change in missing rate for both.

Definitions (documented so that a reader can recompute every number):
- Missing: NaN, None and ±inf count as missing. Every other statistic uses the non-missing values only.
- PSI (population stability index) = sum over bins of (c - r) * ln(c / r), where r and c are the shares of
  the reference and current non-missing values in each bin, floored at PSI_EPSILON so that empty bins stay
  finite. Numbers: PSI_BINS bins cut at the reference's deciles (ties merged, right-closed, open ends);
  categories: one bin per level (levels beyond MAX_LEVELS by frequency are pooled into "(other)").
- KS: scipy.stats.ks_2samp; Wasserstein: scipy.stats.wasserstein_distance (in the column's own unit, and
  divided by the reference's standard deviation as `wasserstein_std`, comparable across columns).
- Chi-square: scipy.stats.chi2_contingency(correction=False) on the 2 x levels table of counts.
- Severity: the worse of the PSI grade (none < 0.02 <= low < 0.1 <= moderate < 0.25 <= high) and the
  missing-rate grade (|change| none < 0.01 <= low < 0.05 <= moderate < 0.2 <= high). A PSI grade above
  "low" needs evidence: when the KS / chi-square p-value is at least SIGNIFICANCE (small samples) it is
  capped at "low".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PSI_BINS = 10
PSI_EPSILON = 1e-4
MAX_LEVELS = 50  # categories: levels kept for PSI and chi-square, the rest pooled
MAX_LISTED_LEVELS = 20  # new / vanished levels listed by name
SIGNIFICANCE = 0.01
SEVERITIES = ("none", "low", "moderate", "high")
PSI_THRESHOLDS = (0.02, 0.1, 0.25)  # low, moderate, high
MISSING_THRESHOLDS = (0.01, 0.05, 0.2)
IDENTIFIER_MIN_LEVELS = 1000  # a text column with more distinct values than this, nearly all unique ...
IDENTIFIER_UNIQUE_SHARE = 0.9  # ... is an identifier: its levels never repeat, so it is not compared
NO_VALUES = "no non-missing values on one side: only the missing rate is compared"


@dataclass
class ColumnDrift:
    """How one column's distribution differs between a reference and a current table."""

    column: str
    kind: str  # numeric | categorical | identifier
    severity: str = "none"
    psi: float | None = None
    ks: float | None = None
    ks_pvalue: float | None = None
    wasserstein: float | None = None
    wasserstein_std: float | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    new_levels: list[str] = field(default_factory=list)
    vanished_levels: list[str] = field(default_factory=list)
    n_new_levels: int = 0
    n_vanished_levels: int = 0
    reference_missing_rate: float | None = None
    current_missing_rate: float | None = None
    missing_rate_change: float | None = None
    reference_n: int = 0
    current_n: int = 0
    reference_mean: float | None = None
    current_mean: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}

    @property
    def sort_key(self) -> tuple[int, float, float, float]:
        return (
            SEVERITIES.index(self.severity),
            self.psi or 0.0,
            abs(self.missing_rate_change or 0.0),
            self.ks or 0.0,
        )


def _clean(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def grade(value: float | None, thresholds: tuple[float, float, float]) -> str:
    """none / low / moderate / high for a non-negative value against (low, moderate, high) thresholds."""
    if value is None or not math.isfinite(value):
        return "none"
    level = sum(value >= t for t in thresholds)
    return SEVERITIES[level]


def worse(*levels: str) -> str:
    return max(levels, key=SEVERITIES.index)


def missing_mask(s: pd.Series) -> np.ndarray:
    """NaN/None, and ±inf for numbers."""
    mask = np.asarray(s.isna(), dtype=bool)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        mask = mask | ~np.isfinite(values)
    return mask


def psi_from_shares(reference: np.ndarray, current: np.ndarray, eps: float = PSI_EPSILON) -> float:
    """PSI of two share vectors over the same bins."""
    r = np.maximum(np.asarray(reference, dtype=float), eps)
    c = np.maximum(np.asarray(current, dtype=float), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def quantile_edges(reference: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles 1/bins .. (bins-1)/bins, ties merged."""
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    return np.unique(np.quantile(reference, qs))


def binned_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of `values` in the right-closed bins (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    idx = np.searchsorted(edges, values, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    return counts / max(len(values), 1)


def numeric_psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    edges = quantile_edges(reference, bins)
    return psi_from_shares(binned_shares(reference, edges), binned_shares(current, edges))


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def finite_numbers(s: pd.Series) -> np.ndarray:
    """The finite values as floats; timestamps as seconds since 1970 whatever their unit (pandas 3 reads
    Parquet timestamps as microseconds, CSV-parsed ones as nanoseconds)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        origin = pd.Timestamp(0, tz=s.dt.tz) if s.dt.tz is not None else pd.Timestamp(0)
        s = (s - origin) / pd.Timedelta(seconds=1)
    values = s.to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def _as_numeric(s: pd.Series) -> bool:
    return _is_numeric(s) or bool(pd.api.types.is_datetime64_any_dtype(s))


def compare_column(reference: pd.Series, current: pd.Series, column: str | None = None) -> ColumnDrift:
    """Drift of one column; `reference` and `current` are its values in the two tables."""
    name = str(column if column is not None else reference.name)
    ref_missing, cur_missing = missing_mask(reference), missing_mask(current)
    result = new_column(name, (len(reference), int(ref_missing.sum())), (len(current), int(cur_missing.sum())))
    note: str | None = None
    if _as_numeric(reference) and _as_numeric(current):
        _numeric(result, finite_numbers(reference), finite_numbers(current))
    else:
        if _as_numeric(reference) != _as_numeric(current):
            which = "reference" if _as_numeric(reference) else "current"
            note = f"numbers in the {which} table only: compared as categories"
        _categorical(result, reference[~ref_missing], current[~cur_missing])
    if note:
        result.note = f"{note}; {result.note}" if result.note else note
    set_severity(result)
    return result


def new_column(column: str, reference: tuple[int, int], current: tuple[int, int]) -> ColumnDrift:
    """A column's result with its missing rates, from each table's (rows, missing rows) as any engine counts
    them; the distribution measures are added by the numeric or categorical part, then `set_severity`."""
    (ref_n, ref_missing), (cur_n, cur_missing) = reference, current
    result = ColumnDrift(column=column, kind="numeric", reference_n=ref_n, current_n=cur_n)
    if ref_n:
        result.reference_missing_rate = ref_missing / ref_n
    if cur_n:
        result.current_missing_rate = cur_missing / cur_n
    if result.reference_missing_rate is not None and result.current_missing_rate is not None:
        result.missing_rate_change = result.current_missing_rate - result.reference_missing_rate
    return result


def _numeric(result: ColumnDrift, ref: np.ndarray, cur: np.ndarray) -> None:
    result.kind = "numeric"
    if len(ref):
        result.reference_mean = float(ref.mean())
    if len(cur):
        result.current_mean = float(cur.mean())
    if not len(ref) or not len(cur):
        result.note = NO_VALUES
        return
    result.psi = numeric_psi(ref, cur)
    distances(result, ref, cur)


def distances(result: ColumnDrift, ref: np.ndarray, cur: np.ndarray) -> None:
    """KS and Wasserstein (also per reference standard deviation) of two non-empty sets of finite values."""
    from scipy import stats  # here, not at import: reading a stored comparison needs no scipy

    ks = stats.ks_2samp(ref, cur)
    result.ks, result.ks_pvalue = float(ks.statistic), float(ks.pvalue)
    result.wasserstein = float(stats.wasserstein_distance(ref, cur))
    std = float(ref.std())
    result.wasserstein_std = result.wasserstein / std if std > 0 else None


def _levels(s: pd.Series) -> pd.Series:
    return s.astype(str).value_counts()


def _categorical(result: ColumnDrift, ref: pd.Series, cur: pd.Series) -> None:
    ref_counts, cur_counts = _levels(ref), _levels(cur)
    levels = LevelSummary(len(ref_counts), len(ref), len(cur))
    if not categorical_levels(result, levels):
        return
    new = sorted(set(cur_counts.index) - set(ref_counts.index), key=lambda v: -cur_counts[v])
    vanished = sorted(set(ref_counts.index) - set(cur_counts.index), key=lambda v: -ref_counts[v])
    table = lambda: category_table(ref_counts, cur_counts)  # noqa: E731 - built only when both sides have values
    categorical_table(result, levels, (new, len(new)), (vanished, len(vanished)), table)


@dataclass
class LevelSummary:
    """One categorical column's level counts as any engine counts them."""

    n_ref_levels: int  # distinct reference levels
    ref_count: int  # non-missing reference values
    cur_count: int  # non-missing current values


def categorical_levels(result: ColumnDrift, levels: LevelSummary) -> bool:
    """Mark the column categorical; False (with a note) when it looks like an identifier: not compared."""
    result.kind = "categorical"
    n = levels.n_ref_levels
    if n > IDENTIFIER_MIN_LEVELS and n > IDENTIFIER_UNIQUE_SHARE * levels.ref_count:
        result.kind = "identifier"
        result.note = f"looks like an identifier ({n:,} distinct values): distribution not compared"
        return False
    return True


def categorical_table(
    result: ColumnDrift,
    levels: LevelSummary,
    new: tuple[list[str], int],
    vanished: tuple[list[str], int],
    table: Callable[[], np.ndarray],
) -> None:
    """New and vanished levels ((most frequent first, how many in all)), then PSI and chi-square of the
    2 x levels `table()` (category_table's form) when both sides have values."""
    result.n_new_levels, result.n_vanished_levels = new[1], vanished[1]
    result.new_levels, result.vanished_levels = new[0][:MAX_LISTED_LEVELS], vanished[0][:MAX_LISTED_LEVELS]
    if not levels.ref_count or not levels.cur_count:
        result.note = NO_VALUES
        return
    counts = table()
    shares = counts / counts.sum(axis=1, keepdims=True)
    result.psi = psi_from_shares(shares[0], shares[1])
    if counts.shape[1] < 2:
        result.chi2, result.chi2_pvalue = 0.0, 1.0
    else:
        from scipy import stats

        chi = stats.chi2_contingency(counts, correction=False)
        result.chi2, result.chi2_pvalue = float(chi.statistic), float(chi.pvalue)


def category_table(ref_counts: pd.Series, cur_counts: pd.Series, max_levels: int = MAX_LEVELS) -> np.ndarray:
    """2 x levels counts (reference row, current row); levels beyond `max_levels` pooled into one."""
    both = pd.concat([ref_counts.rename("r"), cur_counts.rename("c")], axis=1).fillna(0.0)
    both = both.loc[(both["r"] + both["c"]).sort_values(ascending=False, kind="stable").index]
    if len(both) > max_levels:
        head, tail = both.iloc[: max_levels - 1], both.iloc[max_levels - 1 :]
        both = pd.concat([head, tail.sum().to_frame("(other)").T])
    return np.vstack([both["r"].to_numpy(float), both["c"].to_numpy(float)])


def set_severity(result: ColumnDrift) -> None:
    """The column's severity from its measures (see the module's docstring); the last step of every engine."""
    by_psi = grade(result.psi, PSI_THRESHOLDS)
    pvalue = result.ks_pvalue if result.kind == "numeric" else result.chi2_pvalue
    if pvalue is not None and pvalue >= SIGNIFICANCE and SEVERITIES.index(by_psi) > 1:
        by_psi = "low"
        extra = f"PSI capped at low: the difference is not significant (p = {pvalue:.2g}, small sample)"
        result.note = f"{result.note}; {extra}" if result.note else extra
    change = result.missing_rate_change
    by_missing = grade(abs(change) if change is not None else None, MISSING_THRESHOLDS)
    result.severity = worse(by_psi, by_missing)


def rank_columns(columns: list[ColumnDrift]) -> list[ColumnDrift]:
    """Most drifted first: severity, then PSI, then |missing-rate change|, then KS."""
    return sorted(columns, key=lambda c: c.sort_key, reverse=True)


def compare_frames(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str] | None = None
) -> list[ColumnDrift]:
    """Drift of every column in `columns` (default: those both tables have), most drifted first."""
    if columns is None:
        columns = [str(c) for c in reference.columns if c in current.columns]
    return rank_columns([compare_column(reference[c], current[c], c) for c in columns])
