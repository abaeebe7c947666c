"""Report: the release verdict, every readiness check behind it, and the exported reports.

Minimal page from the app shell: the verdict card and the checks table. The Report page's owner replaces
the body below the "body" marker (downloads of the JSON / Markdown / HTML reports, policy details).
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty
from components import summaries as s

comparison = compute.current_comparison()
if comparison is None:
    empty.no_comparison()
    st.stop()
st.title("Report")
verdict = s.section_dict(comparison, "verdict")
if verdict is None:
    cards.not_computed(comparison, "verdict", "The release verdict and its checks")
    st.stop()

# ---- body --------------------------------------------------------------------------------------------
cards.verdict_card(verdict, more="in the table below")
st.subheader("Every check")
st.dataframe(
    [
        {
            "status": str(c.get("status")),
            "check": c.get("title") or c.get("name"),
            "message": c.get("message"),
        }
        for c in verdict.get("checks") or []
        if isinstance(c, dict)
    ],
    hide_index=True,
    width="stretch",
    column_config={"status": "Status", "check": "Check", "message": st.column_config.TextColumn("What it found")},
)
