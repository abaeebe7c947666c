"""The chosen row on the Explanations page: both explanations side by side, why the output moved, a row picker,
and "Explain row N" for a row outside the explained ones (same engine, cached per comparison and row).

The extra explanation is shared by every session looking at the same comparison and row (it depends on
nothing else), in a bounded `st.cache_resource` slot of the app's one cache helper (`components.cache`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pandas as pd
import streamlit as st

from components import cards, compute, state
from components.cache import RESULT_TTL_S, Slot, fill
from components.lazy_section import lazy_section
from components.plain_table import Column, plain_table
from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.explanations import ExplanationComparison, explain_rows, output_space_label, row_sentence
from modelgap.explanations.engine import AGNOSTIC_METHOD
from modelgap.figures import explanations as figs
from modelgap.redact import log_exception
from modelgap.words import format_value

LOG = logging.getLogger("modelgap.app")
PICK_KEY = "modelgap.explanations.row_pick"
EXPLAIN_KEY = "modelgap.explanations.explain_row"
CANCEL_KEY = "modelgap.explanations.cancel"
ROW_VIEW_KEY = "modelgap.widget.explanations.row_view"  # the open tab of the row's charts
_CANCELLED = "modelgap.explanations.cancelled"  # the row whose explanation the user cancelled
ROW_ENTRIES = 32


@st.cache_resource(max_entries=ROW_ENTRIES, ttl=RESULT_TTL_S, show_spinner=False)
def _row_slot(key: str) -> Slot:
    return Slot()


def _slot_for(row: int) -> Slot | None:
    """The cache slot of (current comparison, row); all classes of a row are explained together."""
    spec = state.current_spec()
    return None if spec is None else _row_slot(f"{compute.comparison_key(spec)}\0row={row}")


def picker(c: ExplanationComparison, disagreeing: list[Any], chosen: int | None) -> None:
    """Selectbox of the explained rows (disagreeing first); choosing one becomes the page's chosen row."""
    flagged = {int(r) for r in disagreeing}
    options = [int(r) for r in disagreeing] + [int(r) for r in c.rows if int(r) not in flagged]
    st.session_state[PICK_KEY] = chosen if chosen in options else None
    st.selectbox(
        "Row",
        options,
        key=PICK_KEY,
        index=None,
        placeholder="Pick an explained row",
        format_func=lambda r: f"Row {r}" + (" (the models disagree)" if r in flagged else ""),
        on_change=lambda: state.set_chosen_row(st.session_state.get(PICK_KEY)),
        help="Rows are numbered by their position in the data file, from 0. Rows where the two models predict "
        "differently come first, the most different first. The Predictions page links here too.",
    )


def section(comparison: Comparison, c: ExplanationComparison, disagreeing: list[Any]) -> None:
    """The chosen-row section: picker, then the row's explanations (explaining it first when needed)."""
    st.subheader("One row: why do the two models differ here?")
    chosen = state.chosen_row()
    if chosen is None and disagreeing:
        chosen = int(disagreeing[0])
    elif chosen is None and c.default_row is not None:
        chosen = int(c.default_row)
    picker(c, disagreeing, chosen)
    if chosen is None:
        return
    if chosen in set(int(r) for r in c.rows):
        show_row(c, chosen)
        return
    extra = _extra_row(comparison, c, chosen)
    if extra is not None:
        show_row(extra, chosen)


def _extra_row(comparison: Comparison, c: ExplanationComparison, row: int) -> ExplanationComparison | None:
    """The comparison for one row outside the explained ones: cached, or explained when the user asks."""
    sample = comparison.sample
    if sample is None or row not in sample.index:
        st.info(
            f"Row {row} is not among the rows kept in memory for this comparison, so it cannot be explained here.",
            icon=":material/info:",
        )
        return None
    slot = _slot_for(row)
    if slot is None:
        return None
    if slot.value is None:
        if st.session_state.pop(_CANCELLED, None) == row:
            st.info(f"Explaining row {row} was cancelled.", icon=":material/cancel:")
        holder = st.empty()  # the offer disappears once the row is being explained
        with holder.container():
            st.caption(f"Row {row} is not among the {c.n_rows:,} rows explained for this comparison.")
            clicked = st.button(f"Explain row {row}", key=EXPLAIN_KEY, icon=":material/insights:")
        if not clicked:
            return None
        holder.empty()
        try:
            _explain_into(slot, comparison, c, row)
        except ModelgapError as err:
            st.error(err.one_line(), icon=":material/error:")
            return None
        except Exception as exc:  # noqa: BLE001 - shown to the user and logged (redacted); the rest of the page keeps working
            log_exception(LOG, "Explaining row %s failed", row)
            st.error(f"Row {row} could not be explained: {type(exc).__name__}: {exc}", icon=":material/error:")
            return None
    result = slot.value
    if result is None:
        return None
    return result if result.target == c.target else result.for_target(c.target)


def _explain_into(slot: Slot, comparison: Comparison, c: ExplanationComparison, row: int) -> None:
    """Fill the row's slot (`components.cache.fill`: once, under its lock; another session asking waits)."""
    fill(slot, lambda: _explain(comparison, c, row), f"Another session is explaining row {row}; waiting for it.")


def _explain(comparison: Comparison, c: ExplanationComparison, row: int) -> ExplanationComparison:
    """Explain one row with the section's engine, showing progress; model-agnostic work can be cancelled."""
    stop = threading.Event()
    agnostic = AGNOSTIC_METHOD in c.method.values()
    with st.status(f"Explaining row {row}…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")
        cancel = st.empty()
        if agnostic:
            # The click reruns the page, which interrupts this run at its next progress update; the event
            # also ends the engine's loop between chunks (should_stop).
            cancel.button(
                "Cancel",
                key=CANCEL_KEY,
                icon=":material/cancel:",
                on_click=_cancel,
                args=(stop, row),
                help="Model-agnostic SHAP evaluates the model many times per row; stop it here.",
            )

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        sample = comparison.sample
        assert sample is not None  # checked by the caller
        result = explain_rows(comparison, sample.loc[[row]], progress, should_stop=stop.is_set)
        cancel.empty()
        status.update(label=f"Row {row} explained", state="complete", expanded=False)
    return result


def _cancel(stop: threading.Event, row: int) -> None:
    stop.set()
    st.session_state[_CANCELLED] = row


def show_row(c: ExplanationComparison, row: int) -> None:
    """Both explanations of one row side by side, the change per input column and the sentence that sums it up."""
    summary = c.row_summary(row)
    frame = c.row(row)
    st.markdown(f"**{row_sentence(c, row)}**")
    what = output_space_label(c.output, c.class_label)
    cols = st.columns(3)
    with cols[0]:
        cards.metric_card("Repo model output", cards.decimal(summary["repo_output"], 4), f"The repo model's {what}.")
    with cols[1]:
        cards.metric_card(
            "Deployed model output", cards.decimal(summary["deployed_output"], 4), f"The deployed model's {what}."
        )
    with cols[2]:
        cards.metric_card(
            "Change (repo − deployed)",
            f"{summary['output_change']:+.4f}",
            "Equals the change of the base value plus the sum of the per-column changes below.",
        )
    # Only the open tab's chart is drawn: switching tabs reruns the page (tabs otherwise draw all their charts).
    panel = lazy_section(
        f"Chart: row {row}'s two explanations, from base value to output, and what changed",
        "explanations",
        "row_charts",
        icon=":material/waterfall_chart:",
    )
    if panel is not None:
        with panel:
            side_by_side, changes = st.tabs(["Both explanations", "What changed"], key=ROW_VIEW_KEY, on_change="rerun")
            if changes.open:
                changes.plotly_chart(figs.row_comparison(frame, summary))
            else:
                side_by_side.plotly_chart(figs.row_waterfalls(frame, summary))
    table = frame.reset_index()
    table["value"] = table["value"].map(format_value)  # as the Predictions page shows it (modelgap.words)
    plain_table(
        table,
        {
            "feature": Column("Input column"),
            "value": Column("Value in this row"),
            "repo": Column("SHAP (repo)", "{:+.4f}", f"Contribution to the {what}."),
            "deployed": Column("SHAP (deployed)", "{:+.4f}", f"Contribution to the {what}."),
            "change": Column("Change", "{:+.4f}", "SHAP(repo) − SHAP(deployed): how this column moved the output."),
        },
    )
    totals = pd.DataFrame(
        {
            "model": ["repo", "deployed"],
            "base": [summary["repo_base"], summary["deployed_base"]],
            "contributions": [float(frame["repo"].sum()), float(frame["deployed"].sum())],
            "output": [summary["repo_output"], summary["deployed_output"]],
        }
    )
    plain_table(
        totals,
        {
            "model": Column("Model"),
            "base": Column("Base value", "{:.4f}", "The average output (SHAP base)."),
            "contributions": Column("Sum of contributions", "{:+.4f}", "The SHAP values of this row added up."),
            "output": Column("Output", "{:.4f}", f"The model's {what} for this row."),
        },
    )
