"""The sections of one comparison, in typed fields.

Each section's builder stores its result here (`comparison.sections.predictions = ...`); readers use the
same typed attributes, so renaming a section or its type is a type error, not a silently skipped check.
The JSON report iterates `items()` in the order sections are listed here (the order reports show them).
A name-based view (`get`, `[...]`, `in`) remains for code that handles any section alike (the report).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelgap.data.result import DataComparison
    from modelgap.explanations.compare import ExplanationComparison
    from modelgap.parity import ParityResult
    from modelgap.predictions.metrics import MetricsComparison
    from modelgap.predictions.result import PredictionComparison
    from modelgap.readiness.verdict import Verdict
    from modelgap.retraining.result import RetrainingResult

__all__ = ["SECTION_NAMES", "Sections"]


@dataclass
class Sections:
    """What was built; a section that was not (no data, not asked for, failed) stays None."""

    predictions: PredictionComparison | None = None
    metrics: MetricsComparison | None = None
    explanations: ExplanationComparison | None = None
    parity: ParityResult | None = None
    data: DataComparison | None = None
    retraining: RetrainingResult | None = None
    verdict: Verdict | None = None  # judges every section above: built last

    def items(self) -> Iterator[tuple[str, Any]]:
        """(name, result) of every section that was built, in report order."""
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                yield f.name, value

    def _check(self, name: str) -> None:
        if name not in SECTION_NAMES:
            raise KeyError(f"no section named {name!r} (sections: {', '.join(SECTION_NAMES)})")

    def get(self, name: str, default: Any = None) -> Any:
        self._check(name)
        value = getattr(self, name)
        return default if value is None else value

    def __getitem__(self, name: str) -> Any:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        self._check(name)
        setattr(self, name, value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in SECTION_NAMES and getattr(self, name) is not None

    def pop(self, name: str, default: Any = None) -> Any:
        value = self.get(name, default)
        setattr(self, name, None)
        return value

    def __len__(self) -> int:
        return sum(1 for _ in self.items())


SECTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Sections))
