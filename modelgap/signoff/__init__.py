"""Release sign-off: who approved which comparison, recorded as a tag where the candidate model lives.

A sign-off binds a decision (approve / reject / needs-changes) to the exact report bytes and both models'
fingerprints, as the tag `modelgap.signoff.<UTC timestamp>` on the repo model's registry version or run.
"""

from __future__ import annotations

from modelgap.signoff.actions import Review, Signed, default_reviewer, require, review, sign
from modelgap.signoff.record import DECISIONS, MAX_COMMENT, TAG_PREFIX, SignoffError, SignoffRecord, clean_name
from modelgap.signoff.store import Check, History
from modelgap.signoff.target import Candidate, resolve_candidate
from modelgap.signoff.verify import FingerprintOf, ReportFile, read_report, read_report_file

__all__ = [
    "DECISIONS",
    "MAX_COMMENT",
    "TAG_PREFIX",
    "Candidate",
    "Check",
    "FingerprintOf",
    "History",
    "ReportFile",
    "Review",
    "Signed",
    "SignoffError",
    "SignoffRecord",
    "clean_name",
    "default_reviewer",
    "read_report",
    "read_report_file",
    "require",
    "resolve_candidate",
    "review",
    "sign",
]
