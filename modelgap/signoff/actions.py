"""The three things one does with sign-offs: sign a report, review a candidate's history, require a decision.

The CLI and the app call these same functions; only `fingerprint_of` (how a source's current SHA-256 is
found) differs between them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelgap.errors import ModelgapError
from modelgap.signoff.record import (
    SignoffError,
    SignoffRecord,
    clean_comment,
    clean_decision,
    clean_name,
    now_utc,
    tag_key,
)
from modelgap.signoff.store import Check, History, read_history, write_record
from modelgap.signoff.target import Candidate, check_not_deployed, resolve_candidate
from modelgap.signoff.verify import (
    FingerprintOf,
    Fingerprints,
    ReportFile,
    Status,
    check_fresh,
    check_version,
    load_fingerprint,
    record_status,
)

__all__ = ["Review", "Signed", "default_reviewer", "require", "review", "sign"]


@dataclass(frozen=True)
class Signed:
    """A sign-off that was written: where, under which tag key, and what."""

    candidate: Candidate
    key: str
    record: SignoffRecord


def default_reviewer() -> str:
    """The MLflow tracking username when one is set (the identity the server sees), else the OS user."""
    import getpass

    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def _tracking_uri(report: ReportFile, tracking_uri: str | None) -> str | None:
    """The URI given, else MLFLOW_TRACKING_URI, else the one the report recorded for the repo model."""
    from modelgap.writeback import writable_tracking_uri

    try:
        return writable_tracking_uri(tracking_uri, report.mlflow("repo").get("tracking_uri"), what="A sign-off")
    except ModelgapError:
        return None  # resolve_candidate says what is missing, after refusing sources that have no run at all


def sign(
    report: ReportFile,
    *,
    decision: str,
    reviewer: str,
    role: str | None = None,
    comment: str | None = None,
    tracking_uri: str | None = None,
    fingerprint_of: FingerprintOf | None = None,
    at: datetime | None = None,
) -> Signed:
    """Record `decision` on the report's repo model: refused when the input is bad, the candidate has no home
    in MLflow or is the deployed model, or either model no longer has the fingerprint the report recorded."""
    clean_decision(decision)  # what a person typed fails first, before any server is asked
    clean_name(reviewer, "reviewer")
    clean_name(role, "role", required=False)
    clean_comment(comment)
    candidate = resolve_candidate(report.source("repo"), _tracking_uri(report, tracking_uri))
    check_not_deployed(candidate, report.mlflow("deployed"))
    check_version(report, candidate.version, candidate.name)
    check_fresh(report, Fingerprints(fingerprint_of or load_fingerprint(candidate.tracking_uri)))
    when = at or now_utc()
    record = SignoffRecord.create(
        decision=decision,
        reviewer=reviewer,
        role=role,
        comment=comment,
        report_sha256=report.sha256,
        repo_sha256=str(report.fingerprint("repo")),
        deployed_sha256=str(report.fingerprint("deployed")),
        repo_source=report.source("repo"),
        deployed_source=report.source("deployed"),
        verdict=report.verdict,
        at=when,
    )
    key = tag_key(when)
    write_record(candidate, key, record)
    return Signed(candidate=candidate, key=key, record=record)


@dataclass
class Review:
    """A candidate's sign-offs, each marked current / stale / unknown, and its logged checks."""

    history: History
    candidate_sha256: str | None
    statuses: dict[str, Status] = field(default_factory=dict)
    candidate_error: str | None = None

    @property
    def candidate(self) -> Candidate:
        return self.history.candidate

    @property
    def checks(self) -> list[Check]:
        return self.history.checks

    def entries(self) -> list[tuple[str, SignoffRecord, Status]]:
        """Sign-offs, newest first."""
        return [(key, rec, self.statuses.get(key, "unknown")) for key, rec in self.history.newest_first()]

    def latest_current(self) -> tuple[str, SignoffRecord] | None:
        """The newest sign-off whose fingerprints match the models now: the decision in force."""
        for key, record, status in self.entries():
            if status == "current":
                return key, record
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.to_dict(),
            "candidate_sha256": self.candidate_sha256,
            "signoffs": [{"key": k, "status": s, **r.to_dict()} for k, r, s in self.entries()],
            "checks": [c.to_dict() for c in self.checks],
            "unreadable_tags": list(self.history.unreadable),
        }


def review(
    source: str,
    *,
    tracking_uri: str | None = None,
    fingerprint_of: FingerprintOf | None = None,
    candidate: Candidate | None = None,
) -> Review:
    """The history of the candidate `source` names, each sign-off checked against the models as they are now."""
    found = candidate or resolve_candidate(source, tracking_uri)
    history = read_history(found)
    current = Fingerprints(_only_registry_sources(source, fingerprint_of or load_fingerprint(found.tracking_uri)))
    result = Review(history=history, candidate_sha256=None)
    try:
        result.candidate_sha256 = current.get(source)
    except ModelgapError as err:
        result.candidate_error = err.one_line()
    for key, record in history.records.items():
        result.statuses[key] = record_status(record, result.candidate_sha256, current)
    return result


def _only_registry_sources(candidate: str, fingerprint_of: FingerprintOf) -> FingerprintOf:
    """Tags are written by other people: the deployed sources they name are re-resolved only from the
    registry or a run (never a local path or a URL taken from a tag); the candidate is the caller's own."""

    def guarded(source: str) -> str | None:
        from modelgap.sources import source_kind

        if source != candidate and source_kind(source) not in ("registry", "run"):
            raise SignoffError(f"{source} is not re-resolved from a sign-off tag (only models:/ and runs:/ are).")
        return fingerprint_of(source)

    return guarded


def require(
    source: str, decision: str, *, tracking_uri: str | None = None, fingerprint_of: FingerprintOf | None = None
) -> tuple[bool, str, Review]:
    """Does the newest sign-off that still matches the models carry `decision`? (ok, one-line reason, review)"""
    wanted = clean_decision(decision)
    result = review(source, tracking_uri=tracking_uri, fingerprint_of=fingerprint_of)
    if result.candidate_error:
        raise ModelgapError(f"Cannot check the sign-offs of {source}: {result.candidate_error}")
    latest = result.latest_current()
    label = result.candidate.label
    if latest is None:
        n = len(result.history.records)
        why = f"{n} sign-off(s), none bound to the models as they are now" if n else "no sign-off"
        return False, f"{label} has {why}; {wanted} required.", result
    _key, record = latest
    who = record.reviewer + (f" ({record.role})" if record.role else "")
    said = f"{label}: {record.decision} by {who} at {record.at}, against {record.deployed_source}"
    if record.decision == wanted:
        return True, f"{said} (report {record.report_sha256[:12]}…).", result
    return False, f"{said}; {wanted} required.", result
