"""Display pieces of the Data page: lineage cards, the relation verdict, drift tables and charts, diagnosis.

Everything reads the data section's JSON form (`DataComparison.to_dict()`); only the charts reach for the
rows the section kept (`DataComparison.tables`). Figures come from modelgap.figures.data.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import cards
from components.lazy_section import lazy_section
from components.plain_table import Column, plain_table
from modelgap.data.relation import frame_schema
from modelgap.figures.data import category_bars, drift_ranking, numeric_overlay
from modelgap.report.markdown import md
from modelgap.words import display_path, friendly

PAGE = "data"
MISSING = "–"  # a text a section did not report (no slice, no importance); a missing number: plain_table.MISSING

ORIGIN_WORDS = {
    "mlflow": "a dataset input that MLflow recorded with the model's training run",
    "dvc": "a DVC file next to the model",
    "user": "a path named in the app or with --{side}-training-data",
}
RELATION_BOXES = {
    "same_data": (st.success, ":material/check:", "Both models were trained on the same data."),
    "different_snapshots": (
        st.info,
        ":material/history:",
        "The models were trained on different snapshots of the same source.",
    ),
    "unrelated": (st.warning, ":material/warning:", "The models were trained on unrelated data."),
    "unknown": (st.info, ":material/help:", "Whether the models were trained on the same data is unknown."),
}
PAIR_WORDS = {
    ("training_vs_training", "deployed_training"): "Training vs training",
    ("sample_vs_training", "repo_training"): "Repo training vs sample",
    ("sample_vs_training", "deployed_training"): "Deployed training vs sample",
}


# ------------------------------------------------------------------ lineage


def lineage_card(side: str, lineage: dict[str, Any], columns: dict[str, str] | None) -> None:
    """One model's training data: what it is, who recorded it, its fingerprint and columns; or why unknown."""
    with st.container(border=True):
        st.markdown(f"{cards.side_label(side)} **training data**", unsafe_allow_html=True)
        ref = lineage.get("training")
        if not ref:
            reason = " ".join(lineage.get("notes") or []) or "Nothing records this model's training data."
            st.warning(f"**Unknown.** {reason}", icon=":material/help:")
            st.caption(
                f"Name the file under “Name the training data” below, or on the command line with "
                f"`--{side}-training-data PATH`."
            )
            return
        st.markdown(f"#### {ref.get('name') or ref.get('path') or '(unnamed dataset)'}")
        st.caption("Known from " + ORIGIN_WORDS.get(str(ref.get("origin")), "its source").format(side=side))
        digest = ref.get("digest") or ref.get("computed_digest")
        facts = {
            "Used for": ref.get("context") or "training (not labelled)",
            "Fingerprint": " · ".join(
                t for t in (f"digest {digest}" if digest else "", f"MD5 {ref['md5']}" if ref.get("md5") else "") if t
            )
            or "none recorded",
            "Source": display_path(ref.get("path") or ref.get("uri") or "—"),
            "Rows": cards.count(ref.get("n_rows")) if ref.get("n_rows") is not None else "—",
            "Rows readable here": "yes" if ref.get("readable") else "no",
        }
        if lineage.get("run_id"):
            facts["MLflow run"] = str(lineage["run_id"])
        # Lines that wrap, not a two-column table whose long values (paths, digests) a laptop screen cuts off.
        st.markdown("\n".join(f"- **{k}:** {md(v)}" for k, v in facts.items()))
        schema = columns or {c["name"]: c["type"] for c in ref.get("schema") or []}
        if schema:  # a table in a closed expander still costs the browser its drawing: sent once opened
            panel = lazy_section(f"Columns ({len(schema)})", PAGE, f"columns_{side}")
            if panel is not None:
                panel.dataframe(
                    pd.DataFrame({"Column": list(schema), "Type": list(schema.values())}),
                    hide_index=True,
                    width="stretch",
                )
        others = [d for d in lineage.get("datasets") or [] if d.get("name") != ref.get("name")]
        if others:
            st.caption("Also recorded: " + ", ".join(f"{d.get('name')} ({d.get('context') or '—'})" for d in others))
        for note in [*(ref.get("notes") or []), *(lineage.get("notes") or [])]:
            st.caption(note)


def table_columns(data: Any, key: str) -> dict[str, str] | None:
    """Column -> kind of a dataset the section read (None when it was not read)."""
    tables = getattr(data, "tables", None) or {}
    table = tables.get(key)
    return frame_schema(table.frame) if table is not None else None


def relation_verdict(lineage: dict[str, Any]) -> None:
    """Same data / different snapshots / unrelated / unknown, in plain words, with the reason."""
    kind = str(lineage.get("relation") or "unknown")
    box, icon, words = RELATION_BOXES.get(kind, RELATION_BOXES["unknown"])
    if kind not in RELATION_BOXES:
        words = f"The models' training data: {friendly(kind)}."
    box(f"**{words}** {lineage.get('relation_reason') or ''}", icon=icon)
    schema = lineage.get("schema") or {}
    if schema.get("known") and not schema.get("identical"):
        bits = []
        if schema.get("only_in_repo"):
            bits.append("only in the repo model's: " + ", ".join(schema["only_in_repo"]))
        if schema.get("only_in_deployed"):
            bits.append("only in the deployed model's: " + ", ".join(schema["only_in_deployed"]))
        bits += [f"{c['column']} is {c['deployed']} → {c['repo']}" for c in schema.get("kind_changes") or []]
        st.caption("Columns of the two training sets differ: " + "; ".join(bits) + ".")


# ------------------------------------------------------------------ drift


def pair_id(pair: dict[str, Any]) -> str:
    return f"{pair.get('reference_key')}|{pair.get('current_key')}"


def pair_label(pair: dict[str, Any]) -> str:
    return PAIR_WORDS.get((str(pair.get("kind")), str(pair.get("reference_key"))), str(pair.get("name")))


def drift_rows(pair: dict[str, Any]) -> pd.DataFrame:
    """One row per column, most drifted first (the section's ranking)."""
    rows = []
    for c in pair.get("columns") or []:
        rows.append(
            {
                "column": c["column"],
                "kind": c.get("kind"),
                "severity": c.get("severity"),
                "psi": c.get("psi"),
                "ks": c.get("ks"),
                "wasserstein_std": c.get("wasserstein_std"),
                "chi2": c.get("chi2"),
                "new_levels": ", ".join(map(str, c.get("new_levels") or [])),
                "vanished_levels": ", ".join(map(str, c.get("vanished_levels") or [])),
                "missing_rate_change": c.get("missing_rate_change"),
                "note": c.get("note") or "",
            }
        )
    frame = pd.DataFrame(rows)
    for name in ("psi", "ks", "wasserstein_std", "chi2", "missing_rate_change"):
        if name in frame:  # numbers, so that the columns sort as numbers; missing ones are NaN
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


NUMERIC_DRIFT = ("column", "severity", "psi", "ks", "wasserstein_std", "missing_rate_change", "note")
CATEGORY_DRIFT = ("column", "severity", "psi", "chi2", "new_levels", "vanished_levels", "missing_rate_change", "note")
DRIFT_COLUMNS = {
    "column": Column("Column"),
    "kind": Column("Kind", help="numeric, categorical, or identifier (not compared)"),
    "severity": Column(
        "Severity",
        help="none / low / moderate / high: the worse of the PSI grade (0.02, 0.1, 0.25) and the missing-rate grade "
        "(1, 5, 20 points). Not significant differences (p ≥ 0.01) are capped at low.",
    ),
    "psi": Column(
        "PSI",
        "{:.3f}",
        "Population stability index: how much the share of rows per bin moved (deciles of the reference for "
        "numbers, one bin per level for categories). Above 0.25 is a large shift.",
    ),
    "ks": Column("KS", "{:.3f}", "Kolmogorov-Smirnov statistic: the largest gap between the two cumulative shares."),
    "wasserstein_std": Column(
        "Wasserstein (std)", "{:.3f}", "How far values moved on average, in standard deviations of the reference."
    ),
    "chi2": Column("Chi-square", "{:.1f}", "Chi-square statistic of the level counts (categories)."),
    "new_levels": Column("New levels", help="Categories seen only in the current data."),
    "vanished_levels": Column(
        "Vanished levels", help="Categories of the reference that the current data no longer has."
    ),
    "missing_rate_change": Column(
        "Missing-rate change",
        "percent",
        "Share of missing values in the current data minus that in the reference (NaN, empty, ±inf).",
    ),
    "note": Column("Note"),
}
DIAGNOSIS_COLUMNS = {
    "column": Column("Input column"),
    "flags": Column("Flags", help="drift, disagreement, importance: what stands out."),
    "training_psi": Column("Training PSI", "{:.3f}", "Drift between the two models' training data."),
    "sample_psi": Column("Sample PSI", "{:.3f}", "Drift of the sample against a training set (the larger one)."),
    "where": Column(
        "Where they disagree most",
        help="The slice of this column's values where the models disagree most: its disagreement rate and how many "
        "times the overall rate that is.",
    ),
    "importance": Column(
        "Importance, repo · deployed", help="Mean |SHAP| of the column in the repo model, then in the deployed model."
    ),
}


def drift_table(pair: dict[str, Any], row_budget: int) -> None:
    """The drift table of one pair, with a notice when it was computed on a sample of the rows."""
    ref, cur = pair.get("reference"), pair.get("current")
    st.caption(
        f"**{cur}** ({cards.count(pair.get('current_rows'))} rows) compared with **{ref}** "
        f"({cards.count(pair.get('reference_rows'))} rows), most drifted column first."
    )
    if pair.get("sampled"):
        st.info(
            f"Large files: distributions are compared on a uniform random sample of at most {row_budget:,} rows per "
            f"dataset ({cards.count(pair.get('reference_rows_used'))} of the {ref}, "
            f"{cards.count(pair.get('current_rows_used'))} of the {cur}).",
            icon=":material/filter_alt:",
        )
    frame = drift_rows(pair)
    # One table per kind of column: each kind has its own statistics, so no cell is empty by construction.
    kinds = frame["kind"] if "kind" in frame else pd.Series("numeric", index=frame.index)
    for kind, columns in (("numeric", NUMERIC_DRIFT), ("categorical", CATEGORY_DRIFT)):
        part = frame[kinds == kind]
        if part.empty:
            continue
        st.markdown(f"**{'Numeric' if kind == 'numeric' else 'Categorical'} columns** ({len(part)})")
        plain_table(part, {c: DRIFT_COLUMNS[c] for c in columns if c in part.columns})
    others = frame[~kinds.isin(["numeric", "categorical"])]
    if not others.empty:
        names = ", ".join(f"{c} ({friendly(k)})" for c, k in zip(others["column"], others["kind"], strict=True))
        st.caption(f"Not compared: {names}: every value is different, so there is no distribution to compare.")
    for note in pair.get("notes") or []:
        st.caption(note)


def drift_charts(pair: dict[str, Any], data: Any, column_key: str) -> None:
    """PSI ranking beside the chosen column's distributions (histograms or bars) in both datasets, each drawn once
    its section is opened: they sit below the fold, and the tables above have every number. (A page with no chart
    on arrival does not load the chart library: about a second of the browser's time on a laptop-class core.)"""
    left, right = st.columns(2)
    with left:
        ranking = lazy_section(
            "Chart: drift per column (PSI), most drifted first", PAGE, "ranking_chart", icon=":material/bar_chart:"
        )
        if ranking is not None:
            ranking.plotly_chart(drift_ranking(pair.get("columns") or []), width="stretch", key="data_ranking")
    names = [str(c["column"]) for c in pair.get("columns") or []]
    tables = getattr(data, "tables", None) or {}
    ref_t, cur_t = tables.get(str(pair.get("reference_key"))), tables.get(str(pair.get("current_key")))
    with right:
        if not names:
            return
        panel = lazy_section(
            "Chart: one column's values in the two datasets, as shares of rows (pick the column)",
            PAGE,
            "column_chart",
            icon=":material/bar_chart:",
        )
        if panel is None:
            return
        with panel:
            if st.session_state.get(column_key) not in names:
                st.session_state[column_key] = names[0]
            column = st.selectbox(
                "Column to look at", names, key=column_key, help="Its values in the two datasets, as shares of rows."
            )
            if ref_t is None or cur_t is None or column not in ref_t.frame or column not in cur_t.frame:
                st.info("The rows of these datasets are not kept in memory: no chart.")
                return
            kind = next((c.get("kind") for c in pair["columns"] if c["column"] == column), "numeric")
            chart = numeric_overlay if kind == "numeric" else category_bars
            fig = chart(
                ref_t.frame[column],
                cur_t.frame[column],
                column=column,
                reference_label=str(pair.get("reference")),
                current_label=str(pair.get("current")),
            )
            st.plotly_chart(fig, width="stretch", key="data_column_chart")


# ------------------------------------------------------------------ diagnosis


def diagnosis(rows: list[dict[str, Any]]) -> None:
    """Per input column: drift, the slice where the models disagree most, importance change; top row read out."""
    if not rows:
        st.info("No input columns to diagnose.", icon=":material/info:")
        return
    top = rows[0]
    if top.get("summary"):
        st.markdown(f"**Reading:** {top['summary']}")
    else:
        st.success("No input column combines drift, disagreement and an importance change.", icon=":material/check:")
    frame = pd.DataFrame(rows)
    frame["flags"] = frame["flags"].map(lambda f: ", ".join(f) if f else "")
    frame["where"] = [_where(r) for r in rows]  # the slice, its rate and lift in one column: fits a laptop
    frame["importance"] = [_importance(r) for r in rows]
    plain_table(frame, DIAGNOSIS_COLUMNS)


def _importance(row: dict[str, Any]) -> str:
    """ "0.3203 · 0.0000": the column's mean |SHAP| in the repo model, then in the deployed model."""
    values = [row.get("repo_importance"), row.get("deployed_importance")]
    if all(v is None for v in values):
        return MISSING
    return " · ".join(f"{v:.4f}" if isinstance(v, (int, float)) else MISSING for v in values)


def _where(row: dict[str, Any]) -> str:
    """ "recent_inquiries = 4: 19.2% (2.8×)", or "–" without a slice."""
    if not row.get("slice"):
        return MISSING
    rate, lift = row.get("slice_rate"), row.get("slice_lift")
    bits = [
        f"{rate:.1%}" if isinstance(rate, (int, float)) else "",
        f"({lift:.1f}×)" if isinstance(lift, (int, float)) else "",
    ]
    tail = " ".join(b for b in bits if b)
    return f"{row['slice']}: {tail}" if tail else str(row["slice"])
