"""Each model's metrics on the labelled sample, and the change (repo - deployed) with a paired bootstrap interval.

Classification: accuracy, ROC AUC (binary; multiclass one-vs-rest macro), log loss, F1 (binary: positive
class; multiclass: macro over the pair's classes). Regression: MAE, RMSE, R². Every metric is written as a
function of per-row weights, so the point value (all weights 1) and every bootstrap resample (weights =
resample counts) use the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelgap.errors import DataError
from modelgap.predictions import bootstrap
from modelgap.predictions.measures import RowOutputs

EPS = float(np.finfo(np.float64).eps)
# Every metric name the section can report (classification, then regression): what a policy may name.
METRIC_NAMES = ("accuracy", "roc_auc", "log_loss", "f1", "mae", "rmse", "r2")
LOWER_IS_BETTER = ("log_loss", "mae", "rmse")  # error metrics; the rest of METRIC_NAMES: higher is better
# A side's metric: (weights (b, m), rows) -> (b,)
SideMetric = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class MetricValue:
    name: str
    repo: float
    deployed: float
    delta: float
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "repo": self.repo,
            "deployed": self.deployed,
            "delta": self.delta,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass
class MetricsComparison:
    """Metrics of both models on `n_rows` labelled rows; `metrics` keeps the order they were computed in."""

    task: str
    metrics: dict[str, MetricValue]
    n_rows: int
    n_excluded: int = 0  # rows without a usable label
    n_resamples: int = bootstrap.N_RESAMPLES
    resample_rows: int = 0
    confidence: float = 0.95
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> MetricValue:
        return self.metrics[name]

    def to_dict(self) -> dict[str, dict[str, float | None]]:
        """{metric_name: {repo, deployed, delta, ci_low, ci_high}}: DESIGN.md's `metrics` contract."""
        return {name: m.to_dict() for name, m in self.metrics.items()}

    def summary_lines(self) -> list[str]:
        lines = [f"Metrics on {self.n_rows:,} labelled rows (change = repo - deployed, 95% interval)"]
        width = max((len(n) for n in self.metrics), default=8)
        for name, m in self.metrics.items():
            interval = f" [{m.ci_low:+.4f}, {m.ci_high:+.4f}]" if m.ci_low is not None and m.ci_high is not None else ""
            lines.append(
                f"  {name:<{width}}  repo {m.repo:.4f}  deployed {m.deployed:.4f}  change {m.delta:+.4f}{interval}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return lines


def compare_metrics(
    outputs: RowOutputs,
    *,
    seed: int = 0,
    n_resamples: int = bootstrap.N_RESAMPLES,
    bootstrap_rows: int = bootstrap.MAX_ROWS,
) -> MetricsComparison:
    """Metrics of both models against `outputs.target`; rows without a usable label are left out (noted).

    `bootstrap_rows` bounds the bootstrap's cost: above it, resamples come from a subset (see bootstrap.py).
    """
    assert outputs.target is not None
    if outputs.is_classification:
        keep = np.flatnonzero(outputs.target >= 0)
    else:
        keep = np.flatnonzero(np.isfinite(outputs.target))
    n_total = outputs.n_rows
    if len(keep) == 0:  # every metric would be 0 or undefined: absent, with the reason, beats f1 = 0.0
        what = "a label that is one of the models' classes" if outputs.is_classification else "a numeric target"
        raise DataError(
            f"No labelled rows: none of the {n_total:,} rows has {what}, so no metric can be measured.",
            "Check --target names the label column and that its values are the models' classes.",
        )
    notes: list[str] = []
    if len(keep) < n_total:
        notes.append(excluded_note(n_total - len(keep), outputs.is_classification))
    side_metrics = _classification(outputs, keep, notes) if outputs.is_classification else _regression(outputs, keep)
    bp = bootstrap.plan(len(keep), seed=seed, n_resamples=n_resamples, max_rows=bootstrap_rows)
    ones = np.ones((1, len(keep)))
    everything = np.arange(len(keep))
    points: dict[str, tuple[float, float]] = {}
    for name, (fr, fd) in side_metrics.items():
        points[name] = (float(fr(ones, everything)[0]), float(fd(ones, everything)[0]))
    usable = {n: p for n, p in points.items() if np.isfinite(p[0]) and np.isfinite(p[1])}
    for name in points:
        if name not in usable:
            notes.append(undefined_note(name))
    deltas = {n: _delta(*side_metrics[n]) for n in usable}
    intervals = bootstrap.paired_intervals(bp, deltas, {n: r - d for n, (r, d) in usable.items()})
    metrics = {n: MetricValue(n, r, d, r - d, intervals[n].low, intervals[n].high) for n, (r, d) in usable.items()}
    if bp.scaled:
        notes.append(
            f"Intervals: {n_resamples:,} paired bootstrap resamples of a {bp.resample_rows:,}-row subset, scaled "
            f"to {len(keep):,} rows (m-out-of-n bootstrap)."
        )
    return MetricsComparison(
        task=outputs.task,
        metrics=metrics,
        n_rows=len(keep),
        n_excluded=n_total - len(keep),
        n_resamples=n_resamples,
        resample_rows=bp.resample_rows,
        seed=seed,
        notes=notes,
    )


NO_PROBABILITIES = "ROC AUC and log loss need probabilities from both models; a model gives labels only."


def excluded_note(n_excluded: int, classification: bool) -> str:
    """The note on rows left out of the metrics (both engines word it alike)."""
    what = "a missing label or one neither model knows" if classification else "a missing target"
    return f"{n_excluded:,} rows with {what} were left out of the metrics."


def undefined_note(name: str) -> str:
    """The note on a metric left out because it is not defined on the labels (NaN on a side)."""
    return f"{name} is not defined on these labels (e.g. only one class present); left out."


def _delta(fr: SideMetric, fd: SideMetric) -> bootstrap.Statistic:
    return lambda w, rows: fr(w, rows) - fd(w, rows)


def _mean(values: np.ndarray) -> SideMetric:
    return lambda w, rows: (w @ values[rows]) / w.sum(axis=1)


def _classification(
    outputs: RowOutputs, keep: np.ndarray, notes: list[str]
) -> dict[str, tuple[SideMetric, SideMetric]]:
    assert outputs.target is not None
    y = outputs.target[keep].astype(np.int64)
    k = len(outputs.classes)
    binary = k == 2
    out: dict[str, tuple[SideMetric, SideMetric]] = {}
    preds = (outputs.repo[keep].astype(np.int64), outputs.deployed[keep].astype(np.int64))
    out["accuracy"] = (_mean((preds[0] == y).astype(float)), _mean((preds[1] == y).astype(float)))
    probas = (outputs.repo_proba, outputs.deployed_proba)
    if probas[0] is not None and probas[1] is not None:
        p = (probas[0][keep], probas[1][keep])
        out["roc_auc"] = (_auc(p[0], y, binary), _auc(p[1], y, binary))
        out["log_loss"] = (_mean(_nll(p[0], y)), _mean(_nll(p[1], y)))
    else:
        notes.append(NO_PROBABILITIES)
    out["f1"] = (_f1(preds[0], y, k), _f1(preds[1], y, k))
    return out


def _nll(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    inside = y < proba.shape[1]
    p = np.full(len(y), 0.0)
    p[inside] = proba[np.flatnonzero(inside), y[inside]]
    return -np.log(np.clip(p, EPS, 1 - EPS))


def _auc(proba: np.ndarray, y: np.ndarray, binary: bool) -> SideMetric:
    if binary:
        return lambda w, rows: bootstrap.weighted_auc(w, proba[rows, 1], y[rows] == 1)

    def macro(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
        per_class = [bootstrap.weighted_auc(w, proba[rows, c], y[rows] == c) for c in range(proba.shape[1])]
        with np.errstate(invalid="ignore"):
            stacked = np.vstack(per_class)
            ok = np.isfinite(stacked)
            return np.where(
                ok.any(axis=0), np.where(ok, stacked, 0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1), np.nan
            )

    return macro


def _f1(pred: np.ndarray, y: np.ndarray, k: int) -> SideMetric:
    """Binary: F1 of the positive class (code 1); multiclass: macro over all k classes (0 when undefined)."""
    classes = [1] if k == 2 else list(range(k))
    # Per class: columns tp, fp, fn as 0/1 indicators, so one matrix product counts them for every resample.
    counts = np.column_stack(
        [m for c in classes for m in ((pred == c) & (y == c), (pred == c) & (y != c), (pred != c) & (y == c))]
    ).astype(float)

    def f1(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
        totals = (w @ counts[rows]).reshape(len(w), len(classes), 3)
        tp, fp, fn = totals[..., 0], totals[..., 1], totals[..., 2]
        denominator = 2 * tp + fp + fn
        with np.errstate(invalid="ignore", divide="ignore"):
            scores = np.where(denominator > 0, 2 * tp / denominator, 0.0)
        return np.asarray(scores.mean(axis=1))

    return f1


def _regression(outputs: RowOutputs, keep: np.ndarray) -> dict[str, tuple[SideMetric, SideMetric]]:
    assert outputs.target is not None
    y = outputs.target[keep].astype(float)
    out: dict[str, Any] = {"mae": [], "rmse": [], "r2": []}
    for values in (outputs.repo[keep].astype(float), outputs.deployed[keep].astype(float)):
        err = values - y
        out["mae"].append(_mean(np.abs(err)))
        out["rmse"].append(_rmse(err**2))
        out["r2"].append(_r2(err**2, y))
    return {name: (fr, fd) for name, (fr, fd) in out.items()}


def _rmse(squared: np.ndarray) -> SideMetric:
    return lambda w, rows: np.sqrt((w @ squared[rows]) / w.sum(axis=1))


def _r2(squared: np.ndarray, y: np.ndarray) -> SideMetric:
    centred = y - y.mean()  # shifting y leaves the total sum of squares unchanged and avoids cancellation

    def r2(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1)
        yy = centred[rows]
        sst = w @ (yy**2) - (w @ yy) ** 2 / total
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sst > 0, 1 - (w @ squared[rows]) / sst, np.nan)

    return r2
