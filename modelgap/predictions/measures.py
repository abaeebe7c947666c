"""Disagreement measures as DESIGN.md defines them, on per-row arrays (pure numpy, no models).

Classification: a row disagrees when the labels differ; its abs diff is the largest absolute difference of
the two models' class probabilities (binary: of the positive class), or 0/1 when a side gives labels only.
Regression: abs diff = |repo - deployed|; a row disagrees when it exceeds the tolerance (default: 1% of the
standard deviation of the deployed model's predictions on the sample).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from modelgap.jsonsafe import json_safe
from modelgap.model import Task

HISTOGRAM_BINS = 40
DEFAULT_TOLERANCE_SHARE = 0.01
BLOCK_ROWS = 1_000_000  # rows per block when a measure walks every row (no temporary is longer)


class Outputs(Protocol):
    """Every compared row's outputs, as `RowOutputs` (all arrays in memory) or the pandas engine's compact store
    (modelgap.predictions.rowstore), which derives the differences and scores block by block. The array
    attributes give whole-length arrays (computed on demand by the compact store); `blocks` and `take` give
    `RowOutputs` of a row range or of chosen rows, which the whole-data measures use."""

    @property
    def task(self) -> Task: ...
    @property
    def classes(self) -> list[Any]: ...
    @property
    def compared_on(self) -> str: ...
    @property
    def repo(self) -> np.ndarray: ...
    @property
    def deployed(self) -> np.ndarray: ...
    @property
    def abs_diff(self) -> np.ndarray: ...
    @property
    def diff(self) -> np.ndarray: ...
    @property
    def repo_score(self) -> np.ndarray | None: ...
    @property
    def deployed_score(self) -> np.ndarray | None: ...
    @property
    def repo_proba(self) -> np.ndarray | None: ...
    @property
    def deployed_proba(self) -> np.ndarray | None: ...
    @property
    def target(self) -> np.ndarray | None: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def is_classification(self) -> bool: ...
    def labels(self, codes: np.ndarray) -> list[Any]: ...
    def blocks(self, size: int = BLOCK_ROWS) -> Iterator[tuple[int, RowOutputs]]: ...
    def take(self, positions: np.ndarray) -> RowOutputs: ...


@dataclass
class RowOutputs:
    """Both models' outputs for every compared row, as small arrays indexed by 0-based row position.

    Classification: `repo` / `deployed` are int32 codes into `classes` (the common class order); the scores are
    the positive-class probability (binary) or the probability of the predicted class (multiclass), NaN for a
    side without probabilities; `repo_proba` / `deployed_proba` (n x k, common order) are kept only when a target
    is given (the metrics need them). Regression: `repo` / `deployed` are float64 values.
    `target`: int32 codes (-1 = missing or a label neither model knows) or float64 values (NaN = missing).
    """

    task: Task
    classes: list[Any]
    repo: np.ndarray
    deployed: np.ndarray
    abs_diff: np.ndarray
    diff: np.ndarray  # signed repo - deployed (probability of the positive / most-changed class, or value)
    repo_score: np.ndarray | None = None
    deployed_score: np.ndarray | None = None
    repo_proba: np.ndarray | None = None
    deployed_proba: np.ndarray | None = None
    target: np.ndarray | None = None
    compared_on: str = "values"  # "probabilities", "labels" or "values"

    @property
    def n_rows(self) -> int:
        return len(self.repo)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    def labels(self, codes: np.ndarray) -> list[Any]:
        """Class labels for codes (classification) or the values themselves (regression)."""
        if not self.is_classification:
            return [float(v) for v in codes]
        return [self.classes[int(c)] if 0 <= c < len(self.classes) else None for c in codes]

    def blocks(self, size: int = BLOCK_ROWS) -> Iterator[tuple[int, RowOutputs]]:
        """(first row, outputs of rows [first, first + size)) over every row, as views."""
        for start in range(0, self.n_rows, size):
            yield start, self.take(slice(start, start + size))

    def take(self, positions: np.ndarray | slice) -> RowOutputs:
        """The outputs of the rows at `positions` (0-based)."""

        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[positions]

        return RowOutputs(
            self.task,
            self.classes,
            self.repo[positions],
            self.deployed[positions],
            self.abs_diff[positions],
            self.diff[positions],
            pick(self.repo_score),
            pick(self.deployed_score),
            pick(self.repo_proba),
            pick(self.deployed_proba),
            pick(self.target),
            self.compared_on,
        )


def classification_diffs(
    repo_codes: np.ndarray, deployed_codes: np.ndarray, repo_proba: np.ndarray | None, deployed_proba: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(abs_diff, signed diff) for one block of rows; probabilities in the common class order.

    Without probabilities on both sides: abs diff = 1 where the labels differ, else 0, and no signed diff (NaN).
    """
    n = len(repo_codes)
    if repo_proba is None or deployed_proba is None:
        return (repo_codes != deployed_codes).astype(float), np.full(n, np.nan)
    if repo_proba.shape[1] == 2:
        diff = repo_proba[:, 1] - deployed_proba[:, 1]
    else:
        delta = repo_proba - deployed_proba
        biggest = np.argmax(np.abs(delta), axis=1)
        diff = delta[np.arange(n), biggest]
    return np.abs(diff), diff


def predicted_scores(proba: np.ndarray | None, codes: np.ndarray) -> np.ndarray:
    """Binary: the positive-class probability; multiclass: the probability of the predicted class; else NaN."""
    n = len(codes)
    if proba is None:
        return np.full(n, np.nan)
    if proba.shape[1] == 2:
        return np.asarray(proba[:, 1], dtype=float)
    inside = (codes >= 0) & (codes < proba.shape[1])
    out = np.full(n, np.nan)
    out[inside] = proba[np.flatnonzero(inside), codes[inside]]
    return out


def default_tolerance(deployed_values: np.ndarray) -> float:
    """1% of the (population) standard deviation of the deployed model's predictions."""
    finite = deployed_values[np.isfinite(deployed_values)]
    return float(DEFAULT_TOLERANCE_SHARE * np.std(finite)) if len(finite) else 0.0


def disagrees(outputs: Outputs, tolerance: float | None) -> np.ndarray:
    if outputs.is_classification:
        return np.asarray(outputs.repo != outputs.deployed)
    return np.asarray(outputs.abs_diff > (tolerance or 0.0))


def top_entries(rows: RowOutputs, positions: np.ndarray, disagree: np.ndarray) -> list[dict[str, Any]]:
    """The `top` entries of chosen rows: `rows` holds their outputs, `positions` their 0-based data rows."""
    out: list[dict[str, Any]] = []
    for j, i in enumerate(positions):
        entry: dict[str, Any] = {
            "row": int(i),
            "repo": rows.labels(rows.repo[[j]])[0],
            "deployed": rows.labels(rows.deployed[[j]])[0],
            "abs_diff": float(rows.abs_diff[j]),
            "disagrees": bool(disagree[j]),
        }
        if rows.is_classification:
            entry["repo_score"] = _num(rows.repo_score, j)
            entry["deployed_score"] = _num(rows.deployed_score, j)
        out.append(entry)
    return out


def largest(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest positive values, largest first (ties: lower position first; NaN never counts)."""
    if k <= 0 or len(values) == 0:
        return np.empty(0, dtype=np.int64)
    nan = np.isnan(values)
    if nan.any():
        values = np.where(nan, -np.inf, values)
    candidates = np.arange(len(values))
    if len(values) > k:
        cutoff = np.partition(values, len(values) - k)[len(values) - k]
        candidates = np.flatnonzero(values >= cutoff)  # ties at the cutoff kept, so the order below is exact
    ranked = candidates[np.lexsort((candidates, -values[candidates]))][:k]
    return ranked[values[ranked] > 0]


def _num(values: np.ndarray | None, i: int) -> float | None:
    if values is None or not np.isfinite(values[i]):
        return None
    return float(values[i])


def crosstab_counts(rows: RowOutputs) -> np.ndarray:
    """k x k counts of repo code (rows) x deployed code (columns); codes outside the classes left out."""
    k = len(rows.classes)
    r, d = rows.repo.astype(np.int64), rows.deployed.astype(np.int64)
    ok = (r >= 0) & (d >= 0)
    return np.bincount(r[ok] * k + d[ok], minlength=k * k).reshape(k, k)


def crosstab_frame(counts: np.ndarray, classes: list[Any]) -> pd.DataFrame:
    """The cross-tab of repo label (index) x deployed label (columns)."""
    labels = list(classes)
    return pd.DataFrame(
        counts,
        index=pd.Index(labels, dtype=object, name="repo"),
        columns=pd.Index(labels, dtype=object, name="deployed"),
    )


@dataclass
class DiffHistogram:
    """Counts of the signed differences (repo - deployed) in equal-width bins; `edges` has one more entry."""

    edges: np.ndarray
    counts: np.ndarray
    what: str

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "edges": json_safe(self.edges), "counts": [int(c) for c in self.counts]}


def histogram_what(classification: bool, k: int, positive: Any) -> str:
    """The histogram's caption: what difference it counts (k: number of classes)."""
    if not classification:
        return "repo - deployed prediction"
    if k == 2:
        return f"repo - deployed probability of class {positive!r}"
    return "repo - deployed probability of the class that changed most"


def flip_counts(rows: RowOutputs) -> np.ndarray:
    """[labelled rows, negative flips, positive flips, right by both, right by deployed] of a classifier's rows
    (`flip_measures` turns the sums over every row into the flips dict; Bansal et al. 2019; Yan et al. 2021)."""
    assert rows.target is not None
    known = rows.target >= 0
    y = rows.target[known]
    right_r, right_d = rows.repo[known] == y, rows.deployed[known] == y
    counts = (known, right_d & ~right_r, ~right_d & right_r, right_d & right_r, right_d)
    return np.array([int(c.sum()) for c in counts], dtype=np.int64)


def flip_measures(n: int, negative: int, positive: int, kept: int, deployed_right: int) -> dict[str, Any]:
    """The flips dict from its counts over n labelled rows (kept: right by both; deployed_right: by deployed).

    negative flips: the deployed model was right and the repo model is wrong; positive flips: the reverse;
    backward trust compatibility: share of the deployed model's correct rows the repo model keeps correct.
    """
    return {
        "n_rows": n,
        "negative_flips": negative,
        "negative_flip_rate": negative / n,
        "positive_flips": positive,
        "positive_flip_rate": positive / n,
        "backward_trust_compatibility": kept / deployed_right if deployed_right else None,
        # The accuracy change is (positive - negative) / n; McNemar's exact test asks whether the discordant
        # rows split so unevenly that chance is an unlikely explanation.
        "accuracy_change": (positive - negative) / n,
        "mcnemar_p_value": mcnemar_exact_p(negative, positive),
    }


def mcnemar_exact_p(negative: int, positive: int) -> float:
    """McNemar's exact two-sided p-value: a binomial test of the discordant pairs against an even split."""
    discordant = negative + positive
    if discordant == 0:
        return 1.0
    from scipy.stats import binom

    return float(min(1.0, 2.0 * binom.cdf(min(negative, positive), discordant, 0.5)))


def rows_frame(outputs: RowOutputs, positions: np.ndarray, disagree: np.ndarray) -> pd.DataFrame:
    """The per-row table for `positions` (0-based rows): repo, deployed, abs_diff, diff, disagrees (+ scores).

    Classifiers' repo / deployed columns are pandas Categoricals over the common classes.
    """
    positions = np.asarray(positions, dtype=np.int64)
    data: dict[str, Any] = {}
    if outputs.is_classification:  # labels as a categorical of the common classes (cheap at 100k rows)
        classes = pd.Index(outputs.classes, dtype=object)
        data["repo"] = pd.Categorical.from_codes(outputs.repo[positions], categories=classes)
        data["deployed"] = pd.Categorical.from_codes(outputs.deployed[positions], categories=classes)
    else:
        data["repo"] = outputs.repo[positions]
        data["deployed"] = outputs.deployed[positions]
    data["abs_diff"] = outputs.abs_diff[positions]
    data["diff"] = outputs.diff[positions]
    data["disagrees"] = disagree[positions]
    if outputs.is_classification:
        nan = np.full(len(positions), np.nan)
        data["repo_score"] = outputs.repo_score[positions] if outputs.repo_score is not None else nan
        data["deployed_score"] = outputs.deployed_score[positions] if outputs.deployed_score is not None else nan
    return pd.DataFrame(data, index=pd.Index(positions, name="row"))
