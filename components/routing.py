"""Make sure a page runs inside app.py's router, even on the first request a fresh server gets.

Streamlit treats a `pages/` folder next to the entry point as an old-style multipage app until some session
has run `st.navigation` (and AppTest re-detects it before every run). Until then, a URL such as
`/parameters?...` runs `pages/parameters.py` on its own, without app.py: no sidebar, no URL sync. A page
that finds itself in that mode switches it off and runs app.py in its place, in the same script run (a
rerun would lose the click that started this run); app.py then runs the page as usual.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from components.config import APP_ROOT


def ensure_routed() -> None:
    """Call first in every page (compute.current_comparison does): run app.py instead if it was bypassed."""
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False  # what st.navigation itself sets on its first call
    entry = APP_ROOT / "app.py"
    code = compile(entry.read_text(encoding="utf-8"), str(entry), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(entry)})  # our own entry point, in place of the bypassed router
    st.stop()
