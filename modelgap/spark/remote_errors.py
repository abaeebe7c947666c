"""Carry modelgap's one-line errors from Spark executors back to the driver.

An executor raising DataError would reach the driver as a PythonException holding a Python and a JVM stack
trace. Code that runs on executors wraps its work in `carried()`, which re-raises our errors as a RuntimeError
whose message is a marked line; `decode` finds that line in the driver-side exception and rebuilds the error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

from modelgap import errors

MARK = "MODELGAP_ERROR::"
_FOUND = re.compile(re.escape(MARK) + r"(\{.*?\})::END")


@contextmanager
def carried() -> Iterator[None]:
    """Run executor code; a ModelgapError leaves as a RuntimeError with a marked, JSON-encoded line."""
    try:
        yield
    except errors.ModelgapError as err:
        payload = json.dumps({"kind": type(err).__name__, "problem": err.problem, "hint": err.hint})
        raise RuntimeError(f"{MARK}{payload}::END") from None


def decode(exc: BaseException) -> errors.ModelgapError | None:
    """The ModelgapError an executor raised inside `carried()`, or None when the failure was something else."""
    match = _FOUND.search(str(exc))
    if match is None:
        return None
    try:
        payload = json.loads(match.group(1))
    except ValueError:
        return None
    kind = getattr(errors, str(payload.get("kind")), errors.ModelgapError)
    if not (isinstance(kind, type) and issubclass(kind, errors.ModelgapError)):
        kind = errors.ModelgapError
    return kind(str(payload.get("problem", "")), str(payload.get("hint", "")))
