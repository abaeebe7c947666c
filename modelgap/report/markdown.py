"""The Markdown report: short enough for a pull-request comment, with no links.

The title and verdict words of the app (modelgap.words), then EVERY failing check and the warnings (beyond
five folded in a <details>), the key numbers, the metrics, the parameter changes (capped) and every check in
one table. Repo before deployed throughout. Every user-controlled string is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelgap import words
from modelgap.family import same_artifact
from modelgap.report.content import (
    SAME_ARTIFACT_WORDS,
    STATUS_LABEL,
    as_report_dict,
    check_threshold,
    check_value,
    checks_of,
    family_rows,
    key_numbers,
    metric_rows,
    model_card,
    notes_of,
    parameter_rows,
    schema_lines,
    verdict_lists,
    verdict_of,
)
from modelgap.report.evidence import data_facts, pair_summary, parity_errors, parity_facts
from modelgap.report.retraining_facts import retraining_facts

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "info": "ℹ️", "skipped": "⏭️"}
MAX_PARAMETER_ROWS = 10
MAX_NOTES = 8
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
    lines = _verdict(report, verdict)
    lines += _banners(report)
    numbers = key_numbers(report)
    if numbers:
        lines += ["", "### Key numbers", "", "| | |", "|---|---|"]
        lines += [f"| {md(k)} | {md(v)} |" for k, v in numbers]
    lines += _metrics(report)
    lines += _parity(report)
    lines += _data(report)
    lines += _retraining(report)
    lines += _parameters(report)
    lines += _all_checks(report)
    lines += _notes(report)
    lines += ["", _footer(report, verdict)]
    return "\n".join(lines).rstrip() + "\n"


def _verdict(report: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> list[str]:
    """Title, status badge and words, the count line, both models, then EVERY failing check and the warnings."""
    lines = [f"## {words.TITLE}", ""]
    if verdict:
        status = str(verdict["status"])
        badge = f"{ICON.get(status, '')} {STATUS_LABEL.get(status, status.upper())}".strip()
        lines.append(f"**{badge} · {words.VERDICT_WORDS.get(status, status)}** — {md(words.verdict_summary(verdict))}")
    else:
        lines.append("No readiness verdict was computed.")
    lines.append("")
    for side in words.SIDES:
        card = dict(model_card(report, side))
        if card:
            bits = [card.get("Model", ""), card.get("Version", ""), f"SHA-256 {card.get('SHA-256', 'unknown')}"]
            lines.append(
                f"- **{words.SIDE_NAMES[side]}:** {md_code(card['Source'])} ({md('; '.join(b for b in bits if b))})"
            )
    fails, warns = verdict_lists(report)
    if fails:
        lines += ["", f"### {ICON['fail']} Failing checks ({len(fails)})", "", *(_reason(c) for c in fails)]
    if warns:
        shown, folded = warns[: words.WARNINGS_SHOWN], warns[words.WARNINGS_SHOWN :]
        lines += ["", f"### {ICON['warn']} Warnings ({len(warns)})", "", *(_reason(c) for c in shown)]
        if folded:
            more = words.plural(len(folded), "more warning")
            lines += ["", f"<details><summary>{more}</summary>", "", *(_reason(c) for c in folded), "", "</details>"]
    return lines


def _reason(check: Mapping[str, Any]) -> str:
    return f"- **{md(check.get('title') or check.get('name'))}:** {md(check.get('message', ''))}"


def _banners(report: Mapping[str, Any]) -> list[str]:
    """The two facts that change how everything else reads: one artifact twice, or another estimator family."""
    out: list[str] = []
    if same_artifact(report):
        out += ["", f"> **Same artifact:** {md(SAME_ARTIFACT_WORDS)}"]
    change, own = family_rows(report)
    if change is not None:
        out += [
            "",
            f"> **Estimator family changed:** {md(change.words())}. Their {len(own)} own settings are two "
            "unrelated sets, not changes one by one (see the JSON or HTML report).",
        ]
    return out


def _metrics(report: Mapping[str, Any]) -> list[str]:
    metrics = metric_rows(report)
    if not metrics:
        return []
    out = ["", "### Metrics (change = repo minus deployed)", ""]
    out += ["| metric | repo | deployed | change | 95% interval | reading |", "|---|---:|---:|---:|---|---|"]
    out += [
        f"| {md(m['metric'])} | {m['repo']} | {m['deployed']} | {m['delta']} | {md(m['interval'])} | {m['reading']} |"
        for m in metrics
    ]
    return out


def _notes(report: Mapping[str, Any]) -> list[str]:
    notes = notes_of(report)
    if not notes:
        return []
    return ["", "<details><summary>Notes</summary>", "", *(f"- {md(n)}" for n in notes[:MAX_NOTES]), "", "</details>"]


def _parity(report: Mapping[str, Any]) -> list[str]:
    facts = parity_facts(report)
    if not facts:
        return []
    out = ["", "### Serving parity (endpoint vs the artifact it claims to serve)", "", "| | |", "|---|---|"]
    out += [f"| {md(k)} | {md(words.relative_paths(v))} |" for k, v in facts]
    errors = parity_errors(report, limit=2)
    if errors:
        out += ["", *(f"- {md(e)}" for e in errors)]
    return out


def _data(report: Mapping[str, Any]) -> list[str]:
    facts = data_facts(report, limit=MAX_DRIFT_ROWS)
    if facts is None:
        return []
    reason = words.relative_paths(facts.relation_reason)
    relation = md(facts.relation_words) + (f" — {md(reason)}" if reason else "")
    out = ["", "### Data", "", f"- **Training data:** {relation}"]
    out += [f"- {md(side)}: {md(words.relative_paths(line))}" for side, line in facts.training]
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


def _retraining(report: Mapping[str, Any]) -> list[str]:
    facts = retraining_facts(report)
    if facts is None:
        return []
    out = ["", "### Retraining (each model rebuilt from its recorded recipe)", ""]
    out += [f"- **{md(label)}: {md(status)}** ({md(method)}) — {md(why)}" for label, status, method, why in facts.sides]
    out += [f"- {md(facts.noise)}"] + ([f"- **{md(facts.excess)}**"] if facts.excess else [])
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
        out += ["", "| setting | repo | deployed |", "|---|---|---|"]
        out += [f"| {md(r['name'])} | {md(r['repo'])} | {md(r['deployed'])} |" for r in rows]
        if total > len(rows):
            out += ["", f"…and {total - len(rows)} more setting differences (see the JSON or HTML report)."]
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
            f"| {md(c.get('title') or c.get('name'))} | {ICON.get(status, '')} {STATUS_LABEL.get(status, status)} "
            f"| {md(check_value(c))} | {md(check_threshold(c))} |"
        )
    return [*out, "", "</details>"]


def _footer(report: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> str:
    bits = []
    if report.get("data_file"):
        bits.append(f"sample: {md(words.display_path(report['data_file']))}")
    policy = verdict.get("policy") if verdict else None
    if isinstance(policy, Mapping) and policy.get("source"):
        bits.append(f"policy: {md(words.display_path(policy['source']))}")
    return "_Generated by modelgap" + (" · " + " · ".join(bits) if bits else "") + "._"


def write_markdown(comparison_or_dict: Any, path: str | Path) -> None:
    Path(path).write_text(render_markdown(comparison_or_dict), encoding="utf-8")
