"""The `retraining` section: was each model rebuilt from its recipe, and how much does retraining alone churn?

`to_dict()` gives the JSON contract (docs/report-format.md): `{repo, deployed: {status, method, reason,
training_data, disagreement_rate, max_abs_diff, seconds, ...}, noise: {side, seeds, disagreement_rate,
max_abs_diff, ...}, excess, ...}`. Keys may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from modelgap.jsonsafe import json_safe

Status = Literal["reproduced", "within_noise", "differs", "not_retrainable"]
Method = Literal["refit", "command"]
STATUSES: tuple[str, ...] = ("reproduced", "within_noise", "differs", "not_retrainable")
STATUS_WORDS = {
    "reproduced": "reproduced",
    "within_noise": "within retraining noise",
    "differs": "differs from its recipe",
    "not_retrainable": "not retrainable",
}


def lower_first(text: str) -> str:
    """A sentence made to continue another ("It is..." -> "it is..."), acronyms kept ("MLflow ...")."""
    text = text.strip()
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


@dataclass
class SideRetraining:
    """One model rebuilt from its recipe (refit of its estimator, or its training command) and compared to it.

    `disagreement_rate` / `max_abs_diff`: the refit against the model on the compared rows (None when nothing
    was refitted). `causes`: differences modelgap can see that may explain `differs`.
    """

    side: str
    status: Status
    method: Method
    reason: str
    training_data: str | None = None
    disagreement_rate: float | None = None
    max_abs_diff: float | None = None
    seconds: float | None = None
    label: str | None = None
    training_rows: int | None = None  # rows the refit was trained on
    training_rows_total: int | None = None  # rows in the training data
    deterministic: bool | None = None  # refitting twice gave the very same predictions
    causes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "method": self.method,
            "reason": self.reason,
            "training_data": self.training_data,
            "disagreement_rate": self.disagreement_rate,
            "max_abs_diff": self.max_abs_diff,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "label": self.label,
            "training_rows": self.training_rows,
            "training_rows_total": self.training_rows_total,
            "deterministic": self.deterministic,
            "causes": list(self.causes),
            "notes": list(self.notes),
        }
        return json_safe(out)


@dataclass
class NoiseFloor:
    """Refits of one recipe with `seeds` different seeds: the churn that retraining alone produces.

    `disagreement_rate` is the mean over every pair of refits; `max_abs_diff` the largest over every pair;
    `rate_min` / `rate_max` bound the pairwise rates (the band a chart draws). `side` is None when no recipe
    could be refitted (then `reason` says why and the numbers are None).
    """

    side: str | None
    seeds: int
    disagreement_rate: float | None = None
    max_abs_diff: float | None = None
    rate_min: float | None = None
    rate_max: float | None = None
    seed_values: list[int] = field(default_factory=list)
    seed_params: list[str] = field(default_factory=list)
    pairs: int = 0
    seconds: float | None = None
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.disagreement_rate is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "side": self.side,
            "seeds": self.seeds,
            "disagreement_rate": self.disagreement_rate,
            "max_abs_diff": self.max_abs_diff,
            "disagreement_rate_min": self.rate_min,
            "disagreement_rate_max": self.rate_max,
            "seed_values": list(self.seed_values),
            "seed_params": list(self.seed_params),
            "pairs": self.pairs,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "reason": self.reason,
        }
        return json_safe(out)


@dataclass
class RetrainingResult:
    """Both sides, the noise floor, and `excess` = repo-vs-deployed disagreement rate / noise rate (None when
    the noise rate is 0 or unknown)."""

    repo: SideRetraining
    deployed: SideRetraining
    noise: NoiseFloor
    excess: float | None
    repo_vs_deployed_rate: float | None = None
    n_rows: int = 0  # compared rows (the sample's uniform rows, capped)
    workers: int = 1
    seconds: float = 0.0
    cancelled: bool = False
    notes: list[str] = field(default_factory=list)

    def side(self, name: str) -> SideRetraining:
        return self.repo if name == "repo" else self.deployed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "repo": self.repo.to_dict(),
            "deployed": self.deployed.to_dict(),
            "noise": self.noise.to_dict(),
            "excess": self.excess,
            "repo_vs_deployed_rate": self.repo_vs_deployed_rate,
            "n_rows": self.n_rows,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
            "notes": list(self.notes),
        }
        return json_safe(out)

    def summary_lines(self) -> list[str]:
        lines = ["Retraining"]
        for s in (self.deployed, self.repo):
            lines.append(f"  {s.side}: {STATUS_WORDS[s.status]} ({s.method}) - {s.reason}")
        n = self.noise
        if n.known:
            assert n.disagreement_rate is not None
            lines.append(
                f"  noise floor ({n.side} recipe, {n.seeds} seeds): {n.disagreement_rate:.2%} of rows differ "
                f"between refits (max abs diff {n.max_abs_diff or 0.0:.4g})"
            )
        else:
            lines.append(f"  noise floor unknown: {n.reason}")
        if self.excess is not None:
            lines.append(f"  the repo model differs {self.excess:.2f}x more than retraining noise")
        lines += [f"  note: {note}" for note in self.notes]
        return lines
