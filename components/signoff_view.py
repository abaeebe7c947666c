"""Release sign-off in the app: the candidate's timeline (sign-offs and logged checks) and a form that signs
exactly the comparison on screen, i.e. the JSON report the page offers for download.

The reviewer is never typed into a text box. It comes from `st.user` when the operator configured login
(`st.login`, OIDC in .streamlit/secrets.toml), else from a header set by an authenticating reverse proxy
(named by MODELGAP_TRUSTED_USER_HEADER, off by default: the proxy must strip it from clients' requests),
else, on the demo workspace only, "demo reviewer". Without identity the form says how to enable it.
Nothing is written to MLflow except when the form's button is pressed.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import compute
from components.cache import LIST_TTL_S
from components.config import app_trust, demo_dir
from components.state import ComparisonSpec
from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.redact import log_exception, redact
from modelgap.report.markdown import md, md_code
from modelgap.signoff import (
    DECISIONS,
    MAX_COMMENT,
    Candidate,
    History,
    SignoffRecord,
    clean_name,
    read_report,
    resolve_candidate,
    sign,
)
from modelgap.signoff.store import read_history
from modelgap.signoff.verify import FingerprintOf, Fingerprints, Status, record_status
from modelgap.sources import load_model, source_kind
from modelgap.values import one_line

LOG = logging.getLogger("modelgap.app")
HEADER_ENV = "MODELGAP_TRUSTED_USER_HEADER"
DEMO_REVIEWER = "demo reviewer"
HISTORY_TTL_S = LIST_TTL_S
MAX_OTHER_SOURCES = 3  # deployed models other than the one on screen, loaded to check old sign-offs
KEY = "modelgap.signoff."
DECISION_WORDS = {"approve": "Approve", "reject": "Reject", "needs-changes": "Needs changes"}
DECISION_COLORS = {"approve": "#1E8E3E", "reject": "#C5221F", "needs-changes": "#B06000"}
STATUS_WORDS = {
    "current": "current",
    "stale": "stale: a model changed since",
    "unknown": "not checked",
}


# ------------------------------------------------------------------ identity


@dataclass(frozen=True)
class Identity:
    """Who signs, and how the app knows it (login, header, demo), or why it does not (`problem`)."""

    name: str | None
    via: str | None = None
    problem: str | None = None


def identity_from(
    user: Mapping[str, Any], headers: Mapping[str, str] | None, header_name: str | None, demo: bool
) -> Identity:
    """The reviewer from st.user (logged in), else the trusted header, else the demo's label, else nobody."""
    if user.get("is_logged_in") is True:
        name = next((str(user[k]) for k in ("email", "name", "preferred_username", "sub") if user.get(k)), None)
        return _checked(name, "login", "the login (st.user)")
    if header_name:
        value = (headers or {}).get(header_name)
        if value:
            return _checked(value, "header", f"the {header_name} header")
    if demo:
        return Identity(DEMO_REVIEWER, "demo")
    missing = f" The {header_name} header was not in this request." if header_name else ""
    return Identity(None, problem=f"This app does not know who you are, so it cannot record a sign-off.{missing}")


def _checked(value: str | None, via: str, what: str) -> Identity:
    try:
        return Identity(clean_name(value, "reviewer"), via)
    except ModelgapError as err:
        return Identity(None, problem=f"The reviewer from {what} is refused: {err.problem}")


def is_demo(spec: ComparisonSpec | None) -> bool:
    """The comparison reads the demo workspace's registry (the built-in demo, not a real one)."""
    from modelgap.demo import load_demo

    ws = load_demo(demo_dir())
    return ws is not None and spec is not None and (spec.tracking_uri or "") == ws.tracking_uri


def current_identity(spec: ComparisonSpec | None) -> Identity:
    try:
        user = st.user.to_dict()
    except Exception:  # noqa: BLE001 - no auth configured: treat as anonymous
        user = {}
    header = os.environ.get(HEADER_ENV, "").strip() or None
    headers = st.context.headers if header else None
    return identity_from(user, headers, header, is_demo(spec))


# ------------------------------------------------------------------ reading (cached briefly, never errors)


@st.cache_data(ttl=HISTORY_TTL_S, max_entries=32, show_spinner=False)
def _history(source: str, tracking_uri: str | None) -> History:
    """The candidate's sign-offs and logged checks; shared by sessions (the server's MLflow credentials)."""
    return read_history(resolve_candidate(source, tracking_uri))


def _fingerprints(comparison: Comparison, spec: ComparisonSpec) -> Fingerprints:
    """Current fingerprints for old sign-offs: the models on screen, and a few other registry sources."""
    shown = {comparison.repo.source: comparison.repo.metadata.sha256}
    shown[comparison.deployed.source] = comparison.deployed.metadata.sha256
    others: list[str] = []

    def fingerprint_of(source: str) -> str | None:
        if source in shown:
            return shown[source]
        if source_kind(source) not in ("registry", "run"):
            raise ModelgapError(f"{source} is not checked here.")
        others.append(source)
        if len(others) > MAX_OTHER_SOURCES:
            raise ModelgapError(f"{source} is not checked here (too many deployed models).")
        return compute.load_model_cached(source, spec.tracking_uri, app_trust()).metadata.sha256

    return Fingerprints(fingerprint_of)


def _fresh_fingerprint(spec: ComparisonSpec) -> FingerprintOf:
    """Before writing: load the sources again, past the shared cache, under the app's trust rules."""

    def fingerprint_of(source: str) -> str | None:
        return load_model(source, tracking_uri=spec.tracking_uri, trust=app_trust()).metadata.sha256

    return fingerprint_of


# ------------------------------------------------------------------ the Report page


def panel(comparison: Comparison, spec: ComparisonSpec | None, report_json: str) -> None:
    """Timeline of the candidate, then the form. `report_json` is the JSON download's text: its UTF-8 bytes
    are exactly what the download button serves, so the record binds what a reviewer can download."""
    if spec is None:
        return
    try:
        history = _history(spec.repo, spec.tracking_uri)
    except ModelgapError as err:
        st.info(err.one_line(), icon=":material/info:")
        if is_demo(spec):
            _demo_hint(spec)
        return
    except Exception as exc:  # noqa: BLE001 - shown and logged; the rest of the page keeps working
        _unexpected(exc, "Reading sign-offs failed")
        return
    timeline = st.container()
    signed = _form(comparison, spec, history.candidate, report_json)
    if signed:
        _history.clear()
        history = _history(spec.repo, spec.tracking_uri)
    with timeline:
        _timeline(history, comparison, spec)


def _demo_hint(spec: ComparisonSpec) -> None:
    from modelgap.demo import MODEL_NAME

    challenger = f"models:/{MODEL_NAME}@challenger"
    if spec.repo != challenger:
        st.page_link(
            "pages/report.py",
            label="Try sign-off on the demo's registered challenger (the same model, logged to MLflow)",
            icon=":material/arrow_forward:",
            query_params={**spec.to_params(), "repo": challenger},
        )


def _form(comparison: Comparison, spec: ComparisonSpec, candidate: Candidate, report_json: str) -> bool:
    """The sign-off form; True when a sign-off was written in this run."""
    identity = current_identity(spec)
    with st.form(KEY + "form", border=True):
        st.markdown(
            f"Signs **this comparison** (the JSON report offered above) and records it as a tag on "
            f"{md(candidate.label)}. Nothing is written to the deployed model."
        )
        if identity.via == "demo":
            st.warning(
                f"Demo workspace: signing as **{DEMO_REVIEWER}**, a label for trying the flow, not a person.",
                icon=":material/theater_comedy:",
            )
        elif identity.name:
            st.markdown(f"Signing as {md_code(identity.name)} (from the {identity.via}).")
        else:
            st.info(f"{identity.problem} {_how_to_enable()}", icon=":material/badge:")
        decision = st.selectbox(
            "Decision",
            DECISIONS,
            index=None,
            format_func=lambda d: DECISION_WORDS.get(d, d),
            placeholder="Choose a decision",
            key=KEY + "decision",
        )
        role = st.text_input("Your role (optional)", key=KEY + "role", max_chars=100, placeholder="e.g. manager")
        comment = st.text_area("Comment", key=KEY + "comment", max_chars=MAX_COMMENT, placeholder="Why?")
        pressed = st.form_submit_button(
            "Record sign-off",
            key=KEY + "submit",
            type="primary",
            icon=":material/approval:",
            disabled=identity.name is None,
        )
    if not pressed or identity.name is None:
        return False
    if decision is None:
        st.error("Choose a decision before recording the sign-off.", icon=":material/error:")
        return False
    try:
        with st.spinner("Checking that both models are still the ones compared, then recording…"):
            signed = sign(
                read_report(report_json.encode("utf-8"), name="The report on screen"),
                decision=str(decision),
                reviewer=identity.name,
                role=role or None,
                comment=comment,
                tracking_uri=spec.tracking_uri,
                fingerprint_of=_fresh_fingerprint(spec),
            )
    except ModelgapError as err:
        st.error(err.one_line(), icon=":material/error:")
        return False
    except Exception as exc:  # noqa: BLE001 - shown and logged; the form keeps its values
        _unexpected(exc, "Recording a sign-off failed")
        return False
    st.success(
        f"Recorded {DECISION_WORDS[signed.record.decision]} by {md_code(signed.record.reviewer)} on "
        f"{md(signed.candidate.label)} (tag `{signed.key}`).",
        icon=":material/check_circle:",
    )
    return True


def _unexpected(exc: Exception, what: str) -> None:
    log_exception(LOG, what)
    st.error(redact(f"Unexpected {type(exc).__name__}: {one_line(exc)}"), icon=":material/error:")


def _how_to_enable() -> str:
    return (
        "To enable sign-off, the operator configures login (st.login with an OIDC provider in "
        ".streamlit/secrets.toml), or runs the app behind an authenticating reverse proxy and sets "
        f"{HEADER_ENV} to the header it sets (the proxy must strip that header from clients' requests)."
    )


def _timeline(history: History, comparison: Comparison, spec: ComparisonSpec) -> None:
    """Sign-offs and logged checks of the candidate, newest first, stale ones marked."""
    current = _fingerprints(comparison, spec)
    sha = comparison.repo.metadata.sha256
    rows: list[tuple[str, str]] = []
    for key, record in history.records.items():
        rows.append((record.at, _record_row(key, record, record_status(record, sha, current))))
    for check in history.checks:
        rows.append((check.at, _check_row(check.verdict, check.compared_with, check.at, check.run_id)))
    if not rows:
        st.caption(f"No sign-off or logged check on {md(history.candidate.label)} yet.")
        return
    st.caption(f"Sign-offs and logged checks of {md(history.candidate.label)}, newest first.")
    rows.sort(key=lambda item: item[0], reverse=True)
    head = "".join(f"<th>{h}</th>" for h in ("When (UTC)", "What", "Who", "Against", "Status", "Comment"))
    st.markdown(
        f'<table class="mg-signoff-history" style="width:100%"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(row for _, row in rows)}</tbody></table>",
        unsafe_allow_html=True,
    )
    if history.unreadable:
        st.caption(f"{len(history.unreadable)} tag(s) under modelgap.signoff. are not sign-offs and were ignored.")


def _record_row(key: str, record: SignoffRecord, status: Status) -> str:
    e = html.escape
    color = DECISION_COLORS.get(record.decision, "#5F6368")
    who = record.reviewer + (f" ({record.role})" if record.role else "")
    mark = "⚠ " if status == "stale" else ""
    return (
        f'<tr data-kind="signoff" data-key="{e(key)}" data-decision="{e(record.decision)}" data-status="{status}">'
        f"<td>{e(record.at.replace('T', ' ').replace('+00:00', ''))}</td>"
        f'<td><b style="color:{color}">{e(DECISION_WORDS.get(record.decision, record.decision))}</b>'
        f" <small>(verdict {e(record.verdict)})</small></td>"
        f"<td>{e(who)}</td><td><code>{e(record.deployed_source)}</code></td>"
        f"<td>{mark}{e(STATUS_WORDS[status])}</td>"
        f"<td>{e(record.comment)}<br><small>report {e(record.report_sha256[:12])}…</small></td></tr>"
    )


def _check_row(verdict: str, against: str, at: str, run_id: str) -> str:
    e = html.escape
    return (
        f'<tr data-kind="check" data-verdict="{e(verdict)}"><td>{e(at.replace("T", " ").replace("+00:00", ""))}</td>'
        f"<td>Check: verdict <b>{e(verdict)}</b></td><td>compare --log-to-mlflow</td>"
        f"<td><code>{e(against)}</code></td><td>logged on run <code>{e(run_id[:12])}</code></td><td></td></tr>"
    )


# ------------------------------------------------------------------ the Overview


def latest_line(comparison: Comparison, spec: ComparisonSpec | None) -> None:
    """One line next to the verdict: the newest sign-off on the candidate, its reviewer, and whether it still
    applies. Silent when the candidate has no home in MLflow or the registry cannot be read."""
    from components.warmup import tracking_ready

    if spec is None or not tracking_ready():
        return  # a cold server's first view: drawn by the rerun once MLflow is ready (components.warmup)
    try:
        history = _history(spec.repo, spec.tracking_uri)
    except Exception:  # noqa: BLE001 - the Report page shows why; the Overview stays quiet
        return
    newest = history.newest_first()
    if not newest:
        st.caption("No sign-off yet: record one on the Report page.")
        return
    _key, record = newest[0]
    status = record_status(record, comparison.repo.metadata.sha256, _fingerprints(comparison, spec))
    who = record.reviewer + (f" ({record.role})" if record.role else "")
    color = DECISION_COLORS.get(record.decision, "#5F6368")
    st.markdown(
        f'<div class="mg-signoff-latest" data-decision="{html.escape(record.decision)}" data-status="{status}">'
        f'Latest sign-off: <b style="color:{color}">{html.escape(DECISION_WORDS.get(record.decision, ""))}</b> '
        f"by <b>{html.escape(who)}</b> on {html.escape(record.at[:10])}"
        f"{' · ⚠ stale: a model changed since' if status == 'stale' else ''}</div>",
        unsafe_allow_html=True,
    )
