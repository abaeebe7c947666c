"""Retraining: is each model what its recorded recipe makes, and is their difference more than retraining noise?"""

from __future__ import annotations

import streamlit as st

from components import compute, empty, retraining_view, state

comparison = compute.current_comparison()
spec = state.current_spec()
if comparison is None or spec is None:
    empty.no_comparison()
    st.stop()

st.title("Retraining")
st.markdown(
    "Each model is rebuilt from its recorded recipe (its hyperparameters, fitted again on its training data as "
    "modelgap finds it) and compared with itself on the sample rows. One recipe is also refitted with several "
    "seeds: how much those refits disagree is the **retraining noise**, the difference that retraining alone makes."
)
retraining_view.render(comparison, spec)
