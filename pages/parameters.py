"""Parameters: side-by-side differences in settings, pipeline, input schema, environment and MLflow metadata."""

from __future__ import annotations

import streamlit as st

from components import cards, compute, diff_table, empty, state
from components import summaries as s

PAGE = "parameters"

comparison = compute.current_comparison()
if comparison is None:
    empty.no_comparison()
    st.stop()
p = comparison.parameters

st.title("Parameters")
st.markdown(
    f"What differs between {cards.side_label('repo')} and {cards.side_label('deployed')} before any data is "
    "involved: the model's settings, the steps of its pipeline, the input columns it expects, the libraries it "
    "was saved with, and what MLflow recorded about it.",
    unsafe_allow_html=True,
)
cards.identity_banners(comparison, settings_table=True)
family = s.estimator_family(comparison)

left, right = st.columns([3, 1], vertical_alignment="bottom")
with left:
    query = st.text_input(
        "Search",
        key=state.setting_widget_key(PAGE, "search", ""),
        placeholder="Filter by name or value, e.g. learning_rate or sklearn",
    )
    state.set_page_setting(PAGE, "search", query)
with right:
    show_all = st.toggle(
        "Show unchanged too",
        key=state.setting_widget_key(PAGE, "show_all", False),
        help="By default only differences are listed.",
    )
    state.set_page_setting(PAGE, "show_all", show_all)

repo_types = {f.name: f.dtype for f in comparison.repo.features}
deployed_types = {f.name: f.dtype for f in comparison.deployed.features}
groups = {
    "Hyperparameters": (diff_table.keyed_rows(p.hyperparameters, show_all=show_all), p.hyperparameters),
    "Pipeline structure": (diff_table.keyed_rows(p.pipeline, show_all=show_all), p.pipeline),
    "Input schema": (diff_table.schema_rows(p.schema, repo_types, deployed_types, show_all=show_all), None),
    "Environment": (diff_table.keyed_rows(p.environment, show_all=show_all), p.environment),
    "MLflow metadata": (
        diff_table.keyed_rows(p.run_params, show_all=show_all, prefix="run_params.")
        + diff_table.keyed_rows(p.metadata, show_all=show_all),
        p.metadata,
    ),
}
filtered = {name: diff_table.filter_rows(rows, query) for name, (rows, _diff) in groups.items()}
counts = s.parameter_counts(p)
differences = {
    "Hyperparameters": p.hyperparameters.n_differences + len(p.hyperparameters.unknown),
    "Pipeline structure": p.pipeline.n_differences,
    "Input schema": counts.schema_differences,
    "Environment": p.environment.n_differences,
    "MLflow metadata": p.run_params.n_differences + p.metadata.n_differences,
}
HELP = {
    "Hyperparameters": "The model's settings, flattened as scikit-learn's get_params(deep=True) lists them "
    "(nested steps joined with __). 'not recorded': the model file does not store that setting.",
    "Pipeline structure": "Which steps and transformers the pipeline has, and which columns each one handles.",
    "Input schema": "The columns each model expects in its input data, with their types.",
    "Environment": "Library and Python versions recorded when each model was saved.",
    "MLflow metadata": "What MLflow knows: registry version, aliases, creation time, tags, and the parameters "
    "logged with the training run (run_params.*, reported apart from the model's own settings).",
}

tabs = st.tabs([f"{name} ({differences[name]})" for name in groups])
for tab, (name, (_rows, diff)) in zip(tabs, groups.items(), strict=True):
    with tab:
        st.caption(HELP[name])
        if diff is not None and not diff.known:
            st.info("Unknown for one side: that source cannot report these values (e.g. a bare scoring endpoint).")
            continue
        if name == "Input schema" and p.schema.order_changed:
            st.caption("The column order differs; modelgap lines the columns up by name before predicting.")
        rest, own = diff_table.split_family(filtered[name], family if diff is not None else None)
        if rest:
            diff_table.show_table(rest, name_label="Column" if name == "Input schema" else "Name")
        elif own:
            st.caption("Every difference here belongs to the estimator family change, below.")
        elif query:
            st.caption(f"Nothing here matches “{query}”.")
        else:
            st.success("No differences.", icon=":material/check:")
        if own and family is not None:
            diff_table.family_table(own, family, key=f"modelgap.parameters.family.{name}")
        if diff is not None:
            diff_table.show_long_diffs(diff_table.long_diffs(diff, query))
