"""Predictions: where and how much the two models disagree on the sample data.

Minimal page from the app shell: the headline numbers and the worst slices. The Predictions page's owner
replaces the body below the "body" marker; the frame above it (comparison, title, missing section) stays.
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty
from components import summaries as s

comparison = compute.current_comparison()
if comparison is None:
    empty.no_comparison()
    st.stop()
st.title("Predictions")
result = s.section_dict(comparison, "predictions")
if result is None:
    cards.not_computed(comparison, "predictions", "Prediction differences")
    st.stop()

# ---- body --------------------------------------------------------------------------------------------
cols = st.columns(4)
with cols[0]:
    cards.metric_card("Rows compared", cards.count(result.get("n_rows")), "Sample rows both models predicted.")
with cols[1]:
    cards.metric_card(
        "Disagreement rate",
        cards.percent(result.get("disagreement_rate"), 2),
        "Share of rows with a different predicted outcome (regression: further apart than the tolerance).",
    )
with cols[2]:
    cards.metric_card("Rows that disagree", cards.count(result.get("n_disagreements")), "Rows with another prediction.")
with cols[3]:
    cards.metric_card(
        "Largest change on one row",
        cards.decimal(result.get("max_abs_diff")),
        "Classification: largest change in predicted probability; regression: largest difference in value.",
    )
st.subheader("Where they disagree most")
slices = s.slice_table(result)
if slices:
    st.dataframe(
        slices,
        hide_index=True,
        width="stretch",
        column_config={
            "column": "Column",
            "slice": "Slice",
            "rows": st.column_config.NumberColumn("Rows"),
            "disagreement": st.column_config.ProgressColumn(
                "Disagreement", min_value=0.0, max_value=1.0, format="percent"
            ),
        },
    )
else:
    st.caption("No slices were reported.")
