"""Predictions: where and how much the two models disagree on the sample data.

Headline numbers (and, for regression, the tolerance), charts of how much the outputs differ, where they
disagree (slices, surrogate rules), metrics against the target, and the rows that changed most with a
drill-down into one row (shared in the address as `row`).
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty, state
from components import predictions_rows as rows_view
from components import predictions_view as view
from components import predictions_where as where
from components import summaries as s
from modelgap.predictions import PredictionComparison

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
section = comparison.sections.predictions
if not isinstance(section, PredictionComparison):
    st.error("The predictions section has an unexpected form; see the Report page.", icon=":material/error:")
    st.stop()
cards_slot = st.container()
shown = view.tolerance_control(comparison, section)
with cards_slot:
    view.headline(shown)
    for note in shown.notes:
        st.caption(note)

st.subheader("How much the predictions differ")
view.charts(comparison, shown)

st.subheader("Where they disagree")
st.markdown("**Slices of the data**: the disagreement rate of each value or value range of each input column.")
where.slices(shown)
st.markdown(
    "**Rules**: a small decision tree that learns, from the input columns, when the two models disagree. "
    "Each rule is one leaf."
)
where.surrogate(shown)

st.subheader("Against the true outcome")
where.metrics(comparison, shown)

st.subheader("Rows")
rows_view.top_rows(shown)
rows_view.drill_down(comparison, shown, state.chosen_row())
