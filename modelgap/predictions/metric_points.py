"""Each model's metric values over every labelled row, walked block by block, equal bit for bit to the
whole-array forms of metrics.py (all weights 1).

Accuracy, F1 and ROC AUC are ratios of exact counts (whole numbers, or halves for tied AUC scores: every
partial sum is exact below 2**52), so they are counted per block. ROC AUC counts, for each positive row, the
negatives scored below it plus half those tied with it, from the sorted negative scores (`np.searchsorted`).
Log loss, MAE, RMSE and R² sum real numbers, whose last bits depend on the order: they keep one float per
labelled row (one side and one metric at a time) and use the same matrix product as the bootstrap. The
bootstrap itself needs only the rows of its subset (`gather`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from modelgap.predictions.blockwise import PairwiseSum
from modelgap.predictions.measures import Outputs, RowOutputs
from modelgap.predictions.rowstore import concat

__all__ = ["auc_macro", "classification_points", "f1_scores", "gather", "labelled", "regression_points"]

EPS = float(np.finfo(np.float64).eps)


def labelled(rows: RowOutputs) -> np.ndarray:
    """Rows with a usable label: a known class code, or a finite target value."""
    assert rows.target is not None
    return np.asarray(rows.target >= 0) if rows.is_classification else np.isfinite(rows.target)


def gather(outputs: Outputs, positions: np.ndarray) -> RowOutputs:
    """The outputs of the labelled rows at `positions` (sorted 0-based positions among the labelled rows)."""
    parts: list[RowOutputs] = []
    seen = 0
    for _, b in outputs.blocks():
        local = np.flatnonzero(labelled(b))
        lo, hi = np.searchsorted(positions, [seen, seen + len(local)])
        if hi > lo:
            parts.append(b.take(local[positions[lo:hi] - seen]))
        seen += len(local)
    if not parts:
        return outputs.take(np.empty(0, dtype=np.int64))
    return concat(parts)


def _mean_of(values: np.ndarray) -> float:
    """metrics._mean with all weights 1: the same product, so the same bits."""
    w = np.ones((1, len(values)))
    return float(((w @ values) / w.sum(axis=1))[0])


def f1_scores(totals: np.ndarray) -> np.ndarray:
    """F1 per resample from (b, classes, 3) totals of tp, fp, fn, averaged over the classes (0 when undefined)."""
    tp, fp, fn = totals[..., 0], totals[..., 1], totals[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    return np.asarray(scores.mean(axis=1))


def f1_columns(pred: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Per row, 0/1 columns tp, fp, fn of each F1 class (binary: the positive class; multiclass: every class)."""
    classes = [1] if k == 2 else list(range(k))
    return np.column_stack(
        [m for c in classes for m in ((pred == c) & (y == c), (pred == c) & (y != c), (pred != c) & (y == c))]
    ).astype(float)


def auc_macro(per_class: list[np.ndarray]) -> np.ndarray:
    """The mean of the defined one-vs-rest AUCs per resample (NaN when none is defined)."""
    with np.errstate(invalid="ignore"):
        stacked = np.vstack(per_class)
        ok = np.isfinite(stacked)
        return np.where(ok.any(axis=0), np.where(ok, stacked, 0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1), np.nan)


def _labelled_blocks(outputs: Outputs) -> Any:
    """(block, labelled mask, labels as int64 codes or float values) for every block."""
    for _, b in outputs.blocks():
        known = labelled(b)
        assert b.target is not None
        y = b.target[known]
        yield b, known, (y.astype(np.int64) if b.is_classification else y.astype(float))


def _auc(outputs: Outputs, side: str, column: int, positive_code: int, n_negative: int) -> np.ndarray:
    """bootstrap.weighted_auc with weights 1 (ties count one half), from the sorted negative scores."""
    neg = _fill(outputs, n_negative, lambda b, known, y: getattr(b, f"{side}_proba")[known, column][y != positive_code])
    neg.sort()  # float64 holds any float score exactly, so the order and the ties are the scores' own
    n_pos, doubled = 0, 0  # doubled: 2 x (negatives below each positive + half the tied ones), summed
    for b, known, y in _labelled_blocks(outputs):
        scores = getattr(b, f"{side}_proba")[known, column][y == positive_code]
        n_pos += len(scores)
        doubled += int(np.searchsorted(neg, scores, "left").sum()) + int(np.searchsorted(neg, scores, "right").sum())
    numerator, total = np.array([doubled / 2]), np.array([float(n_pos)]) * float(n_negative)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, numerator / total, np.nan)


def _fill(outputs: Outputs, n: int, value: Callable[[RowOutputs, np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """`value` of every block's labelled rows in one float array of `n` values (filled in place: no second copy)."""
    out = np.empty(n)
    at = 0
    for b, known, y in _labelled_blocks(outputs):
        part = value(b, known, y)
        out[at : at + len(part)] = part
        at += len(part)
    assert at == n
    return out


def classification_points(outputs: Outputs, n: int, with_proba: bool) -> dict[str, tuple[float, float]]:
    """accuracy, roc_auc and log_loss (when both sides give probabilities), f1: (repo, deployed) each, over the
    n labelled rows."""
    k = len(outputs.classes)
    right = np.zeros(2, dtype=np.int64)
    totals = [np.zeros(3 * (1 if k == 2 else k)) for _ in range(2)]
    per_class = np.zeros(k, dtype=np.int64)
    width = 0
    for b, known, y in _labelled_blocks(outputs):
        per_class += np.bincount(y, minlength=k)[:k]
        width = b.repo_proba.shape[1] if b.repo_proba is not None else 0
        for i, codes in enumerate((b.repo, b.deployed)):
            pred = codes[known].astype(np.int64)
            right[i] += int((pred == y).sum())
            totals[i] += f1_columns(pred, y, k).sum(axis=0)  # whole counts: exact in any order
    out: dict[str, tuple[float, float]] = {"accuracy": (float(right[0] / float(n)), float(right[1] / float(n)))}
    if with_proba:
        aucs = []
        for side in ("repo", "deployed"):
            if k == 2:
                aucs.append(float(_auc(outputs, side, 1, 1, n - int(per_class[1]))[0]))
            else:
                per = [_auc(outputs, side, c, c, n - int(per_class[c]) if c < k else n) for c in range(width)]
                aucs.append(float(auc_macro(per)[0]))
        out["roc_auc"] = (aucs[0], aucs[1])
        losses = [_mean_of(_fill(outputs, n, _nll_of(side))) for side in ("repo", "deployed")]
        out["log_loss"] = (losses[0], losses[1])
    f1 = [float(f1_scores(t.reshape(1, -1, 3))[0]) for t in totals]
    out["f1"] = (f1[0], f1[1])
    return out


def nll(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row: minus the log of the probability given to the true class (clipped to [eps, 1 - eps])."""
    inside = y < proba.shape[1]
    p = np.full(len(y), 0.0)
    p[inside] = proba[np.flatnonzero(inside), y[inside]]
    return -np.log(np.clip(p, EPS, 1 - EPS))


def _nll_of(side: str) -> Callable[[RowOutputs, np.ndarray, np.ndarray], np.ndarray]:
    return lambda b, known, y: nll(getattr(b, f"{side}_proba")[known], y)


def label_mean(outputs: Outputs, n: int) -> float:
    """np.mean of the finite targets (n of them), bit for bit."""
    total = PairwiseSum(n)
    for _, _, y in _labelled_blocks(outputs):
        total.add(y)
    return float(total.total() / n)


def regression_points(outputs: Outputs, n: int) -> tuple[dict[str, tuple[float, float]], float]:
    """mae, rmse, r2: (repo, deployed) each, and the targets' mean (R²'s centre, which the bootstrap reuses)."""
    y_mean = label_mean(outputs, n)
    centred = _fill(outputs, n, lambda b, known, y: y - y_mean)
    w = np.ones((1, n))
    total = w.sum(axis=1)
    sst = w @ (centred**2) - (w @ centred) ** 2 / total
    del centred
    out: dict[str, list[float]] = {"mae": [], "rmse": [], "r2": []}
    for side in ("repo", "deployed"):

        def err(b: RowOutputs, known: np.ndarray, y: np.ndarray, side: str = side) -> np.ndarray:
            values: np.ndarray = getattr(b, side)[known].astype(float)
            return values - y

        out["mae"].append(_mean_of(_fill(outputs, n, lambda b, known, y: np.abs(err(b, known, y)))))
        squared = _fill(outputs, n, lambda b, known, y: err(b, known, y) ** 2)
        out["rmse"].append(float(np.sqrt((w @ squared) / total)[0]))
        with np.errstate(invalid="ignore", divide="ignore"):
            out["r2"].append(float(np.where(sst > 0, 1 - (w @ squared) / sst, np.nan)[0]))
    return {name: (v[0], v[1]) for name, v in out.items()}, y_mean
