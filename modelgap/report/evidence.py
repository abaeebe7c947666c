"""What the Markdown and HTML reports say about the data and serving-parity sections, as plain values.

Like `content`, these read the JSON form of a comparison (saved reports render again) and return strings not
yet escaped. Tables are capped so that a Markdown report stays short enough for a pull-request comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from modelgap.readiness.base import number, pct
from modelgap.report.content import num

MAX_DRIFT_COLUMNS = 5  # drifted columns listed per pair of datasets
MAX_PARITY_ROWS = 10  # differing rows listed from the parity section
DRIFTED = ("high", "moderate")  # severities worth a line in a report, worst first
RELATION_SHORT = {
    "same_data": "same data",
    "different_snapshots": "different snapshots of the same source",
    "unrelated": "unrelated data",
    "unknown": "unknown",
}
_PAIR_ORDER = {"sample_vs_training": 0, "training_vs_training": 1}


@dataclass
class DriftPair:
    """One compared pair of datasets: its name, largest PSI and its most drifted columns (capped)."""

    name: str
    kind: str
    max_psi: float | None
    n_drifted: int
    columns: list[dict[str, str]] = field(default_factory=list)  # {column, severity, psi, missing}
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class DataFacts:
    relation: str  # same_data | different_snapshots | unrelated | unknown (or what the report says)
    relation_words: str
    relation_reason: str
    training: list[tuple[str, str]]  # (side label, one line about its training data)
    pairs: list[DriftPair]
    errors: list[str]


def _ref_line(ref: Any) -> str:
    """One line naming a training dataset: name (origin, digest, rows), or "unknown"."""
    if not isinstance(ref, Mapping):
        return "unknown"
    where = ref.get("path") or ref.get("uri")
    label = ref.get("name") or (PurePath(str(where)).name if where else None) or "unnamed dataset"
    bits = [str(ref["origin"])] if ref.get("origin") else []
    digest = ref.get("digest") or ref.get("computed_digest")
    if digest:
        bits.append(f"digest {str(digest)[:12]}")
    elif ref.get("md5"):
        bits.append(f"md5 {str(ref['md5'])[:12]}")
    if number(ref.get("n_rows")) is not None:
        bits.append(f"{int(ref['n_rows']):,} rows")
    return f"{label} ({', '.join(bits)})" if bits else str(label)


def _column_row(c: Mapping[str, Any]) -> dict[str, str]:
    change = number(c.get("missing_rate_change"))
    return {
        "column": str(c.get("column")),
        "severity": str(c.get("severity", "?")),
        "psi": num(c.get("psi"), 3),
        "missing": f"{100 * change:+.1f} points" if change else "–",
    }


def drift_pairs(report: Mapping[str, Any], limit: int = MAX_DRIFT_COLUMNS) -> list[DriftPair]:
    """The data section's compared pairs, sample-vs-training first, each with its top drifted columns."""
    drift = report.get("data", {}).get("drift") if isinstance(report.get("data"), Mapping) else None
    if not isinstance(drift, list):
        return []
    out: list[DriftPair] = []
    for d in drift:
        if not isinstance(d, Mapping):
            continue
        columns = [c for c in d.get("columns") or [] if isinstance(c, Mapping)]
        drifted = [c for c in columns if c.get("severity") in DRIFTED]
        drifted.sort(key=lambda c: (DRIFTED.index(str(c.get("severity"))), -(number(c.get("psi")) or 0.0)))
        counts = d.get("severity_counts") if isinstance(d.get("severity_counts"), Mapping) else {}
        assert isinstance(counts, Mapping)
        out.append(
            DriftPair(
                name=str(d.get("name") or f"{d.get('current', '?')} vs {d.get('reference', '?')}"),
                kind=str(d.get("kind", "")),
                max_psi=number(d.get("max_psi")),
                n_drifted=len(drifted),
                columns=[_column_row(c) for c in drifted[:limit]],
                counts={str(k): int(v) for k, v in counts.items() if number(v) is not None},
            )
        )
    out.sort(key=lambda p: _PAIR_ORDER.get(p.kind, 2))  # stable within a kind
    return out


def data_facts(report: Mapping[str, Any], limit: int = MAX_DRIFT_COLUMNS) -> DataFacts | None:
    """Lineage relation, each model's training data and the drifted columns, or None without a data section."""
    data = report.get("data")
    if not isinstance(data, Mapping):
        return None
    lineage = data.get("lineage") if isinstance(data.get("lineage"), Mapping) else {}
    assert isinstance(lineage, Mapping)
    relation = str(lineage.get("relation") or data.get("training_data_relation") or "unknown")
    words = str(lineage.get("relation_words") or RELATION_SHORT.get(relation, relation.replace("_", " ")))
    training = []
    for side, label in (("repo", "Repo model"), ("deployed", "Deployed model")):
        node = lineage.get(side)
        training.append((label, _ref_line(node.get("training") if isinstance(node, Mapping) else None)))
    return DataFacts(
        relation=relation,
        relation_words=words,
        relation_reason=str(lineage.get("relation_reason") or ""),
        training=training,
        pairs=drift_pairs(report, limit),
        errors=[str(e) for e in data.get("errors") or []],
    )


def pair_summary(pair: DriftPair) -> str:
    """ "2 of 12 columns drifted (largest PSI 0.47)" or "no column drifted (largest PSI 0.03)"."""
    total = sum(pair.counts.values())
    largest = f"largest PSI {num(pair.max_psi, 3)}" if pair.max_psi is not None else "no PSI computed"
    if not pair.n_drifted:
        return f"no column drifted ({largest})"
    of = f" of {total}" if total else ""
    return f"{pair.n_drifted}{of} column(s) drifted ({largest})"


# ---------------------------------------------------------------- serving parity


def _ms(value: Any) -> str:
    f = number(value)
    return f"{f:,.0f} ms" if f is not None else "–"


def parity_facts(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of the parity section: rows, differing rows, latency, errors; [] when absent."""
    p = report.get("parity")
    if not isinstance(p, Mapping):
        return []
    out = [("Endpoint", str(p.get("endpoint", "?"))), ("Artifact it claims to serve", str(p.get("artifact", "?")))]
    compared = str(p.get("compared", "outputs"))
    out.append(("Rows compared", f"{num(p.get('n_rows'))} ({compared})"))
    rate = number(p.get("differing_rate"))
    tol = number(p.get("tolerance"))
    beyond = "with another label" if compared == "labels" else f"beyond tolerance {tol:g}" if tol is not None else ""
    differing = num(p.get("n_differing"))
    out.append((f"Rows differing {beyond}".strip(), f"{differing} ({pct(rate)})" if rate is not None else differing))
    if number(p.get("max_abs_diff")) is not None and compared != "labels":
        out.append(("Largest difference", num(p.get("max_abs_diff"))))
    lat = p.get("latency_ms") if isinstance(p.get("latency_ms"), Mapping) else {}
    assert isinstance(lat, Mapping)
    if number(lat.get("p50")) is not None:
        latency = f"p50 {_ms(lat.get('p50'))} · p95 {_ms(lat.get('p95'))} · p99 {_ms(lat.get('p99'))}"
        out.append((f"Latency per request ({num(lat.get('n'))} requests)", latency))
    errors = number(p.get("n_errors")) or 0
    failed = f"{int(errors):,} of {num(p.get('n_requests'))} requests"
    if errors:
        failed += f" ({num(p.get('n_error_rows'))} rows not compared)"
    out.append(("Failed requests", failed))
    return out


def parity_rows(report: Mapping[str, Any], limit: int = MAX_PARITY_ROWS) -> list[dict[str, str]]:
    """The rows where endpoint and artifact differ most: {row, artifact, endpoint, abs_diff} (capped)."""
    p = report.get("parity")
    if not isinstance(p, Mapping):
        return []
    rows = [r for r in p.get("differing") or [] if isinstance(r, Mapping)]
    return [
        {
            "row": str(r.get("row")),
            "artifact": num(r.get("artifact")),
            "endpoint": num(r.get("endpoint")),
            "abs_diff": num(r.get("abs_diff")),
        }
        for r in rows[:limit]
    ]


def parity_errors(report: Mapping[str, Any], limit: int = 3) -> list[str]:
    p = report.get("parity")
    if not isinstance(p, Mapping):
        return []
    return [str(m) for m in (p.get("error_messages") or [])[:limit]]
