"""The Markdown report: short enough for a pull-request comment, with no links.

Verdict first, then the failing and warning checks in plain words, the key numbers, the metrics, the
parameter changes (capped) and every check in one table. Every user-controlled string is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelgap.report.content import (
    STATUS_LABEL,
    as_report_dict,
    check_threshold,
    check_value,
    checks_of,
    key_numbers,
    metric_rows,
    model_card,
    parameter_rows,
    schema_lines,
    verdict_of,
)
from modelgap.report.evidence import data_facts, pair_summary, parity_errors, parity_facts

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "info": "ℹ️", "skipped": "⏭️"}
MAX_PARAMETER_ROWS = 10
MAX_DRIFT_ROWS = 8  # drifted columns over every compared pair of datasets
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # markup characters that work mid-line (GFM)


def md(text: Any) -> str:
    """Escape a user string for Markdown text and table cells: no markup, no HTML, no line breaks."""
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", s)


def md_code(text: Any) -> str:
    """A user string as an inline code span: shown verbatim, never a link (URLs are not auto-linked)."""
    return "`" + " ".join(str(text).split()).replace("`", "'") + "`"


def render_markdown(comparison_or_dict: Any) -> str:
    """The Markdown report of a Comparison or of its JSON dict."""
    report = as_report_dict(comparison_or_dict)
    verdict = verdict_of(report)
    lines: list[str] = []
    if verdict:
        status = str(verdict["status"])
        lines += [
            f"## {ICON.get(status, '')} modelgap release check: {STATUS_LABEL.get(status, status.upper())}",
            "",
            md(verdict.get("headline", "")),
        ]
    else:
        lines += ["## modelgap comparison", "", "No readiness verdict was computed."]
    lines.append("")
    for side, label in (("repo", "Repo"), ("deployed", "Deployed")):
        card = dict(model_card(report, side))
        if card:
            bits = [card.get("Model", ""), card.get("Version", ""), f"SHA-256 {card.get('SHA-256', 'unknown')}"]
            lines.append(f"- **{label}:** {md_code(card['Source'])} ({md('; '.join(b for b in bits if b))})")
    for status, heading in (("fail", "Failing checks"), ("warn", "Warnings")):
        rows = checks_of(report, status)
        if rows:
            lines += ["", f"### {ICON[status]} {heading}", ""]
            lines += [f"- **{md(c.get('title') or c.get('name'))}:** {md(c.get('message', ''))}" for c in rows]
    numbers = key_numbers(report)
    if numbers:
        lines += ["", "### Key numbers", "", "| | |", "|---|---|"]
        lines += [f"| {md(k)} | {md(v)} |" for k, v in numbers]
    metrics = metric_rows(report)
    if metrics:
        lines += ["", "### Metrics (repo minus deployed)", "", "| metric | repo | deployed | change | 95% interval |"]
        lines.append("|---|---:|---:|---:|---|")
        lines += [
            f"| {md(m['metric'])} | {m['repo']} | {m['deployed']} | {m['delta']} | {md(m['interval'])} |"
            for m in metrics
        ]
    lines += _parity(report)
    lines += _data(report)
    lines += _parameters(report)
    lines += _all_checks(report)
    lines += ["", _footer(report, verdict)]
    return "\n".join(lines).rstrip() + "\n"


def _parity(report: Mapping[str, Any]) -> list[str]:
    facts = parity_facts(report)
    if not facts:
        return []
    out = ["", "### Serving parity (endpoint vs the artifact it claims to serve)", "", "| | |", "|---|---|"]
    out += [f"| {md(k)} | {md(v)} |" for k, v in facts]
    errors = parity_errors(report, limit=2)
    if errors:
        out += ["", *(f"- {md(e)}" for e in errors)]
    return out


def _data(report: Mapping[str, Any]) -> list[str]:
    facts = data_facts(report, limit=MAX_DRIFT_ROWS)
    if facts is None:
        return []
    relation = md(facts.relation_words) + (f" — {md(facts.relation_reason)}" if facts.relation_reason else "")
    out = ["", "### Data", "", f"- **Training data:** {relation}"]
    out += [f"- {md(side)}: {md(line)}" for side, line in facts.training]
    rows: list[str] = []
    for pair in facts.pairs:
        out.append(f"- **{md(pair.name)}:** {md(pair_summary(pair))}")
        rows += [f"| {md(pair.name)} | {md(c['column'])} | {c['severity']} | {c['psi']} |" for c in pair.columns]
    out += [f"- {md(e)}" for e in facts.errors[:2]]
    if rows:
        out += ["", "| compared | column | drift | PSI |", "|---|---|---|---:|", *rows[:MAX_DRIFT_ROWS]]
        hidden = sum(p.n_drifted for p in facts.pairs) - min(len(rows), MAX_DRIFT_ROWS)
        if hidden > 0:
            out += ["", f"…and {hidden} more drifted columns (see the JSON or HTML report)."]
    return out


def _parameters(report: Mapping[str, Any]) -> list[str]:
    rows, total = parameter_rows(report, limit=MAX_PARAMETER_ROWS)
    facts = schema_lines(report)
    if not rows and not facts:
        return []
    out = ["", "### What changed"]
    if facts:
        out += ["", *(f"- {md(f)}" for f in facts[:MAX_PARAMETER_ROWS])]
    if rows:
        out += ["", "| parameter | deployed | repo |", "|---|---|---|"]
        out += [f"| {md(r['name'])} | {md(r['deployed'])} | {md(r['repo'])} |" for r in rows]
        if total > len(rows):
            out += ["", f"…and {total - len(rows)} more parameter differences (see the JSON or HTML report)."]
    return out


def _all_checks(report: Mapping[str, Any]) -> list[str]:
    rows = checks_of(report)
    if not rows:
        return []
    out = ["", "<details><summary>All checks</summary>", "", "| check | status | value | threshold |"]
    out.append("|---|---|---:|---:|")
    for c in rows:
        status = str(c.get("status"))
        out.append(
            f"| {md(c.get('title') or c.get('name'))} | {ICON.get(status, '')} {status} "
            f"| {md(check_value(c))} | {md(check_threshold(c))} |"
        )
    return [*out, "", "</details>"]


def _footer(report: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> str:
    bits = []
    if report.get("data_file"):
        bits.append(f"sample: {md(Path(str(report['data_file'])).name)}")
    policy = verdict.get("policy") if verdict else None
    if isinstance(policy, Mapping) and policy.get("source"):
        source = str(policy["source"])
        bits.append(f"policy: {md(source if source == 'built-in defaults' else Path(source).name)}")
    return "_Generated by modelgap" + (" · " + " · ".join(bits) if bits else "") + "._"


def write_markdown(comparison_or_dict: Any, path: str | Path) -> None:
    Path(path).write_text(render_markdown(comparison_or_dict), encoding="utf-8")
