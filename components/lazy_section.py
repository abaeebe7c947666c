"""A section drawn only once opened: an expander that reruns the page when toggled.

Streamlit sends (and the browser draws) everything inside an ordinary expander or tab, open or not: a chart
below the fold costs its page a few hundred milliseconds of the browser's time on every visit. A lazy section
sends nothing while closed, so its label must say what it holds; opening it reruns the page and draws it.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components import state


def key_for(page: str, name: str) -> str:
    """The section's widget key (`modelgap.widget.<page>.open.<name>`): True in session state means open."""
    return f"{state.PREFIX}widget.{page}.open.{name}"


def lazy_section(label: str, page: str, name: str, *, icon: str | None = None) -> DeltaGenerator | None:
    """An expander labelled `label`; its container when open, None when closed (draw nothing then)."""
    panel = st.expander(label, icon=icon, key=key_for(page, name), on_change="rerun")
    return panel if panel.open else None
