"""Name each model's training data (the CLI's --repo-training-data / --deployed-training-data) from the app.

Applied like a picker change: the comparison is recomputed with the paths, and if that fails (a path outside
the allowed folders, say) the previous comparison stays and the reason is shown. The paths are part of the
comparison spec, so a shared link carries them (`repo_train`, `deployed_train`).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from components import compute, state
from components.config import check_allowed_path
from components.state import ComparisonSpec
from modelgap.errors import ModelgapError

PREFIX = "modelgap.data.train."
SEEDED = PREFIX + "seeded_from"
APPLY = PREFIX + "apply"


def key(side: str) -> str:
    return f"{PREFIX}{side}"


def _seed(spec: ComparisonSpec) -> None:
    if st.session_state.get(SEEDED) != spec.key():
        st.session_state[key("repo")] = spec.repo_training_data or ""
        st.session_state[key("deployed")] = spec.deployed_training_data or ""
        st.session_state[SEEDED] = spec.key()


def training_data_form(spec: ComparisonSpec, *, expanded: bool) -> None:
    """Two path inputs and an Apply button, folded away unless a model's training data is unknown."""
    _seed(spec)
    with st.expander("Name the training data", expanded=expanded, icon=":material/edit:"):
        st.caption(
            "When a model's source does not record what it was trained on (no MLflow dataset input, no .dvc "
            "file), name the CSV or Parquet file on this server. A named file wins over a recorded one."
        )
        left, right = st.columns(2)
        with left:
            repo = st.text_input("Repo model's training data", key=key("repo"), placeholder="data/train.csv")
        with right:
            deployed = st.text_input("Deployed model's training data", key=key("deployed"), placeholder="data/old.csv")
        if st.button("Apply", key=APPLY, icon=":material/check:"):
            try:
                for what, path in (("The repo model's training data", repo), ("The deployed model's", deployed)):
                    if path.strip():
                        check_allowed_path(path.strip(), what)
            except ModelgapError as err:
                state.set_apply_error(err.one_line())
            else:
                candidate = replace(
                    spec,
                    repo_training_data=repo.strip() or None,
                    deployed_training_data=deployed.strip() or None,
                )
                if compute.apply(candidate):
                    st.session_state[SEEDED] = candidate.key()
                    st.rerun()
        message = state.apply_error()
        if message:
            st.error(f"Not changed: {message}", icon=":material/error:")
