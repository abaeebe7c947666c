"""Explanations: do the two models rely on the same input columns (SHAP importance, per input column)?

Minimal page from the app shell: headline numbers and the importance table. The Explanations page's owner
replaces the body below the "body" marker.
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty
from components import summaries as s

comparison = compute.current_comparison()
if comparison is None:
    empty.no_comparison()
    st.stop()
st.title("Explanations")
result = s.section_dict(comparison, "explanations")
if result is None:
    cards.not_computed(comparison, "explanations", "Explanations")
    st.stop()

# ---- body --------------------------------------------------------------------------------------------
cols = st.columns(3)
with cols[0]:
    cards.metric_card("Rows explained", cards.count(result.get("n_rows")), "Sample rows explained with SHAP, for both.")
with cols[1]:
    cards.metric_card(
        "Importance order agreement",
        cards.decimal(result.get("rank_correlation"), 2),
        "Spearman's rank correlation of mean |SHAP| per input column: 1 = same order.",
    )
with cols[2]:
    cards.metric_card(
        "Top features shared",
        cards.percent(result.get("top_k_overlap"), 0),
        "Share of the most important input columns the two models have in common.",
    )
st.subheader("Importance of each input column")
st.dataframe(
    [f for f in result.get("features") or [] if isinstance(f, dict)],
    hide_index=True,
    width="stretch",
    column_order=("feature", "deployed_rank", "repo_rank", "deployed_importance", "repo_importance"),
    column_config={
        "feature": "Input column",
        "deployed_rank": "Rank (deployed)",
        "repo_rank": "Rank (repo)",
        "deployed_importance": st.column_config.NumberColumn("Importance (deployed)", format="%.4f"),
        "repo_importance": st.column_config.NumberColumn("Importance (repo)", format="%.4f"),
    },
)
