"""What the Markdown and HTML reports say about the `retraining` section, as plain (unescaped) strings.

Like `content` and `evidence`, it reads the JSON form of a comparison, so a saved report renders again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelgap.readiness.base import number, pct

STATUS_WORDS = {
    "reproduced": "reproduced",
    "within_noise": "within retraining noise",
    "differs": "differs from its recipe",
    "not_retrainable": "not retrainable",
}


@dataclass
class RetrainingFacts:
    sides: list[tuple[str, str, str, str]]  # (label, status words, method, reason)
    noise: str  # one sentence on the noise floor
    excess: str | None  # "The repo model differs 3.3x more than retraining noise."
    notes: list[str]


def retraining_facts(report: Mapping[str, Any]) -> RetrainingFacts | None:
    section = report.get("retraining")
    if not isinstance(section, Mapping):
        return None
    sides = []
    for side, label in (("deployed", "Deployed model"), ("repo", "Repo model")):
        s = section.get(side)
        if isinstance(s, Mapping):
            status = str(s.get("status") or "unknown")
            method, reason = str(s.get("method") or ""), str(s.get("reason") or "")
            sides.append((label, STATUS_WORDS.get(status, status), method, reason))
    return RetrainingFacts(
        sides=sides,
        noise=noise_sentence(section.get("noise")),
        excess=excess_sentence(section),
        notes=[str(n) for n in section.get("notes") or []],
    )


def noise_sentence(noise: Any) -> str:
    if not isinstance(noise, Mapping):
        return "Retraining noise: unknown."
    rate = number(noise.get("disagreement_rate"))
    if rate is None:
        reason = str(noise.get("reason") or "no recipe could be refitted").rstrip(".")
        return f"Retraining noise: unknown ({reason})."
    seeds, side = noise.get("seeds"), noise.get("side")
    top = number(noise.get("disagreement_rate_max"))
    band = f", up to {pct(top)}" if top is not None and top > rate else ""
    return (
        f"Retraining noise: {seeds} refits of the {side} model's recipe with different seeds disagree with each "
        f"other on {pct(rate)} of rows on average{band}."
    )


def excess_sentence(section: Mapping[str, Any]) -> str | None:
    excess = number(section.get("excess"))
    rate = number(section.get("repo_vs_deployed_rate"))
    if excess is not None:
        return f"The repo model differs {excess:.3g}x more from the deployed model than retraining noise."
    noise = number((section.get("noise") or {}).get("disagreement_rate"))
    if noise == 0 and rate is not None and rate > 0:
        return f"Retraining with other seeds changes nothing: all of the {pct(rate)} disagreement is real."
    return None
