"""The `retraining` section builder: runs only when the comparison's options ask for it (`--retrain`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelgap.retraining.run import retrain

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn


def build_retraining(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder: comparison.sections.retraining; nothing is retrained without `options.retrain`."""
    options = comparison.options.retrain
    if options is None or not options.enabled:
        return
    comparison.sections.retraining = retrain(comparison, options, progress=progress)  # failures: modelgap.pipeline
