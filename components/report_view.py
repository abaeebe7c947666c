"""The release verdict and what backs it: the verdict panel with links, every check, the policy, serving parity,
the exported reports (rendered once per comparison) and the explicit write-back to MLflow.

The numbers and words come from the core (modelgap.readiness, modelgap.report); this module only lays them out.
Nothing here writes anywhere unless the user ticks the confirmation box and presses the button.
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any

import streamlit as st

from components import cards, state
from components.cache import RESULT_TTL_S
from components.summaries import section_dict
from modelgap.comparison import Comparison
from modelgap.readiness import CHECKS
from modelgap.readiness.base import SEVERITY_ORDER
from modelgap.readiness.policy import DEFAULTS_SOURCE
from modelgap.report.content import check_threshold, check_value
from modelgap.report.markdown import md
from modelgap.words import WARNINGS_SHOWN, checks_with, download_name, plural, relative_paths, verdict_summary

LOG = logging.getLogger("modelgap.app")
REPORT_ENTRIES = 6
TTL_S = RESULT_TTL_S
REPORT_PAGE = "pages/report.py"
# The page that shows the evidence of a check, by the check's `page` (its report section).
PAGES = {
    "parameters": ("pages/parameters.py", "Parameters"),
    "predictions": ("pages/predictions.py", "Predictions"),
    "explanations": ("pages/explanations.py", "Explanations"),
    "data": ("pages/data.py", "Data"),
}
_CHECKS = {c.name: c for c in CHECKS}


def page_for(check: dict[str, Any]) -> tuple[str, str]:
    """(page file, page title) with the evidence of a check; the Report page for anything else (parity)."""
    return PAGES.get(str(check.get("page") or ""), (REPORT_PAGE, "Report"))


def _checks(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [c for c in verdict.get("checks") or [] if isinstance(c, dict)]
    return sorted(rows, key=lambda c: SEVERITY_ORDER.get(str(c.get("status")), len(SEVERITY_ORDER)))


def _style(key: str, css: str) -> None:
    """CSS for the container with `key` (Streamlit gives it the class st-key-<key>)."""
    st.html(f"<style>.st-key-{key}{{{css}}}</style>")


# ------------------------------------------------------------------ the verdict


def verdict_panel(
    verdict: dict[str, Any] | None,
    links: dict[str, str],
    *,
    here: str,
    max_warnings: int = WARNINGS_SHOWN,
) -> None:
    """The verdict in the reports' words, then EVERY failing check and the warnings (beyond `max_warnings` folded
    in an expander), each with a link to the page that shows why. The count line is counted from these lists."""
    if not verdict or verdict.get("status") not in cards.STATUS_STYLE:
        st.info("No release verdict for this comparison yet.", icon=":material/hourglass_empty:")
        return
    status = str(verdict["status"])
    label, color, _icon = cards.STATUS_STYLE[status]
    key = f"mg_verdict_{status}"
    _style(key, f"border-left:10px solid {color};background:{color}14;padding:0.9rem 1.2rem;border-radius:0.5rem")
    fails, warns = checks_with(verdict, "fail"), checks_with(verdict, "warn")
    with st.container(key=key, gap="small"):
        st.markdown(
            f'<div class="mg-verdict" data-status="{status}" data-fails="{len(fails)}" data-warns="{len(warns)}" '
            'style="display:flex;align-items:baseline;gap:0.8rem;flex-wrap:wrap;margin-bottom:0.5rem">'
            f"{cards.status_badge(status)}"
            f'<span style="font-size:2rem;font-weight:800;color:{color};line-height:1.2">{label}</span>'
            f'<span style="font-size:1.1rem">{html.escape(verdict_summary(verdict))}</span></div>',
            unsafe_allow_html=True,
        )
        for c in fails:
            _reason(c, links, here)
        for c in warns[:max_warnings]:
            _reason(c, links, here)
        folded = warns[max_warnings:]
        if folded:
            with st.expander(plural(len(folded), "more warning"), icon=":material/warning:"):
                for c in folded:
                    _reason(c, links, here)


def _reason(check: dict[str, Any], links: dict[str, str], here: str) -> None:
    """One failing or warning check: badge, title, what it found, and a link to its evidence."""
    name, status = str(check.get("name")), str(check.get("status"))
    text, link = st.columns([5, 1], vertical_alignment="center")
    with text:
        title = md(check.get("title") or name)
        st.markdown(
            f'<span class="mg-reason" data-reason="{html.escape(name)}" data-status="{html.escape(status)}">'
            f"{cards.status_badge(status)}</span> **{title}**: {md(relative_paths(check.get('message') or ''))}",
            unsafe_allow_html=True,
        )
    page, page_label = page_for(check)
    if page != here:
        with link:
            st.page_link(page, label=page_label, icon=":material/arrow_forward:", query_params=links)


def checks_table(verdict: dict[str, Any], links: dict[str, str], *, here: str) -> None:
    """Every check, worst first: status, check (a link to its evidence), value with its limit, what it found.

    Four columns, so that a laptop screen (1366 px) shows every header and value on one line.
    """
    widths = [1.05, 2.4, 1.45, 5.1]
    _style("mg_checks", "gap:0")
    st.html(
        "<style>[class*='st-key-mg_check_row_']{border-bottom:1px solid rgba(128,128,128,0.2);"
        "padding:0.25rem 0}</style>"
    )
    with st.container(key="mg_checks", border=True):
        head = st.columns(widths, vertical_alignment="bottom")
        for col, name in zip(head, ("Status", "Check", "Value (limit)", "What it found"), strict=True):
            col.markdown(f"**{name}**")
        for c in _checks(verdict):
            name, status = str(c.get("name")), str(c.get("status"))
            with st.container(key=f"mg_check_row_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"):
                cols = st.columns(widths, vertical_alignment="center")
                cols[0].markdown(
                    f'<span data-check="{html.escape(name)}">{cards.status_badge(status)}</span>',
                    unsafe_allow_html=True,
                )
                title = str(c.get("title") or name)
                check = _CHECKS.get(name)
                page, _label = page_for(c)
                with cols[1]:
                    if page == here:
                        st.markdown(f"**{md(title)}**", help=check.description if check else None)
                    else:
                        st.page_link(
                            page,
                            label=title,
                            query_params=links,
                            help=check.description if check else None,
                        )
                limit = check_threshold(c)
                under = f'<br><span style="opacity:0.65">limit {md(limit)}</span>' if limit != "–" else ""
                cols[2].markdown(md(check_value(c)) + under, unsafe_allow_html=True)
                cols[3].markdown(md(relative_paths(c.get("message") or "")))


def policy_view(verdict: dict[str, Any]) -> None:
    """Where the thresholds came from, every threshold in a table, and the checks switched off."""
    policy = verdict.get("policy") if isinstance(verdict.get("policy"), dict) else {}
    assert isinstance(policy, dict)
    source = str(policy.get("source") or DEFAULTS_SOURCE)
    if source == DEFAULTS_SOURCE:
        st.markdown(
            "Thresholds: **defaults** (built into modelgap; put a `modelgap.toml` in the app's working folder, "
            "or pass `--policy` to the CLI, to change them)."
        )
    else:
        st.markdown(f"Thresholds from the policy file `{source}`.")
    settings = policy.get("checks") if isinstance(policy.get("checks"), dict) else {}
    assert isinstance(settings, dict)
    rows, off = [], []
    for name, values in settings.items():
        check = _CHECKS.get(name)
        title = check.title if check else name
        if not isinstance(values, dict):
            continue
        if values.get("enabled") is False:
            off.append(title)
            continue
        helps = {s.key: s.help for s in check.settings} if check else {}
        for key, value in values.items():
            if key != "enabled":
                rows.append({"check": title, "setting": key, "value": _setting_text(value), "meaning": helps.get(key)})
    sample = policy.get("sample") if isinstance(policy.get("sample"), dict) else {}
    if isinstance(sample, dict) and "min_rows" in sample:  # why statistical checks may say "only N rows"
        meaning = "statistical checks are skipped below this many sample (or labelled) rows"
        value = str(sample["min_rows"])
        rows.append({"check": "Sample size", "setting": "min_rows", "value": value, "meaning": meaning})
    if rows:
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={
                "check": "Check",
                "setting": st.column_config.TextColumn("Setting", help="The key in modelgap.toml ([checks.<name>])"),
                "value": "Value",
                "meaning": st.column_config.TextColumn("What it means", width="large"),
            },
        )
    if off:
        st.markdown("Switched off in this policy: " + ", ".join(f"**{md(t)}**" for t in off) + ".")
    else:
        st.caption("No check is switched off.")


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in value.items()) or "(none)"
    return f"{value:g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------ serving parity


def endpoint_involved(comparison: Comparison) -> bool:
    """A side is a scoring endpoint (http(s)://), or the comparison checked serving parity."""
    sources = (comparison.repo.source, comparison.deployed.source)
    return any(s.strip().startswith(("http://", "https://")) for s in sources) or comparison.sections.parity is not None


def parity_card(comparison: Comparison) -> None:
    """Does the endpoint answer like the artifact it claims to serve? Rows, differences, latency, errors."""
    parity = section_dict(comparison, "parity")
    if parity is None:
        cards.not_computed(comparison, "parity", "Serving-parity results")
        return
    n_rows, n_diff = parity.get("n_rows"), parity.get("n_differing")
    labels = parity.get("compared") == "labels"
    tol = parity.get("tolerance")
    beyond = "get another label" if labels else f"differ by more than {tol:g}" if isinstance(tol, float) else "differ"
    latency = parity.get("latency_ms") if isinstance(parity.get("latency_ms"), dict) else {}
    assert isinstance(latency, dict)
    ms = [latency.get(p) for p in ("p50", "p95", "p99")]
    cols = st.columns(4)
    with cols[0]:
        cards.metric_card(
            "Rows sent to both",
            cards.count(n_rows),
            f"Sample rows scored by the endpoint and by the artifact it claims to serve "
            f"({parity.get('compared', 'outputs')} compared).",
            delta=f"of {cards.count(parity.get('n_requested'))} requested",
        )
    with cols[1]:
        cards.metric_card(
            "Rows that differ",
            cards.count(n_diff),
            f"Rows whose endpoint answer and artifact answer {beyond}: training-serving skew, e.g. other library "
            "versions or preprocessing in the serving image.",
            delta=cards.percent(parity.get("differing_rate"), 2),
        )
    with cols[2]:
        cards.metric_card(
            "Latency p50 / p95 / p99",
            " / ".join(f"{v:,.0f}" if isinstance(v, (int, float)) else "—" for v in ms) + " ms",
            f"Time per request to the endpoint (batches of {parity.get('batch_size', '?')} rows): half of the "
            "requests were faster than p50, 95% faster than p95, 99% faster than p99.",
            delta=f"{cards.count(latency.get('n'))} requests",
        )
    with cols[3]:
        cards.metric_card(
            "Failed requests",
            cards.count(parity.get("n_errors")),
            "Requests to the endpoint that failed after retries; their rows were not compared.",
            delta=f"of {cards.count(parity.get('n_requests'))} requests",
        )
    for message in (parity.get("error_messages") or [])[:3]:
        st.caption(f"Endpoint error: {message}")


# ------------------------------------------------------------------ exported reports


@st.cache_data(
    max_entries=REPORT_ENTRIES,
    ttl=TTL_S,
    show_spinner="Rendering the reports (JSON, Markdown, and HTML with its charts)…",
)
def _render(key: str, _comparison: Comparison) -> dict[str, str]:
    """The three reports of one comparison, rendered once: shared like the comparison itself (same key)."""
    from modelgap.report import comparison_to_dict, render_html, render_markdown

    report = comparison_to_dict(_comparison)
    return {
        "json": json.dumps(report, indent=2, allow_nan=False) + "\n",  # what `compare --json` writes
        "markdown": render_markdown(report),
        "html": render_html(report),
    }


def rendered_reports(comparison: Comparison, comparison_key: str) -> dict[str, str]:
    """JSON / Markdown / HTML of `comparison`; the object's id joins the key so a reloaded comparison re-renders."""
    return _render(f"{comparison_key}\0{id(comparison)}", comparison)


def downloads(reports: dict[str, str], comparison: Comparison | None = None) -> None:
    """Three download buttons, named `modelgap_<repo>_vs_<deployed>_<yyyymmdd>.<ext>`; downloading does not rerun
    the page."""
    repo, deployed = (comparison.repo.source, comparison.deployed.source) if comparison else ("repo", "deployed")
    items = (
        ("json", "JSON report", "application/json", ":material/data_object:", "For scripts and CI: every number."),
        ("markdown", "Markdown report", "text/markdown", ":material/markdown:", "Short: for a pull-request comment."),
        ("html", "HTML report", "text/html", ":material/web:", "One file with charts; opens offline, prints cleanly."),
    )
    cols = st.columns(len(items))
    for col, (kind, label, mime, icon, help_text) in zip(cols, items, strict=True):
        with col:
            st.download_button(
                label,
                data=reports[kind],
                file_name=download_name(repo, deployed, "md" if kind == "markdown" else kind),
                mime=mime,
                key=f"modelgap.report.download.{kind}",
                icon=icon,
                help=help_text,
                on_click="ignore",
                width="stretch",
            )


def markdown_preview(markdown: str) -> None:
    """The Markdown report as a pull request would show it, and its source to copy.

    Drawn only once opened (the expander reruns the page when toggled): a long report and its highlighted source
    cost the browser about a second, on every visit, for a panel most visits leave closed."""
    panel = st.expander(
        "Markdown report preview (what a pull-request comment shows)",
        icon=":material/preview:",
        key=f"{state.PREFIX}widget.report.preview",
        on_change="rerun",
    )
    if not panel.open:
        return
    with panel:
        shown, source = st.tabs(["Preview", "Source"])
        with shown:
            st.markdown(markdown, unsafe_allow_html=True)  # every user string in it is escaped by the renderer
        with source:
            st.code(markdown, language="markdown", wrap_lines=True)
