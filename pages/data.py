"""Data: where each model's training data came from, and how the sample differs from it (drift).

Minimal page from the app shell: the section's headline numbers. The Data page's owner replaces the body
below the "body" marker.
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty
from components import summaries as s

comparison = compute.current_comparison()
if comparison is None:
    empty.no_comparison()
    st.stop()
st.title("Data")
result = s.section_dict(comparison, "data")
if result is None:
    cards.not_computed(comparison, "data", "Training-data lineage and drift")
    st.stop()

# ---- body --------------------------------------------------------------------------------------------
numbers = s.headline_scalars(result)
if numbers:
    for col, (name, value) in zip(st.columns(len(numbers)), numbers, strict=True):
        with col:
            cards.metric_card(
                name.replace("_", " ").capitalize(), cards.fmt_scalar(value), f"`{name}` in the JSON report."
            )
with st.expander("Everything the data section reports"):
    st.json(result, expanded=1)
