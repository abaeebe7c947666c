"""The retraining noise floor: how much refits of one recipe that differ only by their seed disagree.

Every pair of seed refits is compared on the same rows with the predictions section's measures; the floor is
the mean pairwise disagreement rate (and the largest pairwise abs diff). A recipe whose seeds change nothing
(a logistic regression with lbfgs) has a floor of 0: every difference between two models is then real.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from modelgap.retraining.measure import Distance, Outputs, distance
from modelgap.retraining.result import NoiseFloor


def seed_values(n: int, base: int = 0) -> list[int]:
    """The seeds of the noise refits: base, base + 1, ... (recorded in the report so a run can be repeated)."""
    return [base + i for i in range(n)]


def pairwise(outputs: list[Outputs], tolerance: float | None) -> list[Distance]:
    """The distance of every pair of refits (i < j)."""
    return [distance(a, b, tolerance) for a, b in combinations(outputs, 2)]


def noise_floor(
    side: str,
    seeds: list[int],
    params: list[str],
    outputs: list[Outputs],
    tolerance: float | None,
    seconds: float,
) -> NoiseFloor:
    """The floor from the refits that succeeded (`outputs`, in the order of `seeds`)."""
    floor = NoiseFloor(side=side, seeds=len(outputs), seed_values=list(seeds), seed_params=list(params))
    floor.seconds = seconds
    if len(outputs) < 2:
        floor.reason = f"Fewer than two seed refits of the {side} recipe finished ({len(outputs)} of {len(seeds)})."
        return floor
    pairs = pairwise(outputs, tolerance)
    rates = np.array([p.disagreement_rate for p in pairs])
    floor.disagreement_rate = float(rates.mean())
    floor.rate_min, floor.rate_max = float(rates.min()), float(rates.max())
    floor.max_abs_diff = max(p.max_abs_diff for p in pairs)
    floor.pairs = len(pairs)
    if not params:
        floor.reason = f"The {side} recipe has no seed parameter: its refits differ only if its training is random."
    return floor


def unknown_floor(reason: str) -> NoiseFloor:
    """No floor: no recipe could be refitted with seeds (`reason` says why)."""
    return NoiseFloor(side=None, seeds=0, reason=reason)


def excess(rate: float | None, floor: NoiseFloor) -> float | None:
    """repo-vs-deployed disagreement rate / noise rate; None when the noise rate is 0 or unknown."""
    if rate is None or floor.disagreement_rate is None or floor.disagreement_rate <= 0:
        return None
    return rate / floor.disagreement_rate
