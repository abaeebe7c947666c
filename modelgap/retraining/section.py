"""The `retraining` section builder: runs only when the comparison's options ask for it (`--retrain`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from modelgap.errors import ModelgapError
from modelgap.retraining.run import retrain

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn


def build_retraining(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder: comparison.sections.retraining; nothing is retrained without `options.retrain`."""
    options = comparison.options.retrain
    if options is None or not options.enabled:
        return
    try:
        comparison.sections.retraining = retrain(comparison, options, progress=progress)
    except ModelgapError as err:
        comparison.errors["retraining"] = err.one_line()
    except Exception as exc:  # one section failing must not lose the others; the reason is kept
        if os.environ.get("MODELGAP_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:300]
        comparison.errors["retraining"] = f"unexpected {type(exc).__name__}: {text}"
