"""`python -m modelgap signoff ...`: sign a report, list a candidate's sign-offs, or require a decision (CI).

    signoff --report FILE --decision approve|reject|needs-changes [--comment] [--reviewer] [--role]
    signoff --list SOURCE [--json FILE]
    signoff --require approve SOURCE [--json FILE]

Exit codes: 0 done (for --require: the newest sign-off still bound to the models as they are has the
required decision); 1 --require not met; 2 bad input, a stale report, or MLflow refused: one line on stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from modelgap.errors import ModelgapError
from modelgap.signoff.record import DECISIONS, MAX_COMMENT

__all__ = ["add_parser", "run"]

EXIT_OK, EXIT_NOT_MET = 0, 1
_STATUS_WORDS = {"current": "current", "stale": "STALE", "unknown": "unchecked"}


def add_parser(sub: Any) -> None:
    """Register `signoff` on the main parser's subcommands (cli.py calls this)."""
    p = sub.add_parser("signoff", help="record or check a release sign-off on the repo model in MLflow")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--report", metavar="FILE", help="sign this JSON report (compare --json)")
    mode.add_argument("--list", dest="list_source", metavar="SOURCE", help="print the sign-offs of a candidate")
    mode.add_argument(
        "--require", choices=DECISIONS, help="exit 0 only if SOURCE's newest sign-off that still matches has this"
    )
    p.add_argument("source", nargs="?", help="the candidate, with --require (a models:/ or runs:/ source, a folder)")
    p.add_argument("--decision", choices=DECISIONS, help="with --report: the decision")
    p.add_argument("--comment", default="", help=f"with --report: why (at most {MAX_COMMENT} characters)")
    p.add_argument("--reviewer", help="with --report: who decides (default: MLFLOW_TRACKING_USERNAME, else OS user)")
    p.add_argument("--role", help="with --report: the reviewer's role (e.g. manager, data-engineer)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI)")
    p.add_argument("--json", dest="json_path", metavar="FILE", help="with --list/--require: write the history here")


def run(args: argparse.Namespace) -> int:
    from modelgap.sources.credentials import allow_in_this_process

    allow_in_this_process(tracking_uri=args.tracking_uri)  # the URI the user typed may get their credentials
    if args.report:
        return _sign(args)
    if args.json_path and not Path(args.json_path).expanduser().resolve().parent.is_dir():
        raise ModelgapError(f"The folder for --json {args.json_path} does not exist.", "Create it or pick another.")
    if args.list_source:
        return _list(args)
    if not args.source:
        raise ModelgapError("--require needs the candidate SOURCE.", "Run: signoff --require approve SOURCE")
    return _require(args)


def _sign(args: argparse.Namespace) -> int:
    from modelgap.signoff.actions import default_reviewer, sign
    from modelgap.signoff.verify import read_report_file

    if not args.decision:
        raise ModelgapError("--report needs --decision.", f"Add --decision {' | '.join(DECISIONS)}.")
    if args.source or args.json_path:
        raise ModelgapError("--report takes no SOURCE and no --json.", "The candidate is the report's repo model.")
    report = read_report_file(args.report)
    signed = sign(
        report,
        decision=args.decision,
        reviewer=args.reviewer if args.reviewer is not None else default_reviewer(),
        role=args.role,
        comment=args.comment,
        tracking_uri=args.tracking_uri,
    )
    r = signed.record
    print(
        f"Recorded {r.decision} by {_who(r.reviewer, r.role)} on {signed.candidate.label} as tag {signed.key} "
        f"(report {r.report_sha256[:12]}…, verdict {r.verdict}, against {r.deployed_source})."
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from modelgap.signoff.actions import review

    result = review(args.list_source, tracking_uri=args.tracking_uri)
    _write_json(args.json_path, result.to_dict())
    print(f"Sign-offs of {args.list_source} ({result.candidate.label}), newest first:")
    entries = result.entries()
    if not entries:
        print("  none")
    for _key, r, status in entries:
        comment = f'  "{_one_line(r.comment)}"' if r.comment else ""
        print(
            f"  {r.at}  {r.decision:<13} {_who(r.reviewer, r.role)}  [{_STATUS_WORDS[status]}]  "
            f"verdict {r.verdict} against {r.deployed_source}  report {r.report_sha256[:12]}…{comment}"
        )
    if result.candidate_error:
        print(f"  (not checked against the models now: {result.candidate_error})")
    if result.history.unreadable:
        print(f"  ({len(result.history.unreadable)} tag(s) under modelgap.signoff. are not sign-offs; ignored)")
    for check in result.checks:
        print(
            f"Check logged with --log-to-mlflow on run {check.run_id}: {check.at}  verdict {check.verdict} "
            f"against {check.compared_with}"
        )
    return EXIT_OK


def _require(args: argparse.Namespace) -> int:
    from modelgap.signoff.actions import require

    ok, message, result = require(args.source, args.require, tracking_uri=args.tracking_uri)
    _write_json(args.json_path, {**result.to_dict(), "required": args.require, "met": ok})
    print(message)
    return EXIT_OK if ok else EXIT_NOT_MET


def _write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).expanduser().write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _who(reviewer: str, role: str | None) -> str:
    return f"{reviewer} ({role})" if role else reviewer


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
