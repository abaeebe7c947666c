"""Small value helpers every layer shares: finite numbers, and other libraries' messages as one short line."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["MESSAGE_CHARS", "number", "one_line"]

MESSAGE_CHARS = 300  # the most of another library's message quoted in one of ours


def number(value: Any) -> float | None:
    """A finite float, or None for anything else (bools, strings, NaN, ±inf). numpy scalars count as numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def one_line(text: object, limit: int = MESSAGE_CHARS) -> str:
    """`text` (an exception, a message) on one line, at most `limit` characters."""
    return " ".join(str(text).split())[:limit]
