"""Data: where each model's training data came from, how the two relate, and how the data drifted."""

from __future__ import annotations

import streamlit as st

from components import cards, compute, data_view, empty, state
from components import summaries as s
from components.training_data import training_data_form

PAGE = "data"

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
data = comparison.sections.data
lineage = result.get("lineage") or {}
st.markdown(
    f"What {cards.side_label('repo')} and {cards.side_label('deployed')} were trained on, whether that is the same "
    "data, and how the distributions of the input columns moved between the training sets and the sample.",
    unsafe_allow_html=True,
)
for error in result.get("errors") or []:
    st.error(error, icon=":material/error:")

st.subheader("Where the training data came from")
data_view.relation_verdict(lineage)
left, right = st.columns(2)
for col, side in ((left, "repo"), (right, "deployed")):
    with col:
        data_view.lineage_card(side, lineage.get(side) or {}, data_view.table_columns(data, f"{side}_training"))
spec = state.current_spec()
if spec is not None:
    unknown = not all((lineage.get(side) or {}).get("known") for side in ("repo", "deployed"))
    training_data_form(spec, expanded=unknown)

st.subheader("Drift")
pairs = result.get("drift") or []
if not pairs:
    st.info(
        "No two datasets to compare: drift needs a model's training data (readable here) and the sample data, "
        "or both models' training data.",
        icon=":material/info:",
    )
else:
    ids = [data_view.pair_id(p) for p in pairs]
    pair_key = state.setting_widget_key(PAGE, "pair", ids[0])
    if st.session_state.get(pair_key) not in ids:
        st.session_state[pair_key] = ids[0]
    chosen = st.radio(
        "Compare",
        ids,
        key=pair_key,
        horizontal=True,
        format_func=lambda i: data_view.pair_label(pairs[ids.index(i)]),
        help="Which two datasets: the two training sets, or the sample against one model's training data.",
    )
    state.set_page_setting(PAGE, "pair", chosen)
    pair = pairs[ids.index(chosen)]
    data_view.drift_table(pair, int(result.get("row_budget") or 0))
    column_key = state.setting_widget_key(PAGE, "column", None)
    data_view.drift_charts(pair, data, column_key)
    state.set_page_setting(PAGE, "column", st.session_state.get(column_key))

st.subheader("Diagnosis: what the drift means for the two models")
st.caption(
    "Per input column: its drift, the slice of its values where the models disagree most, and how much each "
    "model relies on it. Columns where several of these stand out come first."
)
data_view.diagnosis(result.get("diagnosis") or [])
for note in result.get("notes") or []:
    st.caption(note)
