"""The one place where SHAP and native-contribution output shapes are normalised.

shap returns a list of k (n, f) arrays before 0.45 and an (n, f, k) array since; binary sklearn forests give
(n, f, 2) while boosters give (n, f); base values come as a scalar, (1,), (k,), (n,) or (n, k). xgboost's
`pred_contribs` gives (n, f+1) or (n, k, f+1); lightgbm's `pred_contrib` gives (n, f+1) or (n, k*(f+1)).
Everything downstream sees values as (n, f, k) and base values as (n, k).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def normalize_shap(values: Any, base: Any, n_rows: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, f, k) SHAP values and (n, k) base values from any shap output form."""
    if isinstance(values, list):
        arr = np.stack([np.asarray(v, dtype=float) for v in values], axis=-1)
    else:
        arr = np.asarray(values, dtype=float)
    if arr.ndim == 1 and n_rows == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] != n_rows or arr.shape[1] != n_features:
        raise ValueError(f"unexpected SHAP values shape {arr.shape} for {n_rows} rows x {n_features} features")
    return arr, _base_per_row(base, n_rows, arr.shape[2])


def normalize_contribs(phi: Any, n_rows: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, f, k) values and (n, k) base values from native contributions (last column = bias)."""
    arr = np.asarray(phi, dtype=float)
    width = n_features + 1
    if arr.ndim == 2 and arr.shape[1] != width and arr.shape[1] % width == 0:  # lightgbm multiclass
        arr = arr.reshape(n_rows, arr.shape[1] // width, width)
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3 or arr.shape[0] != n_rows or arr.shape[2] != width:
        raise ValueError(f"unexpected contributions shape {np.shape(phi)} for {n_rows} rows x {n_features} features")
    values = np.transpose(arr[:, :, :-1], (0, 2, 1))  # (n, k, f) -> (n, f, k)
    return np.ascontiguousarray(values), arr[:, :, -1]


def _base_per_row(base: Any, n_rows: int, n_outputs: int) -> np.ndarray:
    b = np.asarray(base, dtype=float)
    if b.ndim == 0 or b.size == 1:
        return np.full((n_rows, n_outputs), float(b.reshape(-1)[0]))
    if b.ndim == 1 and b.size == n_outputs:
        return np.tile(b, (n_rows, 1))
    if b.ndim == 1 and b.size == n_rows and n_outputs == 1:
        return b.reshape(n_rows, 1)
    if b.shape == (n_rows, n_outputs):
        return b
    raise ValueError(f"unexpected base values shape {b.shape} for {n_rows} rows x {n_outputs} outputs")


def as_2d(output: Any, n_rows: int) -> np.ndarray:
    """Model outputs as (n, k): a (n,) vector becomes one column."""
    arr = np.asarray(output, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(n_rows, 1)
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise ValueError(f"unexpected model output shape {arr.shape} for {n_rows} rows")
    return arr
