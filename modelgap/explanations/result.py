"""What explaining one model returns: SHAP per input column, base values, outputs and an additivity check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ProgressCallback = Callable[[int, int], None]  # (rows done, rows total)
StopCallback = Callable[[], bool]  # True: stop now and return what was done

# Additivity is checked against this tolerance times max(1, largest |output|): float32 tree sums stay well inside.
ADDITIVITY_RTOL = 1e-3


@dataclass(frozen=True)
class Additivity:
    """base value + sum of contributions vs the model output, over every explained row and class."""

    max_error: float
    tolerance: float
    failed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"max_error": self.max_error, "tolerance": self.tolerance, "failed": self.failed}


@dataclass
class Explanation:
    """SHAP values of one model on rows X, per input column, in one output space.

    `values[target]` is a DataFrame indexed like the explained rows with one column per model input column;
    `target` is "value" for regression, else `str(class)` (binary: the positive class only; multiclass: each
    class). `outputs[target]` is the model output in the explained space, `base_values[target]` the SHAP base.
    """

    values: dict[str, pd.DataFrame]
    base_values: dict[str, float]
    outputs: dict[str, pd.Series]
    output: str
    method: str
    targets: list[str]
    class_labels: dict[str, Any]  # target -> the model's own class label (None for regression)
    features: list[str]
    X: pd.DataFrame  # the explained rows as given (all their columns), same index as the values
    additivity: Additivity
    n_requested: int
    stopped: bool = False  # should_stop() ended the work early: fewer rows than requested
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    workers: int = 1  # processes or threads that explained the rows (2: the second core helped)

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def complete(self) -> bool:
        return self.n_rows == self.n_requested

    def frame(self, target: str | None = None) -> pd.DataFrame:
        """SHAP values for `target` (default: the first one)."""
        return self.values[target if target is not None else self.targets[0]]


def check_additivity(
    values: dict[str, pd.DataFrame], base: dict[str, float], outputs: dict[str, pd.Series]
) -> Additivity:
    """Compare base + sum(values) with the model output for every target; never raise, report."""
    worst = 0.0
    scale = 1.0
    for target, frame in values.items():
        if frame.empty:
            continue
        out = outputs[target].to_numpy(dtype=float)
        recon = base[target] + frame.to_numpy(dtype=float).sum(axis=1)
        err = np.abs(recon - out)
        worst = max(worst, float(np.nanmax(err)) if np.isfinite(err).any() else float("inf"))
        if np.isnan(err).any():
            worst = float("inf")
        finite = out[np.isfinite(out)]
        if finite.size:
            scale = max(scale, float(np.abs(finite).max()))
    tolerance = ADDITIVITY_RTOL * scale
    return Additivity(max_error=worst, tolerance=tolerance, failed=not worst <= tolerance)


def assemble(
    values: np.ndarray,
    base: np.ndarray,
    outputs: np.ndarray,
    *,
    index: pd.Index,
    features: list[str],
    targets: list[str],
) -> tuple[dict[str, pd.DataFrame], dict[str, float], dict[str, pd.Series]]:
    """(n, f, k) values, (n, k) base and (n, k) outputs -> per-target frames, floats and series."""
    frames: dict[str, pd.DataFrame] = {}
    bases: dict[str, float] = {}
    outs: dict[str, pd.Series] = {}
    for j, target in enumerate(targets):
        frames[target] = pd.DataFrame(values[:, :, j], index=index, columns=features)
        bases[target] = float(np.mean(base[:, j])) if len(base) else float("nan")
        outs[target] = pd.Series(outputs[:, j], index=index, name=target, dtype=float)
    return frames, bases, outs


def build_explanation(
    values: np.ndarray,
    base: np.ndarray,
    outputs: np.ndarray,
    *,
    explained: pd.DataFrame,
    n_requested: int,
    output: str,
    method: str,
    targets: list[str],
    class_labels: dict[str, Any],
    features: list[str],
    stopped: bool,
    seconds: float,
    notes: list[str],
    workers: int = 1,
) -> Explanation:
    """One model's Explanation from (n, f, k) values, (n, k) base and (n, k) outputs of the `explained` rows (in
    their order), as both engines build it: per-target frames, the additivity check, a note when stopped early."""
    frames, bases, outs = assemble(values, base, outputs, index=explained.index, features=features, targets=targets)
    if stopped:
        notes.append(f"Stopped early: {len(explained)} of {n_requested} rows explained.")
    return Explanation(
        values=frames,
        base_values=bases,
        outputs=outs,
        output=output,
        method=method,
        targets=targets,
        class_labels=class_labels,
        features=features,
        X=explained,
        additivity=check_additivity(frames, bases, outs),
        n_requested=n_requested,
        stopped=stopped,
        seconds=seconds,
        notes=notes,
        workers=workers,
    )
