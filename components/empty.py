"""What a page shows when there is no comparison: how to build the demo, or why the comparison failed."""

from __future__ import annotations

import streamlit as st

from components import compute, state
from components.config import demo_dir


def no_comparison() -> None:
    """Explain the empty page: build the demo (button with progress), or fix the sources in the sidebar."""
    if state.current_spec() is None:
        st.title("modelgap")
        st.markdown(
            "Is the model in your repository the model that is deployed? Pick a **repo model** and a "
            "**deployed model** in the sidebar, or build the demo workspace to see a realistic comparison."
        )
        st.info(
            f"The demo workspace is not built yet (expected in `{demo_dir()}`). Build it from a terminal with "
            "`make demo` (or `python -m modelgap demo`), or with the button below: it takes about half a minute.",
            icon=":material/construction:",
        )
        clicked = st.button("Build the demo now", key="modelgap.build_demo", type="primary", icon=":material/build:")
        if clicked and compute.build_demo_with_progress():
            demo = compute.demo_spec()
            if demo is not None:
                state.set_spec(demo)
            st.rerun()
        return
    st.info(
        "There is no comparison to show: the models could not be compared (the reason is above). "
        "Change the sources in the sidebar and press **Compare**.",
        icon=":material/info:",
    )
