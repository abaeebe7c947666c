"""Display pieces of the Explanations page for all explained rows: how the two models were explained, headline
numbers, importance charts and table, per-feature SHAP differences, dependence, and the disagreeing rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import cards, state
from components.lazy_section import lazy_section
from components.plain_table import Column, plain_table
from modelgap.comparison import Comparison
from modelgap.explanations import ExplanationComparison, output_space_label
from modelgap.explanations import stats as shap_stats
from modelgap.figures import explanations as figs

PAGE = "explanations"
DEFAULT_DIFF_FEATURES = 6


def methods(c: ExplanationComparison) -> None:
    """The output space both were explained in, the explainer per model and whether the SHAP values add up."""
    space = output_space_label(c.output, c.class_label)
    if c.is_multiclass:
        space = output_space_label(c.output, "k").replace("class k", "each class") + ", one class at a time"
    st.markdown(
        f"Both models were explained on the same **{c.n_rows:,} rows**, in the same output space: "
        f"**{space}**. Each number below is a SHAP value in that space, per input column of the data.",
        help="SHAP splits a model's output for one row into a base value (the average output) plus one "
        "contribution per input column. Derived columns (one-hot, scaled copies) are summed back to the input "
        "column they came from, so two models with different preprocessing can be compared.",
    )
    cols = st.columns(2)
    for col, side in zip(cols, ("repo", "deployed"), strict=True):
        additivity = c.additivity[side]
        with col:
            st.markdown(f"{cards.side_label(side)}: explained with **{c.method[side]}**", unsafe_allow_html=True)
            if additivity.failed:
                st.warning(
                    f"The {side} model's SHAP values do not add up to its output: max error "
                    f"{additivity.max_error:.3g} (tolerance {additivity.tolerance:.3g}). Read its numbers with care.",
                    icon=":material/warning:",
                )
            else:
                st.caption(
                    f"Base value + contributions = model output on every row (max error {additivity.max_error:.2g})."
                )


def class_choice(c: ExplanationComparison) -> ExplanationComparison:
    """For multiclass models: which class to look at (a page setting); the comparison for that class."""
    if not c.is_multiclass:
        return c
    labels = c.repo.class_labels
    key = state.setting_widget_key(PAGE, "class", c.target)
    if st.session_state.get(key) not in c.targets:
        st.session_state[key] = c.target
    chosen = st.selectbox(
        "Class",
        c.targets,
        key=key,
        format_func=lambda t: f"class {labels.get(t, t)}",
        help="Multiclass models are explained one class at a time: the output space is per class.",
    )
    state.set_page_setting(PAGE, "class", chosen)
    return c if chosen == c.target else c.for_target(chosen)


def headline(c: ExplanationComparison) -> None:
    cols = st.columns(4)
    with cols[0]:
        cards.metric_card("Rows explained", cards.count(c.n_rows), "Sample rows explained with SHAP, for both models.")
    with cols[1]:
        cards.metric_card(
            "Importance order agreement",
            cards.decimal(c.rank_correlation, 3),
            "Spearman's rank correlation of mean |SHAP| per input column: 1 = the models rank the columns in the "
            "same order, 0 = unrelated orders. The small line is the rank-biased overlap (p = 0.9): agreement "
            "among the most important columns counts most (1 = same order, 0 = nothing shared).",
            delta=f"top-weighted {cards.decimal(c.rank_biased_overlap, 3)}",
        )
    with cols[2]:
        shared = round(c.top_k_overlap * c.top_k)
        cards.metric_card(
            f"Top-{c.top_k} features shared",
            f"{shared} of {c.top_k}",
            f"How many of each model's {c.top_k} most important input columns the other model also has in its "
            f"top {c.top_k}.",
        )
    with cols[3]:
        cards.metric_card(
            "Features whose effect flips",
            cards.count(len(c.sign_flips)),
            "Input columns that push the output up in one model and down in the other (e.g. a higher income "
            "raises the risk in one, lowers it in the other)."
            + (f" Here: {', '.join(c.sign_flips)}." if c.sign_flips else ""),
        )


def importance(c: ExplanationComparison) -> None:
    """The importance table (every number, on arrival), then its two charts in a section drawn once opened: a
    page with no chart on arrival does not start the chart library (about a second of the browser's time)."""
    st.subheader("Which input columns matter")
    table = c.features.reset_index()
    table["direction"] = [_direction(r) for _, r in table.iterrows()]
    plain_table(table, IMPORTANCE_COLUMNS)
    panel = lazy_section(
        "Chart: each column's importance in the two models side by side, and how its rank moved",
        PAGE,
        "importance_charts",
        icon=":material/bar_chart:",
    )
    if panel is None:
        return
    with panel:
        left, right = st.columns(2)  # the rank chart names every column on both sides: it needs half the width
        with left:
            st.plotly_chart(figs.importance_bars(c.features, output=output_space_label(c.output, c.class_label)))
        with right:
            st.plotly_chart(figs.rank_slope(c.features))


IMPORTANCE_COLUMNS = {
    "feature": Column("Input column", help="A column of the data."),
    "repo_importance": Column(
        "Importance, repo", "{:.4f}", "Mean |SHAP|: the average absolute contribution in the repo model."
    ),
    "deployed_importance": Column(
        "Importance, deployed", "{:.4f}", "Mean |SHAP|: the average absolute contribution in the deployed model."
    ),
    "repo_rank": Column("Rank, repo", "{:d}", "1 = most important."),
    "deployed_rank": Column("Rank, deployed", "{:d}", "1 = most important."),
    "rank_change": Column(
        "Moved", "{:d}", "Deployed rank minus repo rank: positive = more important in the repo model."
    ),
    "sign_flip": Column(
        "Flips",
        "check",
        "The effect flips: higher values push the output one way in one model and the other way in the other.",
    ),
    "direction": Column(
        "Higher values",
        help="The effect of higher values, repo → deployed: ↑ raises the output, ↓ lowers it, – unclear; "
        "'category' for a column without an order.",
    ),
}


def _direction(r: pd.Series) -> str:
    """The effect of higher values, repo first: "↑ → ↓" raises the output in the repo model, lowers it deployed."""
    arrows = {1: "↑", -1: "↓", 0: "–"}
    d, rp = r.get("deployed_direction"), r.get("repo_direction")
    if d is None or rp is None or pd.isna(d) or pd.isna(rp):
        return "category"
    return f"{arrows.get(int(rp), '?')} → {arrows.get(int(d), '?')}"


def by_change(c: ExplanationComparison) -> list[str]:
    """Features ordered by how much their SHAP values differ between the models (mean |difference|)."""
    return [str(f) for f in c.features["mean_abs_diff"].sort_values(ascending=False, kind="stable").index]


def differences(c: ExplanationComparison) -> None:
    st.subheader("Where the two explanations differ")
    ordered = by_change(c)
    gaps = c.features["mean_abs_diff"]
    st.markdown(
        "Input columns whose SHAP values differ most between the models, on average over the explained rows "
        "(mean |SHAP(repo) − SHAP(deployed)|): "
        + ", ".join(f"**{f}** ({cards.decimal(gaps[f], 4)})" for f in ordered[:3])
        + "."
    )
    panel = lazy_section(
        "Chart: per row, SHAP(repo) − SHAP(deployed) for the columns you pick (a box and a dot per row)",
        PAGE,
        "differences",
        icon=":material/scatter_plot:",
    )
    if panel is None:
        return
    with panel:
        _difference_chart(c, ordered)


def _difference_chart(c: ExplanationComparison, ordered: list[str]) -> None:
    key = state.setting_widget_key(PAGE, "diff_features", ordered[:DEFAULT_DIFF_FEATURES])
    st.session_state[key] = [f for f in st.session_state.get(key) or [] if f in ordered]
    chosen = st.multiselect(
        "Input columns",
        ordered,
        key=key,
        help="Listed by how much the two models' SHAP values for the column differ on average.",
    )
    state.set_page_setting(PAGE, "diff_features", chosen)
    if not chosen:
        st.caption("Pick at least one input column.")
        return
    per_column = max(1, figs.DIFF_POINTS // len(chosen))
    drawn = (
        ""
        if c.n_rows <= per_column
        else (
            f" Dots: {per_column:,} of the {c.n_rows:,} rows per column, those with the largest difference and a "
            "random sample of the others (so the page draws quickly); each box covers every row."
        )
    )
    st.caption(
        "Each dot is one row: SHAP(repo) − SHAP(deployed) for that column, coloured by the column's value. "
        "Dots right of 0: the repo model gives the column more weight towards a higher output on that row." + drawn
    )
    st.plotly_chart(figs.difference_distribution(c.difference_long(chosen), features=chosen))


def dependence(c: ExplanationComparison) -> None:
    st.subheader("How one input column drives each model")
    panel = lazy_section(
        "Chart: one input column's value against each model's SHAP value for it (dependence)",
        PAGE,
        "dependence",
        icon=":material/show_chart:",
    )
    if panel is None:
        return
    with panel:
        ordered = by_change(c)
        key = state.setting_widget_key(PAGE, "dependence", ordered[0])
        if st.session_state.get(key) not in ordered:
            st.session_state[key] = ordered[0]
        feature = st.selectbox(
            "Input column", ordered, key=key, help="Its value (x) against each model's SHAP value for it (y)."
        )
        state.set_page_setting(PAGE, "dependence", feature)
        st.plotly_chart(figs.dependence_overlay(c.dependence(feature), feature))


def disagreeing_rows(comparison: Comparison, c: ExplanationComparison) -> list[Any]:
    """Explained rows whose predictions disagree, most different first (from the predictions section)."""
    rows = getattr(comparison.sections.predictions, "rows", None)
    if not isinstance(rows, pd.DataFrame) or "disagrees" not in rows:
        return []
    explained = rows.loc[rows.index.isin(c.X.index)]
    flagged = explained[explained["disagrees"].astype(bool)]
    if "abs_diff" in flagged:
        flagged = flagged.sort_values("abs_diff", ascending=False, kind="stable")
    return list(flagged.index)


def disagreement_importance(c: ExplanationComparison, rows: list[Any]) -> None:
    """Mean |SHAP| per input column on the rows where the models disagree, against all explained rows."""
    st.subheader("Rows where they disagree")
    if not rows:
        st.info("None of the explained rows has a different prediction from the two models.", icon=":material/info:")
        return
    st.markdown(
        f"**{len(rows):,}** of the {c.n_rows:,} explained rows get a different prediction from the two models "
        "(the largest disagreements were explained on purpose: the share of the random rows is above). "
        "On those rows, which input columns does each model lean on, compared with the random rows?"
    )
    sub = pd.DataFrame(
        {
            "repo_importance": shap_stats.importance(c.repo_values.loc[rows]),
            "deployed_importance": shap_stats.importance(c.deployed_values.loc[rows]),
        }
    )
    sub = sub.loc[(sub["repo_importance"] + sub["deployed_importance"]).sort_values(ascending=False).index]
    table = pd.DataFrame(
        {
            "feature": sub.index.astype(str),
            "gap_disagreeing": (sub["repo_importance"] - sub["deployed_importance"]).to_numpy(),
            "gap_all": (c.features["repo_importance"] - c.features["deployed_importance"])
            .reindex(sub.index)
            .to_numpy(),
        }
    )
    plain_table(
        table,
        {
            "feature": Column("Input column"),
            "gap_disagreeing": Column(
                "Gap, disagreeing",
                "{:+.4f}",
                "Mean |SHAP| in the repo model minus the deployed model, on the disagreeing rows only.",
            ),
            "gap_all": Column(
                "Gap, random",
                "{:+.4f}",
                "Mean |SHAP| in the repo model minus the deployed model, over the random rows (the importance "
                "table above).",
            ),
        },
    )
    panel = lazy_section(
        "Chart: mean |SHAP| of each input column on the disagreeing rows, in each model",
        PAGE,
        "disagreement_importance",
        icon=":material/bar_chart:",
    )
    if panel is not None:
        fig = figs.importance_bars(
            sub, output=output_space_label(c.output, c.class_label), title="Mean |SHAP| on the rows where they disagree"
        )
        panel.plotly_chart(fig)


def notes(c: ExplanationComparison) -> None:
    if c.notes:
        with st.expander(f"Explanation notes ({len(c.notes)})", icon=":material/sticky_note_2:"):
            for line in c.notes:
                st.markdown(f"- {line}")
