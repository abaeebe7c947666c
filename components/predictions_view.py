"""The Predictions page's upper part: headline cards, the regression tolerance, and how much the two models'
predictions differ: the labels' cross-tab, or the differences' spread, as tables on arrival, with their charts
(heatmap and probability changes, or the differences' histogram and the scatter) in sections drawn once opened."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components import cards, compute, predictions_data, state
from components.lazy_section import lazy_section
from components.plain_table import Column, plain_table
from modelgap.comparison import Comparison
from modelgap.figures import predictions as figs
from modelgap.predictions import PredictionComparison
from modelgap.report.markdown import md

PAGE = "predictions"
TOLERANCE_WIDGET = f"{state.PREFIX}widget.{PAGE}.tolerance"
TOLERANCE_FOR = f"{state.PREFIX}page.{PAGE}.tolerance_for"
APPLY_TOLERANCE = f"{state.PREFIX}{PAGE}.apply_tolerance"


def headline(result: PredictionComparison) -> None:
    """The four big numbers (after any tolerance change)."""
    regression = result.task == "regression"
    cols = st.columns(4)
    with cols[0]:
        cards.metric_card("Rows compared", cards.count(result.n_rows), "Sample rows both models predicted.")
    with cols[1]:
        cards.metric_card(
            "Disagreement rate",
            cards.percent(result.disagreement_rate, 2),
            "Share of rows with a different predicted outcome (regression: further apart than the tolerance).",
        )
    with cols[2]:
        cards.metric_card("Rows that disagree", cards.count(result.n_disagreements), "Rows with another prediction.")
    with cols[3]:
        cards.metric_card(
            "Largest change on one row",
            cards.decimal(result.max_abs_diff),
            "Classification: largest change in predicted probability; regression: largest difference in value.",
            delta=f"average {cards.fmt_scalar(result.mean_abs_diff)}" if regression else None,
        )


def tolerance_control(comparison: Comparison, result: PredictionComparison) -> PredictionComparison:
    """Regression: the tolerance that decides "disagrees", re-measured at once (no model calls) when changed.

    It is the comparison's own tolerance setting (the sidebar's option, `tol` in the address): the box starts
    from it, and **Use everywhere** makes a new value the comparison's, so the Overview, the report and a
    shared link follow. Until then only this page shows the re-measured numbers.
    """
    if result.task != "regression":
        return result
    spec = state.current_spec()
    key = predictions_data.comparison_key()
    if st.session_state.get(TOLERANCE_FOR) != key:  # a new comparison: start from its tolerance
        st.session_state[TOLERANCE_WIDGET] = 0.0 if result.tolerance_is_default else float(result.tolerance or 0.0)
        st.session_state[TOLERANCE_FOR] = key
    left, right, _ = st.columns([3, 1, 2], vertical_alignment="bottom")
    with left:
        value = st.number_input(
            "Tolerance (0 = automatic)",
            min_value=0.0,
            format="%.6g",
            key=TOLERANCE_WIDGET,
            help="How far apart two predictions may be and still count as the same: a row disagrees when "
            "|repo prediction - deployed prediction| is above this. Automatic: 1% of the spread (standard "
            "deviation) of the deployed model's predictions. Changing it re-counts at once.",
        )
    wanted = float(value) if value else None
    shown = predictions_data.measured(comparison, result, wanted)
    current = spec.tolerance if spec is not None else None
    if spec is not None and wanted != current:
        with right:
            if st.button(
                "Use everywhere",
                key=APPLY_TOLERANCE,
                icon=":material/done_all:",
                help="Make this the comparison's tolerance: the Overview, the report and the page address use it.",
            ) and compute.apply(replace(spec, tolerance=wanted)):
                st.rerun()
        st.caption(
            f"Previewing tolerance {cards.fmt_scalar(shown.tolerance)} on this page; the rest of the app still "
            f"uses {cards.fmt_scalar(result.tolerance)}."
        )
    return shown


def charts(comparison: Comparison, result: PredictionComparison) -> None:
    """How much they differ: labels cross-tab and probability changes, or value differences and the scatter.

    (The worst slices' chart is under "Where they disagree", drawn once opened: `predictions_where.slices`.)"""
    if result.task == "regression":
        _regression_charts(result)
    else:
        _classification_charts(comparison, result)


def _classification_charts(comparison: Comparison, result: PredictionComparison) -> None:
    """The labels' cross-tab as a shaded table (every count on arrival), its heatmap and the probability changes
    each in a section drawn once opened: a page with no chart on arrival does not start the chart library (about
    a second of the browser's time on a laptop-class core)."""
    left, right = st.columns(2)
    with left:
        if result.crosstab is not None and len(result.crosstab):
            st.markdown(f"**{CROSSTAB_TITLE}**")
            crosstab_table(result.crosstab)
            st.caption(CROSSTAB_CAPTION)
            panel = lazy_section(
                "Chart: the same counts as a heatmap", PAGE, "crosstab_chart", icon=":material/grid_on:"
            )
            if panel is not None:
                panel.plotly_chart(figs.crosstab_heatmap(result.crosstab), key="predictions_crosstab")
    with right:
        diffs = predictions_data.class_diffs(comparison, result)
        if diffs is None:
            st.info(
                "No probability chart: a model gives labels only, so only the labels were compared.",
                icon=":material/info:",
            )
            return
        per_class, where = diffs
        panel = lazy_section(
            "Chart: how much the predicted probability changed, repo minus deployed (a histogram of the rows)",
            PAGE,
            "proba_chart",
            icon=":material/bar_chart:",
        )
        if panel is not None:
            panel.plotly_chart(figs.probability_diff_histogram(per_class), key="predictions_proba_diffs")
            panel.caption(
                f"From {where}. Right of zero: the repo model gives the class a higher probability than the "
                "deployed model; a narrow spike at zero means they agree."
            )


CROSSTAB_TITLE = "Predicted labels: repo model (rows) against deployed model (columns)"
CROSSTAB_CAPTION = (
    "Each cell counts the rows with that pair of labels; the percentage is of the repo label's row. "
    "The diagonal is where the models agree."
)
REPO_LABEL = "repo model's label"
LIGHT, DARK = (0xF4, 0xF6, 0xFB), (0x2F, 0x5B, 0xEA)  # the heatmap's colour scale (modelgap.figures.predictions)


def crosstab_table(crosstab: pd.DataFrame) -> None:
    """Repo label (rows) x deployed label (columns): "4,474 (98.5%)", shaded by the count as in the heatmap."""
    counts = crosstab.to_numpy(dtype=np.int64)
    pct = figs.row_percent(crosstab)
    frame = pd.DataFrame(counts, columns=[f"deployed {md(v)}" for v in crosstab.columns])  # Markdown, as all cells
    frame.insert(0, REPO_LABEL, [str(v) for v in crosstab.index])
    styler = frame.style.hide(axis="index").format(md, subset=[REPO_LABEL])
    for j, column in enumerate(frame.columns[1:]):
        for i in range(len(frame)):
            styler = styler.format(f"{counts[i, j]:,} ({pct[i, j]:.1f}%)", subset=pd.IndexSlice[[i], [column]])
    top = max(int(counts.max()), 1)

    def shade(count: Any) -> str:
        share = count / top
        rgb = ",".join(str(round(lo + (hi - lo) * share)) for lo, hi in zip(LIGHT, DARK, strict=True))
        return f"background-color: rgb({rgb}); color: {'#FFFFFF' if share > 0.5 else '#1B2233'}"

    styler = styler.map(shade, subset=list(frame.columns[1:]))
    st.table(styler, hide_index=True)


DIFF_TITLE = "How far apart the predictions are: repo minus deployed"
DIFF_QUANTILES = (
    (0.0, "Smallest"),
    (0.05, "5th percentile"),
    (0.5, "Median"),
    (0.95, "95th percentile"),
    (1.0, "Largest"),
)
DIFF_COLUMNS = {
    "statistic": Column("Over the compared rows"),
    "difference": Column("Repo minus deployed", "{:,.4g}", help="The repo model's prediction minus the deployed's."),
}


def difference_summary(diff: np.ndarray) -> pd.DataFrame:
    """The differences' spread as a few numbers (percentiles of the rows that both models predicted, and the
    mean distance): what the histogram shows, readable on arrival."""
    values = np.asarray(diff, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return pd.DataFrame({"statistic": [], "difference": []})
    rows = [(label, float(np.quantile(values, q))) for q, label in DIFF_QUANTILES]
    rows.append(("Mean distance (absolute)", float(np.mean(np.abs(values)))))
    return pd.DataFrame(rows, columns=["statistic", "difference"])


def _regression_charts(result: PredictionComparison) -> None:
    """The differences' spread as a table on arrival, beside the histogram and the scatter, each in a section
    drawn once opened (as for classification: no chart library on arrival)."""
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{DIFF_TITLE}**")
        plain_table(difference_summary(result.outputs.diff), DIFF_COLUMNS)
    with right:
        panel = lazy_section(
            "Chart: the same differences, row by row (a histogram)", PAGE, "diff_chart", icon=":material/bar_chart:"
        )
        if panel is not None:
            hist = figs.value_diff_histogram(result.outputs.diff, result.tolerance)
            panel.plotly_chart(hist, key="predictions_diffs")
            panel.caption(
                f"All {result.n_rows:,} compared rows. Outside the dashed lines, the two predictions disagree."
            )
        panel = lazy_section(
            "Chart: repo prediction against deployed prediction, one point a row",
            PAGE,
            "scatter_chart",
            icon=":material/scatter_plot:",
        )
        if panel is not None:
            rows = result.rows
            fig = figs.regression_scatter(
                rows["repo"].to_numpy(), rows["deployed"].to_numpy(), result.tolerance, rows=rows.index.to_numpy()
            )
            panel.plotly_chart(fig, key="predictions_scatter")
            panel.caption(
                "On the line both models predict the same; inside the grey band they are within the tolerance."
            )
