"""Sign-off tags in MLflow: one write per sign-off (a single tag, so nothing is ever half-written), and reads
of the candidate's sign-offs and of the verdicts `--log-to-mlflow` recorded on its run.

Every call goes through `modelgap.sources.tracking.client_for` (lean timeouts, a down server fails in
seconds); a refusal by the server names the missing permission instead of MLflow's raw error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from modelgap.errors import ModelgapError, TrackingServerError
from modelgap.redact import redact_uri
from modelgap.signoff.record import TAG_PREFIX, SignoffError, SignoffRecord
from modelgap.signoff.target import Candidate

__all__ = ["Check", "History", "read_history", "write_record"]


@dataclass(frozen=True)
class Check:
    """A verdict logged with `compare --log-to-mlflow` on one of the candidate's runs (writeback's tags)."""

    run_id: str
    verdict: str
    compared_with: str
    compared_with_sha256: str
    at: str
    failed_checks: str = ""
    warned_checks: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class History:
    """Everything recorded about one candidate: sign-offs (tag key -> record) and logged checks."""

    candidate: Candidate
    records: dict[str, SignoffRecord] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # tags under our prefix that are not records

    def newest_first(self) -> list[tuple[str, SignoffRecord]]:
        return sorted(self.records.items(), key=lambda item: item[0], reverse=True)


def write_record(candidate: Candidate, key: str, record: SignoffRecord) -> None:
    """Set the one tag `key` on the candidate's registry version or run."""
    from modelgap.sources.tracking import client_for

    client = client_for(candidate.tracking_uri)
    existing = _tags(client, candidate)
    if key in existing:  # two sign-offs in the same microsecond: never overwrite a record
        raise SignoffError(f"A sign-off {key} already exists on {candidate.label}.", "Sign again.")
    try:
        if candidate.kind == "version":
            client.set_model_version_tag(candidate.name, candidate.version, key, record.to_json())
        else:
            client.set_tag(candidate.run_id, key, record.to_json())
    except Exception as exc:
        raise write_error(exc, candidate) from exc


def read_history(candidate: Candidate) -> History:
    """The candidate's sign-off tags, and the verdict tags written by `--log-to-mlflow` on its run."""
    from modelgap.sources.tracking import client_for
    from modelgap.writeback import TAG_PREFIX as CHECK_PREFIX

    client = client_for(candidate.tracking_uri)
    history = History(candidate=candidate)
    for key, value in _tags(client, candidate).items():
        if not key.startswith(TAG_PREFIX):
            continue
        try:
            history.records[key] = SignoffRecord.from_json(value)
        except SignoffError:
            history.unreadable.append(key)
    if candidate.run_id:
        try:
            run_tags = client.get_run(candidate.run_id).data.tags
        except Exception:  # noqa: BLE001 - a deleted run leaves the version's sign-offs readable
            run_tags = {}
        verdict = run_tags.get(CHECK_PREFIX + "verdict")
        if verdict:
            history.checks.append(
                Check(
                    run_id=candidate.run_id,
                    verdict=verdict,
                    compared_with=run_tags.get(CHECK_PREFIX + "compared_with", "unknown"),
                    compared_with_sha256=run_tags.get(CHECK_PREFIX + "compared_with_sha256", "unknown"),
                    at=run_tags.get(CHECK_PREFIX + "compared_at", ""),
                    failed_checks=run_tags.get(CHECK_PREFIX + "failed_checks", ""),
                    warned_checks=run_tags.get(CHECK_PREFIX + "warned_checks", ""),
                )
            )
    return history


def _tags(client: Any, candidate: Candidate) -> dict[str, str]:
    from modelgap.sources.tracking import mlflow_error

    try:
        if candidate.kind == "version":
            return dict(client.get_model_version(candidate.name, candidate.version).tags or {})
        return dict(client.get_run(candidate.run_id).data.tags or {})
    except Exception as exc:
        raise mlflow_error(exc, candidate.label, candidate.tracking_uri) from exc


def write_error(exc: Exception, candidate: Candidate) -> ModelgapError:
    """A failed write in words: which permission is missing, or that the server went away."""
    if isinstance(exc, ModelgapError):
        return exc
    code = str(getattr(exc, "error_code", ""))
    text = " ".join(str(exc).split())
    uri = redact_uri(candidate.tracking_uri)
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    who = f"The MLflow user {user!r}" if user else "The MLflow user"
    if "PERMISSION_DENIED" in code or " 403" in text or "Permission denied" in text:
        return TrackingServerError(
            f"{who} has no write permission on {candidate.label} at {uri}; nothing was recorded.",
            "Ask an MLflow admin for EDIT permission on it, or sign as a user who has it.",
        )
    if "UNAUTHENTICATED" in code or " 401" in text:
        return TrackingServerError(
            f"The MLflow tracking server at {uri} refused the credentials; nothing was recorded.",
            "Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN.",
        )
    if "Max retries" in text or "Connection" in text or "timed out" in text.lower():
        return TrackingServerError(
            f"Lost the MLflow tracking server at {uri} while recording the sign-off on {candidate.label}.",
            "Check the server, then list the sign-offs (signoff --list) before signing again.",
        )
    return TrackingServerError(
        f"MLflow refused the sign-off on {candidate.label}: {text[:200].rstrip('.')}.",
        "Check that you may write to it (MLflow permissions).",
    )
