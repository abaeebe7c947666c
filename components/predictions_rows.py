"""The rows where the two models differ most, and the drill-down into one chosen row.

A row id is the row's 0-based position in the data file: the index of `comparison.sample` and of the
predictions section's `rows`, the ids the explanations section picks its rows by, and the `row` query
parameter (`state.chosen_row()`), so a link reproduces the drill-down.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components import cards, predictions_data, state
from components.plain_table import Column, plain_table
from modelgap.comparison import Comparison
from modelgap.figures import predictions as figs
from modelgap.predictions import PredictionComparison
from modelgap.words import format_value

TOP_ROWS = 50
TABLE_KEY = f"{state.PREFIX}predictions.top_rows"
INPUT_KEY = f"{state.PREFIX}widget.predictions.row"


def top_frame(result: PredictionComparison, n: int = TOP_ROWS) -> pd.DataFrame:
    """The `n` rows with the largest difference (ties: lower row first), row id as a column."""
    rows = result.rows
    order = np.lexsort((rows.index.to_numpy(), -rows["abs_diff"].to_numpy(dtype=float)))[:n]
    top = rows.iloc[order]
    top = top[top["abs_diff"] > 0].reset_index()
    columns = ["row", "repo", "deployed", "diff", "abs_diff", "disagrees"]
    if result.task != "regression":
        columns[3:3] = ["repo_score", "deployed_score"]
        top[["repo", "deployed"]] = top[["repo", "deployed"]].astype(str)
    return top[columns]


def _on_pick(row_ids: list[int]) -> None:
    """Table selection -> the chosen row (runs before the next run, so app.py puts it in the address)."""
    event = st.session_state.get(TABLE_KEY)
    picked = list(event["selection"]["rows"]) if event else []
    if picked and 0 <= picked[0] < len(row_ids):
        row = int(row_ids[picked[0]])
        state.set_chosen_row(row)
        st.session_state[INPUT_KEY] = row


def _on_input() -> None:
    value = st.session_state.get(INPUT_KEY)
    state.set_chosen_row(None if value is None else int(value))


def top_rows(result: PredictionComparison) -> None:
    """The top rows as a selectable table, and a box to enter any row id of the sample."""
    frame = top_frame(result)
    classification = result.task != "regression"
    if frame.empty:
        st.caption("The two models give exactly the same output on every row.")
    else:
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            key=TABLE_KEY,
            on_select=partial(_on_pick, frame["row"].astype(int).tolist()),
            selection_mode="single-row",
            column_config={
                "row": st.column_config.NumberColumn("Row", help="Position in the data file, from 0.", format="%d"),
                "repo": st.column_config.Column("Repo predicts", help="The repo model's prediction."),
                "deployed": st.column_config.Column("Deployed predicts", help="The deployed model's prediction."),
                "repo_score": st.column_config.NumberColumn(
                    "Repo probability", format="%.3f", help=_score_help(result)
                ),
                "deployed_score": st.column_config.NumberColumn(
                    "Deployed probability", format="%.3f", help=_score_help(result)
                ),
                "diff": st.column_config.NumberColumn(
                    "Change", format="%+.4f", help=_diff_help(result) + " Repo minus deployed."
                ),
                "abs_diff": st.column_config.NumberColumn("Size of change", format="%.4f", help=_diff_help(result)),
                "disagrees": st.column_config.CheckboxColumn(
                    "Disagree",
                    help="Different label" if classification else "Further apart than the tolerance",
                ),
            },
        )
        st.caption(f"The {len(frame):,} rows that changed most. Select one to see it in detail.")
    chosen = state.chosen_row()
    if st.session_state.get(INPUT_KEY, -1) != chosen:
        st.session_state[INPUT_KEY] = chosen
    box, _ = st.columns([1, 3])
    box.number_input(
        "Or enter any row id",
        min_value=0,
        step=1,
        key=INPUT_KEY,
        on_change=_on_input,
        placeholder="e.g. 42",
        help=f"A row's position in the data file, from 0 to {result.n_rows - 1:,}.",
    )


def _score_help(result: PredictionComparison) -> str:
    if len(result.classes) == 2:
        return f"Predicted probability of class {result.classes[1]!r}."
    return "Predicted probability of the label the model chose."


def _diff_help(result: PredictionComparison) -> str:
    if result.task == "regression":
        return "Difference of the two predicted values."
    if len(result.classes) == 2:
        return f"Change in the probability of class {result.classes[1]!r}."
    return "Change in the probability of the class that moved most."


def drill_down(comparison: Comparison, result: PredictionComparison, row: int | None) -> None:
    """The chosen row: its input values, both predictions and their difference, and a link to its explanation."""
    if row is None:
        st.caption("No row chosen yet.")
        return
    sample = comparison.sample
    if sample is None or row not in sample.index or row not in result.rows.index:
        st.error(_missing_row(row, result, sample), icon=":material/error:")
        return
    st.markdown(f"#### Row {row}")
    left, right = st.columns([2, 3])
    target = comparison.options.target
    with left:
        values = sample.loc[row]
        inputs = [c for c in result.input_columns if c in values.index]
        table = pd.DataFrame({"column": inputs, "value": [_text(values[c]) for c in inputs]})
        plain_table(table, {"column": Column("Input column"), "value": Column("Value")})
        if target is not None and target in values.index:
            st.markdown(f"Actual outcome (`{target}`): **{_text(values[target])}**")
    with right:
        _predictions_of(comparison, result, row)
        st.page_link(
            "pages/explanations.py",
            label=f"Why? Explain row {row} on the Explanations page",
            icon=":material/insights:",
            query_params=state.share_params(),
        )


def _missing_row(row: int, result: PredictionComparison, sample: pd.DataFrame | None) -> str:
    if 0 <= row < result.n_rows:
        return (
            f"Row {row} was compared but is not in the in-memory sample of {0 if sample is None else len(sample):,} "
            "rows kept for drill-downs. Pick a row from the table above."
        )
    return f"Row {row} does not exist: the data has rows 0 to {result.n_rows - 1:,}. Enter a row id in that range."


def _text(value: Any) -> str:
    """An input value as every page shows it (modelgap.words.format_value): 76,300 and 232,736.38."""
    return format_value(value)


def _shown(prediction: Any) -> str:
    """A predicted label as it is, a predicted value to 4 significant digits."""
    value = prediction.item() if isinstance(prediction, np.generic) else prediction
    return cards.fmt_scalar(value) if isinstance(value, float) else str(value)


def _predictions_of(comparison: Comparison, result: PredictionComparison, row: int) -> None:
    r = result.rows.loc[row]
    diff = float(result.rows["diff"].to_numpy(dtype=float)[result.rows.index.get_loc(row)])
    regression = result.task == "regression"
    cols = st.columns(3)
    with cols[0]:
        cards.metric_card("Repo model predicts", _shown(r["repo"]), "The repo model's prediction for this row.")
    with cols[1]:
        cards.metric_card("Deployed model predicts", _shown(r["deployed"]), "The deployed model's prediction.")
    with cols[2]:
        verdict = "disagree" if bool(r["disagrees"]) else "agree"
        cards.metric_card(
            "Difference" if regression else "Probability change",
            cards.fmt_scalar(diff) if np.isfinite(diff) else "—",
            ("Repo minus deployed prediction." if regression else _diff_help(result) + " Repo minus deployed."),
            delta=f"the models {verdict}",
        )
    if regression:
        st.caption(f"Tolerance {cards.fmt_scalar(result.tolerance)}: further apart than this counts as a disagreement.")
        return
    probs = predictions_data.row_probabilities(comparison, row) if result.compared_on == "probabilities" else None
    if probs is None:
        st.caption("A model gives labels only: no probabilities to show.")
        return
    st.plotly_chart(
        figs.row_probabilities(probs.classes, probs.repo[0], probs.deployed[0]), key="predictions_row_proba"
    )
