"""Small statistics on two SHAP frames: importance, ranks, rank correlation, top-k overlap, effect direction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DIRECTION_MIN_CORR = 0.1  # |corr(value, SHAP)| below this: no clear direction
FLIP_MIN_SHARE = 0.01  # a feature below 1% of a model's top importance cannot flip


def importance(values: pd.DataFrame) -> pd.Series:
    """Mean |SHAP| per column (0 for a column the model does not use)."""
    if values.empty:
        return pd.Series(0.0, index=values.columns)
    return values.abs().mean().astype(float)


def ranks(imp: pd.Series) -> pd.Series:
    """1 = most important; ties share the best rank."""
    return imp.rank(ascending=False, method="min").astype(int)


def rank_correlation(a: pd.Series, b: pd.Series) -> float | None:
    """Spearman's rho of two importance vectors over the same features; None when undefined."""
    if len(a) < 2 or a.nunique() < 2 or b.nunique() < 2:
        return 1.0 if len(a) >= 1 and a.equals(b) else None
    from scipy import stats  # here, not at import: reading a stored comparison needs no scipy

    rho = float(stats.spearmanr(a.to_numpy(), b.to_numpy()).statistic)
    return None if math.isnan(rho) else rho


RBO_P = 0.9  # rank-biased overlap's persistence: the top 10 ranks carry about 86% of the weight


def rank_biased_overlap(a: pd.Series, b: pd.Series, p: float = RBO_P) -> float | None:
    """Extrapolated rank-biased overlap (Webber, Moffat and Zobel, 2010) of two importance rankings.

    Spearman's rho weighs every rank alike; RBO weighs agreement at the top most, which is what a reviewer
    cares about. 1 = the same order, 0 = nothing shared at any depth. Both rankings are over the same features:
    RBO_ext = X_k/k * p^k + (1-p)/p * sum_{d=1..k} X_d/d * p^d, with X_d the overlap of the two top-d lists.
    """
    k = min(len(a), len(b))
    if k == 0:
        return None
    order_a, order_b = top_k(a, k), top_k(b, k)
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    overlap, total = 0, 0.0
    for d in range(1, k + 1):
        x, y = order_a[d - 1], order_b[d - 1]
        if x == y:
            overlap += 1
        else:
            overlap += (x in seen_b) + (y in seen_a)
        seen_a.add(x)
        seen_b.add(y)
        total += overlap / d * p**d
    return float(overlap / k * p**k + (1 - p) / p * total)


def top_k(imp: pd.Series, k: int) -> list[str]:
    """The k most important features (ties kept in column order)."""
    order = sorted(range(len(imp)), key=lambda i: (-float(imp.iloc[i]), i))
    return [str(imp.index[i]) for i in order[:k]]


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; 0 when either side is constant or too short."""
    mask = np.isfinite(x) & np.isfinite(y)
    x, y = x[mask], y[mask]
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def direction(values: pd.Series, shap: pd.Series) -> int | None:
    """+1 when higher values push the output up, -1 down, 0 unclear; None for non-numeric columns."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        if pd.api.types.is_bool_dtype(values):
            values = values.astype(float)
        else:
            return None
    r = correlation(values.to_numpy(dtype=float), shap.to_numpy(dtype=float))
    return 0 if abs(r) < DIRECTION_MIN_CORR else int(np.sign(r))


def scaled(values: pd.Series) -> pd.Series:
    """Feature values mapped to 0..1 for colouring (categories by sorted code); NaN stays NaN."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.astype(float)
    else:
        codes = pd.Categorical(values.astype(object).where(values.notna(), None))
        x = pd.Series(np.where(codes.codes < 0, np.nan, codes.codes), index=values.index, dtype=float)
    lo, hi = x.min(), x.max()
    if not np.isfinite(lo) or hi == lo:
        return pd.Series(np.where(x.notna(), 0.5, np.nan), index=values.index)
    return (x - lo) / (hi - lo)
