"""Each model's metrics on the labelled sample, and the change (repo - deployed) with a paired bootstrap interval.

Classification: accuracy, ROC AUC (binary; multiclass one-vs-rest macro), log loss, F1 (binary: positive
class; multiclass: macro over the pair's classes). Regression: MAE, RMSE, R². Every metric is written as a
function of per-row weights, so the point value (all weights 1) and every bootstrap resample (weights =
resample counts) use the same code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelgap.errors import DataError
from modelgap.predictions import bootstrap, metric_points
from modelgap.predictions.measures import Outputs

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
    outputs: Outputs,
    *,
    seed: int = 0,
    n_resamples: int = bootstrap.N_RESAMPLES,
    bootstrap_rows: int = bootstrap.MAX_ROWS,
) -> MetricsComparison:
    """Metrics of both models against `outputs.target`; rows without a usable label are left out (noted).

    `bootstrap_rows` bounds the bootstrap's cost: above it, resamples come from a subset (see bootstrap.py).
    """
    assert outputs.target is not None
    classification = outputs.is_classification
    n = sum(int(metric_points.labelled(b).sum()) for _, b in outputs.blocks())
    n_total = outputs.n_rows
    if n == 0:  # every metric would be 0 or undefined: absent, with the reason, beats f1 = 0.0
        what = "a label that is one of the models' classes" if classification else "a numeric target"
        raise DataError(
            f"No labelled rows: none of the {n_total:,} rows has {what}, so no metric can be measured.",
            "Check --target names the label column and that its values are the models' classes.",
        )
    notes: list[str] = []
    if n < n_total:
        notes.append(excluded_note(n_total - n, classification))
    bp = bootstrap.plan(n, seed=seed, n_resamples=n_resamples, max_rows=bootstrap_rows)
    # The point values use every labelled row (exact block-by-block forms); the resamples, only the subset's.
    subset = metric_points.gather(outputs, bp.subset)
    rows = np.arange(len(subset.repo))
    if classification:
        side_metrics = _classification(subset, rows, notes)
        with_proba = "roc_auc" in side_metrics
        points = metric_points.classification_points(outputs, n, with_proba)
    else:
        points, y_mean = metric_points.regression_points(outputs, n)
        side_metrics = _regression(subset, rows, y_mean)
    local = dataclasses.replace(bp, subset=rows)  # the same resamples, drawn from the gathered rows
    usable = {name: p for name, p in points.items() if np.isfinite(p[0]) and np.isfinite(p[1])}
    for name in points:
        if name not in usable:
            notes.append(undefined_note(name))
    deltas = {name: _delta(*side_metrics[name]) for name in usable}
    intervals = bootstrap.paired_intervals(local, deltas, {name: r - d for name, (r, d) in usable.items()})
    metrics = {
        name: MetricValue(name, r, d, r - d, intervals[name].low, intervals[name].high)
        for name, (r, d) in usable.items()
    }
    if bp.scaled:
        notes.append(
            f"Intervals: {n_resamples:,} paired bootstrap resamples of a {bp.resample_rows:,}-row subset, scaled "
            f"to {n:,} rows (m-out-of-n bootstrap)."
        )
    return MetricsComparison(
        task=outputs.task,
        metrics=metrics,
        n_rows=n,
        n_excluded=n_total - n,
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


def _classification(outputs: Outputs, keep: np.ndarray, notes: list[str]) -> dict[str, tuple[SideMetric, SideMetric]]:
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
    return metric_points.nll(proba, y)


def _auc(proba: np.ndarray, y: np.ndarray, binary: bool) -> SideMetric:
    if binary:
        return lambda w, rows: bootstrap.weighted_auc(w, proba[rows, 1], y[rows] == 1)

    def macro(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
        per_class = [bootstrap.weighted_auc(w, proba[rows, c], y[rows] == c) for c in range(proba.shape[1])]
        return metric_points.auc_macro(per_class)

    return macro


def _f1(pred: np.ndarray, y: np.ndarray, k: int) -> SideMetric:
    """Binary: F1 of the positive class (code 1); multiclass: macro over all k classes (0 when undefined)."""
    # Per class: columns tp, fp, fn as 0/1 indicators, so one matrix product counts them for every resample.
    counts = metric_points.f1_columns(pred, y, k)
    return lambda w, rows: metric_points.f1_scores((w @ counts[rows]).reshape(len(w), -1, 3))


def _regression(outputs: Outputs, keep: np.ndarray, y_mean: float) -> dict[str, tuple[SideMetric, SideMetric]]:
    """The regression metrics as functions of the weights; R² centres the targets on `y_mean`, the mean of every
    labelled row's target (not only of `keep`'s)."""
    assert outputs.target is not None
    y = outputs.target[keep].astype(float)
    out: dict[str, Any] = {"mae": [], "rmse": [], "r2": []}
    for values in (outputs.repo[keep].astype(float), outputs.deployed[keep].astype(float)):
        err = values - y
        out["mae"].append(_mean(np.abs(err)))
        out["rmse"].append(_rmse(err**2))
        out["r2"].append(_r2(err**2, y, y_mean))
    return {name: (fr, fd) for name, (fr, fd) in out.items()}


def _rmse(squared: np.ndarray) -> SideMetric:
    return lambda w, rows: np.sqrt((w @ squared[rows]) / w.sum(axis=1))


def _r2(squared: np.ndarray, y: np.ndarray, y_mean: float) -> SideMetric:
    centred = y - y_mean  # shifting y leaves the total sum of squares unchanged and avoids cancellation

    def r2(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1)
        yy = centred[rows]
        sst = w @ (yy**2) - (w @ yy) ** 2 / total
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sst > 0, 1 - (w @ squared[rows]) / sst, np.nan)

    return r2
