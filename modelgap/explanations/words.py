"""Plain words for explanations: what the explained output is, and why one row's output moved between models.

Pure functions on an ExplanationComparison, shared by the app and the reports, so a sentence a manager reads
says the same thing everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelgap.explanations.compare import ExplanationComparison

SAME_OUTPUT = 1e-9  # output changes smaller than this are "the same"
MAIN_SHARE = 0.6  # name features until they cover this share of the change in the direction it moved
MAX_NAMED = 3

_SPACES = {
    "log_odds": "log-odds of class {label}",
    "probability": "probability of class {label}",
    "label": "whether class {label} is predicted (1 = yes)",
}


def output_space_label(output: str, class_label: Any = None) -> str:
    """The explained output in words: "probability of class 1", "log-odds of class 'yes'", "predicted value"."""
    if output == "value" or output not in _SPACES:
        return "predicted value"
    label = "?" if class_label is None else str(class_label)
    return _SPACES[output].format(label=label)


def _signed(value: float) -> str:
    return f"{value:+.3g}"


def main_drivers(changes: dict[str, float], total: float) -> list[tuple[str, float]]:
    """The few features that moved the output most in the direction it moved (largest first)."""
    if total == 0:
        return []
    same = sorted(((f, v) for f, v in changes.items() if v * total > 0), key=lambda fv: -abs(fv[1]))
    pushed = sum(abs(v) for _, v in same)
    named: list[tuple[str, float]] = []
    covered = 0.0
    for f, v in same:
        named.append((f, v))
        covered += abs(v)
        if covered >= MAIN_SHARE * pushed or len(named) >= MAX_NAMED:
            break
    return named


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def row_sentence(c: ExplanationComparison, row: Any) -> str:
    """One sentence: how much the repo model's output differs from the deployed one's on `row`, and why."""
    s = c.row_summary(row)
    what = output_space_label(c.output, c.class_label)
    change = s["output_change"]
    outputs = f"{s['repo_output']:.3g} vs {s['deployed_output']:.3g}"
    if abs(change) < SAME_OUTPUT:
        return f"On row {row} both models give the same {what} ({s['repo_output']:.3g})."
    direction = "higher" if change > 0 else "lower"
    frame = c.row(row)
    drivers = main_drivers({str(f): float(v) for f, v in frame["change"].items()}, change)
    reasons = [f"{f} ({_signed(v)})" for f, v in drivers]
    base = s["base_change"]
    if abs(base) >= 0.5 * abs(change) and base * change > 0:
        reasons.append(f"a different starting point (base value {_signed(base)})")
    because = f", mostly because of {_join(reasons)}" if reasons else ""
    return (
        f"On row {row} the repo model's {what} is {abs(change):.3g} {direction} than the deployed model's "
        f"({outputs}){because}."
    )
