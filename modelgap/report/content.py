"""What the Markdown and HTML reports say, as plain values: model cards, key numbers, check rows, tables.

Both renderers read the JSON form of a comparison (never live objects), so a saved JSON report can be
rendered again; they differ only in markup. Values come back as plain strings, not yet escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelgap import words
from modelgap.family import FamilyChange, family_change, split_parameters
from modelgap.readiness.base import dig, number, pct

STATUS_LABEL = words.STATUS_BADGES  # the badge words, as the app shows them
MAX_TABLE_ROWS = 50
SAME_ARTIFACT_WORDS = (
    "both model files have the same SHA-256 fingerprint: they are the very same model, so no further difference "
    "is possible. What would only repeat that was not computed twice (see the notes)."
)


def as_report_dict(comparison_or_dict: Any) -> dict[str, Any]:
    """The report dict for a Comparison, or the dict itself when given one (e.g. a loaded JSON report)."""
    if isinstance(comparison_or_dict, Mapping):
        return dict(comparison_or_dict)
    from modelgap.report.json_report import comparison_to_dict

    return comparison_to_dict(comparison_or_dict)


def short(value: Any, limit: int = 80) -> str:
    """A value as a one-line string of at most `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def num(value: Any, digits: int = 4) -> str:
    f = number(value)
    if f is None:
        return "–" if value is None else short(value, 24)
    return f"{int(f):,}" if f.is_integer() and abs(f) >= 1 else f"{f:.{digits}g}"


def verdict_of(report: Mapping[str, Any]) -> dict[str, Any] | None:
    v = report.get("verdict")
    return dict(v) if isinstance(v, Mapping) and v.get("status") else None


def check_value(check: Mapping[str, Any], key: str = "value") -> str:
    """A check's value or threshold in its unit: shares as %, booleans as yes/no, None as a dash."""
    value = check.get(key)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if check.get("unit") == "share" and number(value) is not None:
        return pct(float(value))
    if isinstance(value, str):
        return words.friendly(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {check_value({'unit': check.get('unit'), 'value': v})}" for k, v in value.items())
    return num(value)


def check_threshold(check: Mapping[str, Any]) -> str:
    """The threshold with its direction, e.g. "≤ 5%" (above is bad) or "≥ 0.8" (below is bad)."""
    if check.get("threshold") is None or check.get("status") in ("info", "skipped"):
        return "–"
    sign = {"max": "≤ ", "min": "≥ "}.get(str(check.get("direction")), "")
    return sign + check_value(check, "threshold")


def checks_of(report: Mapping[str, Any], *statuses: str) -> list[dict[str, Any]]:
    """The verdict's checks (with one of `statuses`, when given), paths in their messages made relative."""
    v = verdict_of(report)
    if v is None:
        return []
    rows = [c for c in v.get("checks") or [] if isinstance(c, Mapping)]
    out = [dict(c) for c in rows if not statuses or c.get("status") in statuses]
    for c in out:
        if c.get("message"):
            c["message"] = words.relative_paths(c["message"])
    return out


def verdict_lists(report: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every failing check, every warning), each in the verdict's order: what every verdict panel lists."""
    return checks_of(report, "fail"), checks_of(report, "warn")


def notes_of(report: Mapping[str, Any]) -> list[str]:
    """The report's notes, section errors and model warnings as plain lines, paths made relative."""
    items = [str(n) for n in report.get("notes") or []]
    errors = report.get("section_errors")
    if isinstance(errors, Mapping):
        items += [f"{k} not computed: {v}" for k, v in errors.items()]
    for side in words.SIDES:
        m = report.get(side)
        if isinstance(m, Mapping):
            items += [f"{words.SIDE_NAMES[side]}: {w}" for w in m.get("warnings") or []]
    return [words.relative_paths(i) for i in items]


def model_card(report: Mapping[str, Any], side: str) -> list[tuple[str, str]]:
    """(label, value) lines that identify one model: source, class, version/alias, run, sha256, libraries."""
    m = report.get(side)
    if not isinstance(m, Mapping):
        return []
    ml = m.get("mlflow") if isinstance(m.get("mlflow"), Mapping) else {}
    assert isinstance(ml, Mapping)
    lines = [("Source", words.display_path(m.get("source", "–")))]
    cls = str(m.get("model_class") or "unknown")
    lines.append(("Model", f"{cls.rsplit('.', 1)[-1]} ({m.get('flavor', 'unknown')}, {m.get('task', '?')})"))
    if ml.get("registered_name") or ml.get("version"):
        version = f"{ml.get('registered_name', '')} v{ml.get('version', '?')}".strip()
        aliases = ml.get("aliases") or []
        if aliases:
            version += " " + " ".join(f"@{a}" for a in aliases)
        lines.append(("Version", version))
    if ml.get("run_id"):
        run = str(ml["run_id"])[:12]
        lines.append(("MLflow run", f"{run} ({ml['run_name']})" if ml.get("run_name") else run))
    git = m.get("git") if isinstance(m.get("git"), Mapping) else {}
    assert isinstance(git, Mapping)
    if git.get("sha") or git.get("revision"):
        lines.append(("Git", str(git.get("sha") or git.get("revision"))[:12]))
    sha = m.get("sha256")
    if ml.get("paired_with"):  # an endpoint: the hash is the registry entry's, not verified by hashing
        lines.append(("Claims to serve", str(ml["paired_with"])))
        lines.append(("SHA-256", f"{str(sha)[:12]} (claimed, not verified)" if sha else "unknown"))
    else:
        lines.append(("SHA-256", str(sha)[:12] if sha else "unknown"))
    libs = m.get("library_versions") if isinstance(m.get("library_versions"), Mapping) else {}
    assert isinstance(libs, Mapping)
    if libs:
        lines.append(("Libraries", ", ".join(f"{k} {v}" for k, v in list(libs.items())[:4])))
    return lines


def settings_counts(report: Mapping[str, Any]) -> tuple[int, int] | None:
    """(hyperparameters, pipeline changes) that differ or exist on one side only; None when unknown.

    The same two numbers as the app's Parameters tabs, and their sum is the Overview's "Settings changed".
    """
    params = report.get("parameters")
    if not isinstance(params, Mapping) or params.get("known") is False:
        return None
    groups = params.get("groups") if isinstance(params.get("groups"), Mapping) else None
    if not isinstance(groups, Mapping):
        return sum(len(params.get(k) or []) for k in ("changed", "only_in_repo", "only_in_deployed")), 0
    counts = []
    for name in ("hyperparameters", "pipeline"):
        g = groups.get(name) if isinstance(groups.get(name), Mapping) else {}
        assert isinstance(g, Mapping)
        counts.append(sum(len(g.get(k) or []) for k in ("changed", "only_in_repo", "only_in_deployed")))
    return counts[0], counts[1]


def settings_line(report: Mapping[str, Any]) -> str | None:
    """ "4 (3 hyperparameters, 1 pipeline change)", or None when a side cannot report its settings."""
    counts = settings_counts(report)
    if counts is None:
        return None
    total = sum(counts)
    return f"{total:,} ({words.settings_breakdown(*counts)})" if total else "0"


def key_numbers(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The handful of numbers a reader looks for first, in plain words (the Overview's names)."""
    out: list[tuple[str, str]] = []
    if isinstance(report.get("parameters"), Mapping):
        settings = settings_line(report)
        out.append(("Settings changed", settings if settings is not None else "unknown for one side"))
    p = report.get("predictions")
    if isinstance(p, Mapping):
        out.append(("Rows compared", num(p.get("n_rows"))))
        rate = number(p.get("disagreement_rate"))
        if rate is not None:
            out.append(("Rows that disagree", f"{pct(rate)} ({num(p.get('n_disagreements'))})"))
        if number(p.get("mean_abs_diff")) is not None:
            out.append(("Mean difference", num(p.get("mean_abs_diff"))))
        if number(p.get("max_abs_diff")) is not None:
            out.append(("Largest change on one row", num(p.get("max_abs_diff"))))
        flips = p.get("flips")
        if isinstance(flips, Mapping) and number(flips.get("mcnemar_p_value")) is not None:
            change = number(flips.get("accuracy_change")) or 0.0
            out.append(("Accuracy change (McNemar p)", f"{change:+.2%} (p = {float(flips['mcnemar_p_value']):.3g})"))
    e = report.get("explanations")
    if isinstance(e, Mapping):
        if number(e.get("rank_correlation")) is not None:
            out.append(("Importance order agreement", num(e.get("rank_correlation"), 3)))
        if number(e.get("rank_biased_overlap")) is not None:
            out.append(("Top-weighted order agreement (RBO)", num(e.get("rank_biased_overlap"), 3)))
        if number(e.get("top_k_overlap")) is not None:
            out.append((f"Top-{e.get('top_k', 'k')} features shared", pct(float(e["top_k_overlap"]))))
    return out


def metric_rows(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per metric: its friendly name, both scores, the change, its interval and better / worse."""
    metrics = report.get("metrics")
    if not isinstance(metrics, Mapping):
        return []
    rows = []
    for name, m in metrics.items():
        if not isinstance(m, Mapping) or number(m.get("delta")) is None:
            continue
        lo, hi = m.get("ci_low"), m.get("ci_high")
        interval = f"{num(lo)} to {num(hi)}" if number(lo) is not None and number(hi) is not None else "–"
        delta = float(m["delta"])
        rows.append(
            {
                "metric": words.metric_name(str(name)),
                "repo": num(m.get("repo")),
                "deployed": num(m.get("deployed")),
                "delta": f"{delta:+.4g}",
                "interval": interval,
                "reading": words.change_reading(str(name), delta, lo, hi),
            }
        )
    return rows


def parameter_rows(report: Mapping[str, Any], limit: int = MAX_TABLE_ROWS) -> tuple[list[dict[str, str]], int]:
    """[{name, repo, deployed}] for changed, added and removed settings (capped), and the full count.

    When the estimator family changed, the two estimators' own settings are left out here: `family_rows`
    lists them under that headline.
    """
    params = report.get("parameters")
    if not isinstance(params, Mapping):
        return [], 0
    rest, _own = split_parameters(params, family_change(report))
    rows = _rows(rest)
    return rows[:limit], len(rows)


def family_rows(report: Mapping[str, Any]) -> tuple[FamilyChange | None, list[dict[str, str]]]:
    """The estimator family change and the two estimators' own settings (unrelated sets, not changes)."""
    params = report.get("parameters")
    change = family_change(report)
    if change is None or not isinstance(params, Mapping):
        return None, []
    _rest, own = split_parameters(params, change)
    return change, _rows(own)


def _rows(lists: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
    rows = [
        {"name": str(c.get("name")), "repo": short(c.get("repo")), "deployed": short(c.get("deployed"))}
        for c in lists.get("changed") or []
    ]
    rows += [
        {"name": str(c.get("name")), "repo": short(c.get("value")), "deployed": "(absent)"}
        for c in lists.get("only_in_repo") or []
    ]
    rows += [
        {"name": str(c.get("name")), "repo": "(absent)", "deployed": short(c.get("value"))}
        for c in lists.get("only_in_deployed") or []
    ]
    return rows


def schema_lines(report: Mapping[str, Any]) -> list[str]:
    """Plain sentences about input-column and library-version differences."""
    out = []
    schema = dig(report, "parameters.schema")
    if isinstance(schema, Mapping):
        if schema.get("only_in_repo"):
            out.append("Columns only the repo model takes: " + ", ".join(map(str, schema["only_in_repo"])))
        if schema.get("only_in_deployed"):
            out.append("Columns only the deployed model takes: " + ", ".join(map(str, schema["only_in_deployed"])))
        for d in schema.get("dtype_changes") or []:
            out.append(f"Column {d.get('column')}: {d.get('repo')} in the repo model, {d.get('deployed')} deployed")
    env = dig(report, "parameters.groups.environment")
    if isinstance(env, Mapping):
        for c in env.get("changed") or []:
            out.append(f"Library {c.get('name')}: {c.get('repo')} in the repo model, {c.get('deployed')} deployed")
    return out
