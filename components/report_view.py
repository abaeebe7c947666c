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
from components.summaries import section_dict
from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.readiness import CHECKS
from modelgap.readiness.base import SEVERITY_ORDER
from modelgap.readiness.policy import DEFAULTS_SOURCE
from modelgap.report.content import check_threshold, check_value
from modelgap.report.markdown import md

LOG = logging.getLogger("modelgap.app")
REPORT_ENTRIES = 6
TTL_S = 3600
FILE_STEM = "modelgap-report"
REPORT_PAGE = "pages/report.py"
# The page that shows the evidence of a check, by the check's `page` (its report section).
PAGES = {
    "parameters": ("pages/parameters.py", "Parameters"),
    "predictions": ("pages/predictions.py", "Predictions"),
    "explanations": ("pages/explanations.py", "Explanations"),
    "data": ("pages/data.py", "Data"),
}
STATUS_WORDS = {"fail": "Fail", "warn": "Warn", "info": "Info", "pass": "Pass", "skipped": "Skipped"}
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
    max_reasons: int = 3,
    more: str = "on the Report page",
) -> None:
    """The verdict in plain words; each failing or warning reason with a link to the page that shows why."""
    if not verdict or verdict.get("status") not in cards.STATUS_STYLE:
        st.info("No release verdict for this comparison yet.", icon=":material/hourglass_empty:")
        return
    status = str(verdict["status"])
    words, color, _icon = cards.STATUS_STYLE[status]
    key = f"mg_verdict_{status}"
    _style(key, f"border-left:10px solid {color};background:{color}14;padding:0.9rem 1.2rem;border-radius:0.5rem")
    reasons = [c for c in _checks(verdict) if c.get("status") in ("fail", "warn")]
    with st.container(key=key, gap="small"):
        st.markdown(
            f'<div class="mg-verdict" data-status="{status}" style="display:flex;align-items:baseline;gap:1.2rem;'
            f'flex-wrap:wrap"><span style="font-size:2rem;font-weight:800;color:{color};line-height:1.2">{words}'
            f'</span><span style="font-size:1.15rem">{html.escape(str(verdict.get("headline") or ""))}</span></div>',
            unsafe_allow_html=True,
        )
        for c in reasons[:max_reasons]:
            text, link = st.columns([6, 1], vertical_alignment="center")
            with text:
                title = md(c.get("title") or c.get("name") or "")
                st.markdown(
                    f"{cards.status_dot(str(c.get('status')))} **{title}**: {md(c.get('message') or '')}",
                    unsafe_allow_html=True,
                )
            page, label = page_for(c)
            if page != here:
                with link:
                    st.page_link(page, label=label, icon=":material/arrow_forward:", query_params=links)
        extra = len(reasons) - max_reasons
        if extra > 0:
            st.caption(f"… and {extra} more {more}.")


def checks_table(verdict: dict[str, Any], links: dict[str, str], *, here: str) -> None:
    """Every check, worst first: status, check (a link to its evidence), value, threshold, what it found."""
    widths = [1.1, 2.6, 1.1, 1.1, 6.0]
    _style("mg_checks", "gap:0")
    st.html(
        "<style>[class*='st-key-mg_check_row_']{border-bottom:1px solid rgba(128,128,128,0.2);"
        "padding:0.25rem 0}</style>"
    )
    with st.container(key="mg_checks", border=True):
        head = st.columns(widths, vertical_alignment="bottom")
        for col, name in zip(head, ("Status", "Check", "Value", "Threshold", "What it found"), strict=True):
            col.markdown(f"**{name}**")
        for c in _checks(verdict):
            name, status = str(c.get("name")), str(c.get("status"))
            with st.container(key=f"mg_check_row_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"):
                cols = st.columns(widths, vertical_alignment="center")
                cols[0].markdown(
                    f'<span data-check="{html.escape(name)}">{cards.status_dot(status)} '
                    f"{STATUS_WORDS.get(status, html.escape(status))}</span>",
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
                value = check_value(c)
                cols[2].markdown(md(value.replace("_", " ") if isinstance(c.get("value"), str) else value))
                cols[3].markdown(md(check_threshold(c)))
                cols[4].markdown(md(c.get("message") or ""))


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
    return any(s.strip().startswith(("http://", "https://")) for s in sources) or "parity" in comparison.sections


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


def downloads(reports: dict[str, str]) -> None:
    """Three download buttons; downloading does not rerun the page."""
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
                file_name=f"{FILE_STEM}.{'md' if kind == 'markdown' else kind}",
                mime=mime,
                key=f"modelgap.report.download.{kind}",
                icon=icon,
                help=help_text,
                on_click="ignore",
                width="stretch",
            )


def markdown_preview(markdown: str) -> None:
    """The Markdown report as a pull request would show it, and its source to copy."""
    with st.expander("Markdown report preview (what a pull-request comment shows)", icon=":material/preview:"):
        shown, source = st.tabs(["Preview", "Source"])
        with shown:
            st.markdown(markdown, unsafe_allow_html=True)  # every user string in it is escaped by the renderer
        with source:
            st.code(markdown, language="markdown", wrap_lines=True)


# ------------------------------------------------------------------ write-back


def _redact(uri: str | None) -> str:
    return re.sub(r"//[^/@]+@", "//***@", uri or "")


def writeback_panel(comparison: Comparison, tracking_uri: str | None, comparison_key: str) -> None:
    """Record the verdict on the repo model's MLflow run: only after the box is ticked and the button pressed."""
    run_id = comparison.repo.metadata.mlflow.get("run_id")
    if not run_id:
        st.caption(
            "Recording the verdict in MLflow needs a repo model from an MLflow run or the registry (runs:/…, "
            "models:/…); this repo model is a file or folder, so there is nowhere to record it."
        )
        return
    st.markdown(
        f"Adds `modelgap.*` tags (verdict, failed and warned checks, what it was compared with) and the three "
        f"reports (under `modelgap/`) to the repo model's existing run `{run_id}`. Nothing is written to the "
        "deployed model, its registry version or its run, and no new run is started."
    )
    confirmed = st.checkbox(
        "Record this verdict on the repo model's MLflow run", key="modelgap.report.writeback.confirm"
    )
    pressed = st.button(
        "Write to MLflow",
        key="modelgap.report.writeback.write",
        type="primary",
        icon=":material/cloud_upload:",
        disabled=not confirmed,
    )
    if pressed and confirmed:
        try:
            from modelgap.writeback import log_to_mlflow

            with st.spinner(f"Writing to run {run_id}…"):
                written = log_to_mlflow(comparison, tracking_uri=tracking_uri)
        except ModelgapError as err:
            st.error(err.one_line(), icon=":material/error:")
        except Exception as exc:  # shown and logged; the page keeps working
            LOG.exception("Write-back to MLflow failed")
            st.error(f"Unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", icon=":material/error:")
        else:
            done: dict[str, Any] = {
                "key": comparison_key,
                "run_id": written.run_id,
                "tracking_uri": _redact(written.tracking_uri),
                "tags": dict(written.tags),
                "artifacts": list(written.artifacts),
            }
            state.set_page_setting("report", "written", done)
    record: Any = state.page_setting("report", "written", None)
    if isinstance(record, dict) and record.get("key") == comparison_key:
        st.success(
            f"Recorded on run `{record['run_id']}` at `{record['tracking_uri']}`: {len(record['tags'])} tags and "
            f"{len(record['artifacts'])} artifacts.",
            icon=":material/check_circle:",
        )
        tags: dict[str, str] = dict(record["tags"])
        st.dataframe(
            {"tag": list(tags), "value": list(tags.values())},
            hide_index=True,
            width="stretch",
            column_config={"tag": "Tag", "value": "Value"},
        )
        st.markdown("Artifacts: " + ", ".join(f"`{a}`" for a in record["artifacts"]))
