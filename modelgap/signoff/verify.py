"""Is a report (or a sign-off) still about the models as they are now?

A report records each model's source string and artifact SHA-256. Re-resolving the sources and comparing
fingerprints tells whether an alias moved or a file changed since: a stale report cannot be signed, and a
sign-off whose fingerprints no longer match is shown as stale. Fingerprints come from `fingerprint_of`,
which the CLI backs with `modelgap.sources.load_model` and the app with its own loader (same trust rules).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modelgap.errors import ModelgapError
from modelgap.signoff.record import SignoffError, SignoffRecord
from modelgap.values import one_line

__all__ = [
    "FingerprintOf",
    "Fingerprints",
    "ReportFile",
    "check_fresh",
    "check_version",
    "load_fingerprint",
    "read_report",
    "read_report_file",
    "record_status",
]

FingerprintOf = Callable[[str], "str | None"]
Status = Literal["current", "stale", "unknown"]
MAX_REPORT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class ReportFile:
    """A modelgap JSON report: its exact bytes (what the sign-off's report_sha256 binds) and its content."""

    sha256: str
    data: dict[str, Any]
    name: str = "the report"

    def side(self, side: str) -> dict[str, Any]:
        value = self.data.get(side)
        return value if isinstance(value, dict) else {}

    def source(self, side: str) -> str:
        return str(self.side(side).get("source") or "")

    def fingerprint(self, side: str) -> str | None:
        value = self.side(side).get("sha256")
        return str(value) if value else None

    def mlflow(self, side: str) -> dict[str, Any]:
        value = self.side(side).get("mlflow")
        return value if isinstance(value, dict) else {}

    @property
    def verdict(self) -> str:
        verdict = self.data.get("verdict")
        return str(verdict.get("status", "not computed")) if isinstance(verdict, dict) else "not computed"


def read_report(raw: bytes, name: str = "the report") -> ReportFile:
    """Check that `raw` is a modelgap report of the schema this version reads, with both models' fingerprints."""
    from modelgap.report import SCHEMA_VERSION

    hint = "Give the JSON report that `python -m modelgap compare --json FILE` wrote (or the app's JSON download)."
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignoffError(f"{name} is not JSON, so it is not a modelgap report.", hint) from exc
    if not isinstance(data, dict) or "schema_version" not in data or not isinstance(data.get("repo"), dict):
        raise SignoffError(f"{name} is JSON but not a modelgap report (no schema_version, repo, deployed).", hint)
    if data["schema_version"] != SCHEMA_VERSION:
        raise SignoffError(
            f"{name} has schema_version {data['schema_version']!r}; this modelgap reads {SCHEMA_VERSION}.",
            "Compare again with this version of modelgap and sign the new report.",
        )
    report = ReportFile(sha256=hashlib.sha256(raw).hexdigest(), data=data, name=name)
    for side in ("repo", "deployed"):
        if not report.source(side):
            raise SignoffError(f"{name} names no {side} model source.", hint)
        if not report.fingerprint(side):
            raise SignoffError(
                f"{name} has no SHA-256 for the {side} model ({report.source(side)}: a scoring endpoint is a "
                "black box), so a sign-off could not be bound to it.",
                "Compare with the registry entry or artifact it serves (models:/..., a path) and sign that report.",
            )
    return report


def read_report_file(path: str | Path) -> ReportFile:
    file = Path(path).expanduser()
    try:
        if file.stat().st_size > MAX_REPORT_BYTES:
            raise SignoffError(f"{path} is larger than any modelgap report.", "Give the JSON report.")
        raw = file.read_bytes()
    except OSError as exc:
        raise SignoffError(f"Cannot read the report {path} ({exc.strerror or exc}).", "Check the path.") from exc
    return read_report(raw, name=f"The report {path}")


def load_fingerprint(tracking_uri: str | None) -> FingerprintOf:
    """The CLI's fingerprints: load the source as `compare` does and take its artifact SHA-256."""

    def fingerprint_of(source: str) -> str | None:
        from modelgap.sources import load_model

        return load_model(source, tracking_uri=tracking_uri).metadata.sha256

    return fingerprint_of


class Fingerprints:
    """Memoised current fingerprints: each source is resolved at most once per command or page view."""

    def __init__(self, fingerprint_of: FingerprintOf) -> None:
        self._fingerprint_of = fingerprint_of
        self._seen: dict[str, str | ModelgapError | None] = {}

    def get(self, source: str) -> str | None:
        """The current SHA-256 of `source`; ModelgapError (kept and raised again) when it cannot be resolved."""
        if source not in self._seen:
            try:
                self._seen[source] = self._fingerprint_of(source)
            except ModelgapError as err:
                self._seen[source] = err
            except Exception as exc:  # noqa: BLE001 - kept as "cannot resolve", raised as one line
                text = one_line(exc)
                self._seen[source] = ModelgapError(f"Cannot resolve {source}: {type(exc).__name__}: {text}")
        value = self._seen[source]
        if isinstance(value, ModelgapError):
            raise value
        return value


def check_fresh(report: ReportFile, current: Fingerprints) -> None:
    """Refuse a report whose models moved since: both sources must still have the recorded fingerprints."""
    for side in ("repo", "deployed"):
        source, recorded = report.source(side), report.fingerprint(side)
        now = current.get(source)
        if now != recorded:
            raise SignoffError(
                f"The report is stale: the {side} model {source} now has SHA-256 {_short(now)}, the report "
                f"recorded {_short(recorded)} (an alias moved or a file changed since it was written).",
                "Compare again and sign the new report.",
            )


def check_version(report: ReportFile, version: str | None, name: str | None) -> None:
    """A registry alias must still name the version the report compared (its files may be byte-identical)."""
    recorded = report.mlflow("repo")
    if version is None or not recorded.get("version"):
        return
    if (str(recorded.get("version")), recorded.get("registered_name")) != (version, name):
        raise SignoffError(
            f"The report is stale: {report.source('repo')} named {recorded.get('registered_name')} version "
            f"{recorded.get('version')} when it was compared, and names version {version} now.",
            "Compare again and sign the new report.",
        )


def record_status(record: SignoffRecord, candidate_sha256: str | None, current: Fingerprints) -> Status:
    """current: both fingerprints match the models now; stale: one moved; unknown: one cannot be resolved."""
    if candidate_sha256 is None:
        return "unknown"
    if record.repo_sha256 != candidate_sha256:
        return "stale"
    try:
        deployed_now = current.get(record.deployed_source)
    except ModelgapError:
        return "unknown"
    return "current" if deployed_now == record.deployed_sha256 else "stale"


def _short(sha: str | None) -> str:
    return f"{sha[:12]}…" if sha else "none"
