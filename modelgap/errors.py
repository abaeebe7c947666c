"""One error hierarchy: every failure the user can fix is a ModelgapError with a hint."""

from __future__ import annotations


class ModelgapError(Exception):
    """A problem the user can act on. `str(err)` is one line: the problem, then the fix."""

    def __init__(self, problem: str, hint: str = "") -> None:
        from modelgap.redact import redact  # every user-facing message passes through it: no credential leaks

        self.problem = redact(" ".join(problem.split()))
        self.hint = redact(" ".join(hint.split()))
        super().__init__(self.one_line())

    def one_line(self) -> str:
        return f"{self.problem} {self.hint}".strip() if self.hint else self.problem


class SourceError(ModelgapError):
    """A model source cannot be parsed, found, trusted or loaded."""


class UntrustedModelError(SourceError):
    """Loading the artifact would run code or types outside the allow-list."""


class TrackingServerError(SourceError):
    """The MLflow tracking server cannot be reached, or refused us."""


class DataError(ModelgapError):
    """The sample data cannot be read or is not usable."""


class SchemaMismatchError(DataError):
    """The sample data does not fit a model's expected input schema."""


class IncompatibleModelsError(ModelgapError):
    """The two models cannot be compared (different tasks, unmatchable classes)."""


class PolicyError(ModelgapError):
    """The readiness policy file is invalid."""


class EndpointError(SourceError):
    """A scoring endpoint failed, timed out or answered something unusable."""
