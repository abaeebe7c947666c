"""Small statistics on two SHAP frames: importance, ranks, rank correlation, top-k overlap, effect direction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

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
    rho = float(stats.spearmanr(a.to_numpy(), b.to_numpy()).statistic)
    return None if math.isnan(rho) else rho


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
