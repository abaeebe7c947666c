"""One sign-off: who decided what about which evidence, as the JSON value of one MLflow tag.

The record binds a decision to the exact report (the SHA-256 of its bytes) and to both models' artifact
fingerprints, so a later reader can tell whether the decision still applies to the models as they are now.
Everything a person typed is checked here: decisions from a fixed set, names without control characters,
and a comment short enough that the whole record fits in an MLflow tag value (run tags are cut silently
past their limit, which would break the JSON).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from modelgap.errors import ModelgapError

__all__ = [
    "DECISIONS",
    "MAX_COMMENT",
    "TAG_PREFIX",
    "SignoffError",
    "SignoffRecord",
    "clean_name",
    "tag_key",
]

TAG_PREFIX = "modelgap.signoff."
DECISIONS = ("approve", "reject", "needs-changes")
MAX_COMMENT = 2000
MAX_NAME = 200
MAX_SOURCE = 1000
# Run tags hold 8000 characters on current servers and 5000 on older ones, and are truncated, not refused.
MAX_TAG_VALUE = 5000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_COMMENT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # newlines and tabs allowed
_SHA256 = re.compile(r"[0-9a-f]{64}")


class SignoffError(ModelgapError):
    """A sign-off cannot be recorded or read as asked: bad input, a stale report, nowhere to record it."""


def clean_name(value: str | None, what: str, *, required: bool = True) -> str | None:
    """A reviewer or role as it will be recorded: trimmed, bounded, without control characters (refused,
    not stripped: a name with a hidden character would show as someone else's)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise SignoffError(f"The {what} is empty.", f"Give a {what}.")
        return None
    if _CONTROL.search(text):
        raise SignoffError(
            f"The {what} contains control characters.", f"Give a plain {what} (letters, digits, spaces, @ . -)."
        )
    if len(text) > MAX_NAME:
        raise SignoffError(f"The {what} is {len(text)} characters long.", f"Give at most {MAX_NAME} characters.")
    return text


def clean_comment(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > MAX_COMMENT:
        raise SignoffError(
            f"The comment is {len(text)} characters long; MLflow tag values are limited, so a sign-off keeps at "
            f"most {MAX_COMMENT}.",
            "Shorten it, and link to a longer text (a ticket, a pull request) instead.",
        )
    if _COMMENT_CONTROL.search(text):
        raise SignoffError("The comment contains control characters.", "Use plain text (new lines are fine).")
    return text


def clean_decision(value: str | None) -> str:
    text = (value or "").strip().lower()
    if text not in DECISIONS:
        raise SignoffError(f"Unknown decision {value!r}.", f"Use one of: {', '.join(DECISIONS)}.")
    return text


def now_utc() -> datetime:
    return datetime.now(tz=UTC)


def tag_key(at: datetime) -> str:
    """`modelgap.signoff.<UTC timestamp>`: sortable, unique to the microsecond, valid as an MLflow tag key."""
    return TAG_PREFIX + at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass(frozen=True)
class SignoffRecord:
    """The tag value (DESIGN.md, "Added contracts"). Construct with `create`, read back with `from_json`."""

    decision: str
    reviewer: str
    role: str | None
    comment: str
    report_sha256: str
    repo_sha256: str
    deployed_sha256: str
    repo_source: str
    deployed_source: str
    verdict: str
    at: str  # UTC, ISO 8601

    @classmethod
    def create(
        cls,
        *,
        decision: str,
        reviewer: str,
        role: str | None,
        comment: str | None,
        report_sha256: str,
        repo_sha256: str,
        deployed_sha256: str,
        repo_source: str,
        deployed_source: str,
        verdict: str,
        at: datetime,
    ) -> SignoffRecord:
        """A checked record: every value a person typed is validated, and the JSON fits in one tag."""
        record = cls(
            decision=clean_decision(decision),
            reviewer=str(clean_name(reviewer, "reviewer")),
            role=clean_name(role, "role", required=False),
            comment=clean_comment(comment),
            report_sha256=report_sha256,
            repo_sha256=repo_sha256,
            deployed_sha256=deployed_sha256,
            repo_source=_bounded_source(repo_source, "repo"),
            deployed_source=_bounded_source(deployed_source, "deployed"),
            verdict=verdict,
            at=at.astimezone(UTC).isoformat(timespec="seconds"),
        )
        size = len(record.to_json())
        if size > MAX_TAG_VALUE:
            raise SignoffError(
                f"The sign-off would take {size} characters once encoded; an MLflow tag holds {MAX_TAG_VALUE}.",
                "Shorten the comment.",
            )
        return record

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SignoffRecord:
        """Read a tag value back; anything that is not a well-formed record raises SignoffError."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SignoffError("A sign-off tag is not JSON.", "It was not written by modelgap.") from exc
        if not isinstance(data, dict):
            raise SignoffError("A sign-off tag is not a JSON object.", "It was not written by modelgap.")
        fields: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        fields["comment"] = fields["comment"] if isinstance(fields["comment"], str) else ""
        fields["role"] = fields["role"] if isinstance(fields["role"], str) and fields["role"] else None
        for name in ("repo_source", "deployed_source", "verdict"):
            fields[name] = str(fields[name]) if fields[name] is not None else "unknown"
        record = cls(**fields)
        if record.decision not in DECISIONS or not isinstance(record.reviewer, str) or not isinstance(record.at, str):
            raise SignoffError("A sign-off tag lacks a decision, reviewer or time.", "It was not written by modelgap.")
        for name in ("report_sha256", "repo_sha256", "deployed_sha256"):
            if not isinstance(getattr(record, name), str) or not _SHA256.fullmatch(getattr(record, name)):
                raise SignoffError(f"A sign-off tag has no valid {name}.", "It was not written by modelgap.")
        return record

    @property
    def when(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.at)
        except ValueError:
            return None


def _bounded_source(source: str, side: str) -> str:
    text = str(source)
    if len(text) > MAX_SOURCE:
        raise SignoffError(
            f"The report's {side} source is {len(text)} characters long; a sign-off records at most {MAX_SOURCE}.",
            "Compare with a shorter source string (a registry alias, a relative path).",
        )
    return text
