"""Explanations: do the two models rely on the same input columns, and why do they differ on one row?

SHAP for both models on the same rows, in the same output space, per input column of the data: how they were
explained, how the rows were chosen, headline numbers, importance side by side, where the explanations differ,
the rows where the models disagree, and one chosen row (the `row` of the address, which the Predictions page sets).
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty
from components import explained_rows as rows_view
from components import explanation_row as row_view
from components import explanations_view as view
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
explained = comparison.sections.explanations
view.methods(explained)
rows_view.how_rows_were_chosen(comparison, explained)
shown = view.class_choice(explained)
view.headline(shown)
view.importance(shown)
view.differences(shown)
view.dependence(shown)
disagreeing = view.disagreeing_rows(comparison, shown)
view.disagreement_importance(shown, disagreeing)
row_view.section(comparison, shown, disagreeing)
view.notes(shown)
