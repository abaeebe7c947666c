"""Report: the release verdict, every readiness check behind it, the policy, and the exported reports.

For a manager preparing a release decision: the verdict and its reasons, every check with a link to its
evidence, the reports to download or paste into a pull request, and (only when asked) a record of the verdict
on the repo model's MLflow run.
"""

from __future__ import annotations

import streamlit as st

from components import cards, compute, empty, report_view, signoff_view, state, writeback_view
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
links = state.share_params()
spec = state.current_spec()
key = compute.comparison_key(spec) if spec is not None else ""
report_view.verdict_panel(verdict, links, here="pages/report.py")

st.subheader("Every check", help="Worst first. Each check links to the page that shows its evidence.")
report_view.checks_table(verdict, links, here="pages/report.py")

if report_view.endpoint_involved(comparison):
    st.subheader("Serving parity", help="Does the scoring endpoint answer like the artifact it claims to serve?")
    report_view.parity_card(comparison)

st.subheader("Download the report")
reports = report_view.rendered_reports(comparison, key)
report_view.downloads(reports, comparison)
report_view.markdown_preview(reports["markdown"])

st.subheader("Policy", help="The thresholds that turned the numbers into pass / warn / fail.")
report_view.policy_view(verdict)

st.subheader("Record on MLflow", help="Optional, and only when you ask: nothing is written otherwise.")
writeback_view.writeback_panel(comparison, spec.tracking_uri if spec else None, key)

st.subheader("Sign-off", help="Who approved this comparison, recorded on the repo model in MLflow when you press.")
signoff_view.panel(comparison, spec, reports["json"])

cards.notes(comparison)
