"""The HTML report: one self-contained file (plotly.js inline) that opens offline and prints cleanly.

For a manager who never opens the app: the verdict and its reasons first, then who is compared with whom,
every check, and the evidence (parameters, predictions, metrics, explanations) with interactive charts.
Every user-controlled string goes through `html.escape`; figure data is JSON-escaped by plotly.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from modelgap import words
from modelgap.family import same_artifact
from modelgap.figures import report as figures
from modelgap.report.content import (
    MAX_TABLE_ROWS,
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
from modelgap.report.evidence import data_facts, pair_summary, parity_errors, parity_facts, parity_rows
from modelgap.report.html_style import CSS, PRINT_SCRIPT
from modelgap.report.retraining_facts import retraining_facts

_CHART_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _chart(fig: go.Figure | None, name: str) -> str:
    """A figure's div; a fixed `name` (not plotly's random id) keeps the same report byte-identical."""
    if fig is None:
        return ""
    body = fig.to_html(
        full_html=False, include_plotlyjs=False, config=_CHART_CONFIG, default_width="100%", div_id=f"chart-{name}"
    )
    return f'<div class="chart">{body}</div>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A table from already-escaped cells."""
    numeric = numeric or set()
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _numbers(pairs: list[tuple[str, str]]) -> str:
    tiles = "".join(
        f'<div class="number"><div class="label">{esc(k)}</div><div class="value">{esc(v)}</div></div>'
        for k, v in pairs
    )
    return f'<div class="numbers">{tiles}</div>' if tiles else ""


def _badge(status: Any) -> str:
    status = str(status)
    return f'<span class="badge {esc(status)}">{esc(STATUS_LABEL.get(status, status.upper()))}</span>'


def _reason_items(checks: list[dict[str, Any]]) -> str:
    return "".join(
        f"<li>{_badge(c.get('status'))} <strong>{esc(c.get('title') or c.get('name'))}:</strong> "
        f"{esc(c.get('message', ''))}</li>"
        for c in checks
    )


def _banner(report: Mapping[str, Any]) -> str:
    """The verdict: badge and words, the count line, EVERY failing check, then the warnings (beyond five folded)."""
    verdict = verdict_of(report)
    if verdict is None:
        return (
            '<section class="banner"><div class="status">NO VERDICT</div>'
            "<p>No readiness verdict was computed.</p></section>"
        )
    status = str(verdict["status"])
    fails, warns = verdict_lists(report)
    parts = []
    if fails:
        parts.append(f'<h3>Failing checks ({len(fails)})</h3><ul class="reasons fails">{_reason_items(fails)}</ul>')
    if warns:
        shown, folded = warns[: words.WARNINGS_SHOWN], warns[words.WARNINGS_SHOWN :]
        parts.append(f'<h3>Warnings ({len(warns)})</h3><ul class="reasons warns">{_reason_items(shown)}</ul>')
        if folded:
            more = esc(words.plural(len(folded), "more warning"))
            parts.append(
                f'<details class="more"><summary>{more}</summary>'
                f'<ul class="reasons warns">{_reason_items(folded)}</ul></details>'
            )
    return (
        f'<section class="banner {esc(status)}" id="verdict" data-status="{esc(status)}">'
        f'<div class="status">{_badge(status)} {esc(words.VERDICT_WORDS.get(status, status))}</div>'
        f'<p class="headline">{esc(words.verdict_summary(verdict))}</p>{"".join(parts)}</section>'
    )


def _facts_banner(report: Mapping[str, Any]) -> str:
    """Same artifact, or another estimator family: said before any number, because it changes how they read."""
    out = []
    if same_artifact(report):
        out.append(f'<section class="note same"><strong>Same artifact:</strong> {esc(SAME_ARTIFACT_WORDS)}</section>')
    change, own = family_rows(report)
    if change is not None:
        out.append(
            f'<section class="note family"><strong>Estimator family changed:</strong> {esc(change.words())}. '
            f"Their {len(own)} own settings are two unrelated sets, listed apart under Parameters.</section>"
        )
    return "".join(out)


def _cards(report: Mapping[str, Any]) -> str:
    out = []
    for side in words.SIDES:
        title = words.SIDE_NAMES[side] + (" (candidate)" if side == "repo" else "")
        lines = model_card(report, side)
        if not lines:
            continue
        rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in lines)
        out.append(f'<div class="card {side}"><h3>{title}</h3><dl>{rows}</dl></div>')
    return f'<section class="cards">{"".join(out)}</section>' if out else ""


def _checks(report: Mapping[str, Any]) -> str:
    rows = [
        [
            _badge(c.get("status")),
            esc(c.get("title") or c.get("name")),
            esc(check_value(c)),
            esc(check_threshold(c)),
            esc(c.get("message", "")),
        ]
        for c in checks_of(report)
    ]
    if not rows:
        return ""
    table = _table(["status", "check", "value", "threshold", "what it means"], rows, numeric={2, 3})
    return f'<section id="checks" class="long"><h2>All checks</h2>{table}</section>'


def _parameters(report: Mapping[str, Any]) -> str:
    rows, total = parameter_rows(report)
    facts = schema_lines(report)
    change, own = family_rows(report)
    params = report.get("parameters")
    if not isinstance(params, Mapping):
        return ""
    if not rows and not facts and change is None:
        same = "identical" if params.get("identical") else "not comparable (unknown for one side)"
        return f'<section id="parameters"><h2>Parameters</h2><p>Hyperparameters and pipeline: {same}.</p></section>'
    fact_list = "".join(f"<li>{esc(f)}</li>" for f in facts)
    parts = ['<section id="parameters" class="long"><h2>Parameters</h2>']
    if fact_list:
        parts.append(f'<ul class="facts">{fact_list}</ul>')
    if rows:
        cells = [[f"<code>{esc(r['name'])}</code>", esc(r["repo"]), esc(r["deployed"])] for r in rows]
        parts.append(_table(["setting", "repo", "deployed"], cells))
        if total > len(rows):
            parts.append(f'<p class="muted">…and {total - len(rows)} more (first {MAX_TABLE_ROWS} shown).</p>')
    if change is not None:
        cells = [[f"<code>{esc(r['name'])}</code>", esc(r["repo"]), esc(r["deployed"])] for r in own]
        parts.append(
            f"<details><summary>Estimator family changed: {esc(change.words())} "
            f"({len(own)} settings of the two estimators)</summary>{_table(['setting', 'repo', 'deployed'], cells)}"
            "</details>"
        )
    parts.append("</section>")
    return "".join(parts)


def _predictions(report: Mapping[str, Any]) -> str:
    p = report.get("predictions")
    if not isinstance(p, Mapping):
        return ""
    numbers = [
        kv
        for kv in key_numbers(report)
        if kv[0]
        in (
            "Rows compared",
            "Rows that disagree",
            "Mean difference",
            "Largest change on one row",
            "Accuracy change (McNemar p)",
        )
    ]
    charts = _chart(figures.top_rows_figure(p), "top-rows") + _chart(figures.slices_figure(p), "slices")
    return f'<section id="predictions"><h2>Predictions</h2>{_numbers(numbers)}{charts}</section>'


def _metrics(report: Mapping[str, Any]) -> str:
    rows = metric_rows(report)
    if not rows:
        return ""
    cells = [
        [esc(m["metric"]), esc(m["repo"]), esc(m["deployed"]), esc(m["delta"]), esc(m["interval"]), esc(m["reading"])]
        for m in rows
    ]
    table = _table(["metric", "repo", "deployed", "change", "95% interval", "reading"], cells, numeric={1, 2, 3})
    metrics = report.get("metrics")
    chart = _chart(figures.metric_deltas_figure(metrics), "metrics") if isinstance(metrics, Mapping) else ""
    return f'<section id="metrics"><h2>Metrics on the labelled sample</h2>{table}{chart}</section>'


def _explanations(report: Mapping[str, Any]) -> str:
    e = report.get("explanations")
    if not isinstance(e, Mapping):
        return ""
    numbers = [kv for kv in key_numbers(report) if "agreement" in kv[0] or "shared" in kv[0]]
    what = f"SHAP on {esc(e.get('n_rows', '?'))} rows, output: {esc(words.friendly(e.get('output', '?')))}"
    chart = _chart(figures.changed_features_figure(e), "features")
    head = f'<h2>Explanations</h2><p class="muted">{what}</p>'
    return f'<section id="explanations">{head}{_numbers(numbers)}{chart}</section>'


def _data(report: Mapping[str, Any]) -> str:
    facts = data_facts(report, limit=10)
    if facts is None:
        return ""
    reason = f" — {esc(words.relative_paths(facts.relation_reason))}" if facts.relation_reason else ""
    items = [f"<li><strong>Training data: {esc(facts.relation_words)}</strong>{reason}</li>"]
    items += [f"<li>{esc(side)}: {esc(words.relative_paths(line))}</li>" for side, line in facts.training]
    items += [f"<li>{esc(e)}</li>" for e in facts.errors]
    parts = [f'<section id="data" class="long"><h2>Data</h2><ul class="facts">{"".join(items)}</ul>']
    for pair in facts.pairs:
        parts.append(f"<h3>{esc(pair.name)}</h3><p>{esc(pair_summary(pair))}</p>")
        if pair.columns:
            cells = [[esc(c["column"]), esc(c["severity"]), esc(c["psi"]), esc(c["missing"])] for c in pair.columns]
            parts.append(_table(["column", "drift", "PSI", "missing values"], cells, numeric={2, 3}))
    sample = next((d for d in _drift_records(report) if d.get("kind") == "sample_vs_training"), None)
    if sample is not None and any(c.get("psi") is not None for c in sample.get("columns") or []):
        from modelgap.figures.data import drift_ranking

        title = f"Drift per column: {sample.get('name')} (PSI)"
        parts.append(_chart(drift_ranking(sample["columns"], title=title), "drift"))
    parts.append("</section>")
    return "".join(parts)


def _retraining(report: Mapping[str, Any]) -> str:
    facts = retraining_facts(report)
    section = report.get("retraining")
    if facts is None or not isinstance(section, Mapping):
        return ""
    from modelgap.figures.retraining import noise_band_figure

    items = [
        f"<li><strong>{esc(label)}: {esc(status)}</strong> ({esc(method)}): {esc(why)}</li>"
        for label, status, method, why in facts.sides
    ]
    items.append(f"<li>{esc(facts.noise)}</li>")
    if facts.excess:
        items.append(f"<li><strong>{esc(facts.excess)}</strong></li>")
    items += [f"<li>{esc(n)}</li>" for n in facts.notes]
    chart = _chart(noise_band_figure(section), "retraining")
    head = '<h2>Retraining</h2><p class="muted">Each model rebuilt from its recorded recipe, and the noise floor.</p>'
    return f'<section id="retraining">{head}<ul class="facts">{"".join(items)}</ul>{chart}</section>'


def _drift_records(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = report.get("data")
    drift = data.get("drift") if isinstance(data, Mapping) else None
    return [d for d in drift if isinstance(d, Mapping)] if isinstance(drift, list) else []


def _parity(report: Mapping[str, Any]) -> str:
    facts = parity_facts(report)
    if not facts:
        return ""
    endpoint, artifact = (esc(words.display_path(v)) for _k, v in facts[:2])
    what = f"The same rows were sent to {endpoint} and to {artifact}, which it claims to serve."
    parts = [f'<section id="parity"><h2>Serving parity</h2><p class="muted">{what}</p>{_numbers(facts[2:])}']
    errors = parity_errors(report)
    if errors:
        parts.append('<ul class="facts">' + "".join(f"<li>{esc(e)}</li>" for e in errors) + "</ul>")
    rows = parity_rows(report)
    if rows:
        cells = [[esc(r["row"]), esc(r["artifact"]), esc(r["endpoint"]), esc(r["abs_diff"])] for r in rows]
        parts.append(_table(["row", "artifact", "endpoint", "difference"], cells, numeric={3}))
    parts.append("</section>")
    return "".join(parts)


def _notes(report: Mapping[str, Any]) -> str:
    items = [esc(n) for n in notes_of(report)]
    if not items:
        return ""
    return (
        '<section id="notes"><h2>Notes</h2><ul class="facts">'
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul></section>"
    )


def _footer(report: Mapping[str, Any]) -> str:
    verdict = verdict_of(report) or {}
    policy = verdict.get("policy") if isinstance(verdict.get("policy"), Mapping) else {}
    assert isinstance(policy, Mapping)
    source = esc(words.display_path(policy.get("source", "–")))
    data = f" · sample data: {esc(words.display_path(report['data_file']))}" if report.get("data_file") else ""
    schema = esc(report.get("schema_version", "?"))
    return f"<footer>Generated by modelgap · policy: {source}{data} · report schema {schema}</footer>"


def render_html(comparison_or_dict: Any, *, generated: datetime | None = None) -> str:
    """The self-contained HTML report of a Comparison or of its JSON dict."""
    import plotly.offline

    report = as_report_dict(comparison_or_dict)
    when = (generated or datetime.now(tz=UTC)).strftime("%Y-%m-%d %H:%M UTC")
    verdict = verdict_of(report)
    status = STATUS_LABEL.get(str(verdict["status"]), "") if verdict else "no verdict"
    repo, dep = (
        words.display_path(report[side].get("source", side)) if isinstance(report.get(side), Mapping) else side
        for side in words.SIDES
    )
    body = "".join(
        [
            f"<header><h1>{esc(words.TITLE)}</h1>",
            f'<p class="meta">{esc(repo)} vs {esc(dep)} · generated {esc(when)}</p></header>',
            _banner(report),
            _facts_banner(report),
            _cards(report),
            _parity(report),
            _predictions(report),
            _metrics(report),
            _explanations(report),
            _data(report),
            _retraining(report),
            _parameters(report),
            _checks(report),
            _notes(report),
            _footer(report),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>modelgap report: {esc(status)} · {esc(repo)} vs {esc(dep)}</title>"
        f"<style>{CSS}</style>"
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>'
        f"</head><body><main>{body}</main><script>{PRINT_SCRIPT}</script></body></html>\n"
    )


def write_html(comparison_or_dict: Any, path: str | Path) -> None:
    Path(path).write_text(render_html(comparison_or_dict), encoding="utf-8")
