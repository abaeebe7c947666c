"""Where the two models disagree (slices of the data and the surrogate tree's rules) and, with a target column,
how each model scores against it (metrics with paired-bootstrap intervals, flips, backward trust compatibility)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import cards, state
from components.lazy_section import lazy_section
from components.plain_table import Column, plain_table
from components.summaries import MIN_SLICE_ROWS
from modelgap import words
from modelgap.comparison import Comparison
from modelgap.figures.report import metric_deltas_figure, slices_figure
from modelgap.predictions import PredictionComparison

PAGE = "predictions"
METRIC_HELP = {  # name -> what it measures (names and directions: modelgap.words, as in the reports)
    "accuracy": "Share of labelled rows the model gets right.",
    "roc_auc": "How well the probabilities rank the positive rows above the others (0.5 = chance, 1 = perfect).",
    "log_loss": "Penalty for confident wrong probabilities; lower is better.",
    "f1": "Balance of precision and recall (binary: the positive class; multiclass: averaged over classes).",
    "mae": "Average size of the error, in the target's units; lower is better.",
    "rmse": "Like the average error, but large errors count more; lower is better.",
    "r2": "Share of the target's variation the model explains (1 = all of it).",
}


def slice_frame(result: PredictionComparison) -> pd.DataFrame:
    """Every reported slice, most surprising first (the z-score: deviation from the overall rate given its size)."""
    records = [s.to_dict() for s in result.slices]
    frame = pd.DataFrame(records, columns=["column", "slice", "n_rows", "n_disagree", "rate", "lift", "z"])
    return frame.sort_values(["z", "n_rows"], ascending=[False, False], kind="stable").reset_index(drop=True)


def slices(result: PredictionComparison) -> None:
    """The slice table, filterable by column and minimum slice size."""
    frame = slice_frame(result)
    if frame.empty:
        st.caption("No slices: the models agree on every row, or disagree on every row.")
        return
    left, right = st.columns([3, 1])
    with left:
        chosen = st.multiselect(
            "Columns",
            sorted(frame["column"].unique()),
            key=state.setting_widget_key(PAGE, "slice_columns", []),
            placeholder="All columns",
            help="Show only the slices of these input columns.",
        )
        state.set_page_setting(PAGE, "slice_columns", chosen)
    with right:
        min_rows = st.number_input(
            "Minimum slice size (rows)",
            min_value=1,
            step=10,
            key=state.setting_widget_key(PAGE, "slice_min_rows", MIN_SLICE_ROWS),
            help="Smaller slices are mostly noise: a handful of rows can disagree by chance.",
        )
        state.set_page_setting(PAGE, "slice_min_rows", int(min_rows))
    shown = frame[frame["n_rows"] >= int(min_rows)]
    if chosen:
        shown = shown[shown["column"].isin(chosen)]
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="predictions_slice_table",
        column_config={
            "column": st.column_config.TextColumn("Column", help="The input column the slice is cut from."),
            "slice": st.column_config.TextColumn("Slice", help="A value, or a value range (low, high]."),
            "n_rows": st.column_config.NumberColumn("Rows", help="Rows in the slice.", format="localized"),
            "n_disagree": st.column_config.NumberColumn(
                "Disagree", help="Rows of the slice that disagree.", format="localized"
            ),
            "rate": st.column_config.ProgressColumn(
                "Disagreement", min_value=0.0, max_value=1.0, format="percent", help="Share of the slice's rows."
            ),
            "lift": st.column_config.NumberColumn(
                "× overall", format="%.2f", help="The slice's disagreement rate divided by the overall rate."
            ),
            "z": st.column_config.NumberColumn(
                "Deviation",
                format="%.1f",
                help="How unusual the slice's rate is given its size (a z-score): above about 3, not chance.",
            ),
        },
    )
    st.caption(f"{len(shown):,} of {len(frame):,} slices shown, most unusual first.")
    fig = slices_figure(result.to_dict(), min_rows=MIN_SLICE_ROWS)
    if fig is None:
        return
    panel = lazy_section(
        f"Chart: the slices of at least {MIN_SLICE_ROWS} rows with the highest disagreement rates",
        PAGE,
        "slices_chart",
        icon=":material/bar_chart:",
    )
    if panel is not None:
        panel.plotly_chart(fig, key="predictions_slices_chart")


def rule_frame(result: PredictionComparison) -> pd.DataFrame:
    rules = result.surrogate.rules
    return pd.DataFrame(
        {
            "rule": [r.rule for r in rules],
            "n_rows": [r.n_rows for r in rules],
            "n_disagree": [r.n_disagree for r in rules],
            "rate": [r.rate for r in rules],
            "predicts_disagree": [r.predicts_disagree for r in rules],
        }
    )


def surrogate(result: PredictionComparison) -> None:
    """The surrogate tree's rules as a table, with how faithfully they describe the rows."""
    tree = result.surrogate
    if not tree.rules:
        st.caption(tree.note or "No rules: there is nothing to describe.")
        return
    plain_table(
        rule_frame(result),
        {
            "rule": Column("When", help="The conditions of one leaf of the tree."),
            "n_rows": Column("Rows", "localized", "Rows that match the rule."),
            "n_disagree": Column("Disagree", "localized", "Matching rows where the models disagree."),
            "rate": Column("Disagreement", "percent", "Share of the matching rows.", bar=True),
            "predicts_disagree": Column("Flagged", "check", "The tree marks these rows as 'models disagree here'."),
        },
    )
    cols = st.columns(3)
    with cols[0]:
        cards.metric_card(
            "Rules' balanced accuracy",
            cards.decimal(tree.balanced_accuracy, 2),
            "How faithfully the rules separate disagreeing from agreeing rows, each group weighted equally "
            "(0.5 = no better than chance, 1 = perfect). Measured on these rows, not a forecast.",
        )
    with cols[1]:
        cards.metric_card(
            "Disagreements caught",
            cards.percent(tree.captured, 1),
            "Share of all disagreeing rows that fall under a flagged rule.",
        )
    with cols[2]:
        cards.metric_card(
            "Rows described", cards.count(tree.n_rows), "Rows the rules were measured on (the in-memory sample)."
        )


def metrics(comparison: Comparison, result: PredictionComparison) -> None:
    """Each model's metrics against the target, the change with its 95% interval, flips and trust compatibility."""
    section = comparison.sections.metrics
    if comparison.options.target is None:
        st.info(
            "No target column was given, so there are no metrics. To add one, open **Change the comparison** in the "
            "sidebar, choose the true-outcome column as **Label column** under **Sample data**, then **Compare**.",
            icon=":material/target:",
        )
        return
    if section is None:
        cards.not_computed(comparison, "metrics", "Metrics")
        return
    table = metric_table(section.to_dict())
    plain_table(
        pd.DataFrame(table, columns=list(METRIC_COLUMNS)),
        METRIC_COLUMNS,
    )
    meanings = [f"**{r['metric']}**: {r['meaning']}" for r in table if r["meaning"]]
    if meanings:  # under the table, where they wrap, rather than a wide column a laptop screen cuts off
        st.caption(" · ".join(meanings))
    n_rows = getattr(section, "n_rows", None)
    if isinstance(n_rows, int):
        st.caption(f"On {n_rows:,} labelled rows (target column `{comparison.options.target}`).")
    fig = metric_deltas_figure(section.to_dict())
    panel = None
    if fig is not None:
        panel = lazy_section(
            "Chart: each metric's change with its 95% interval, read as better, worse or no clear change",
            PAGE,
            "metric_deltas",
            icon=":material/insights:",
        )
    if panel is not None:
        panel.plotly_chart(fig, key="predictions_metric_deltas")
    for note in getattr(section, "notes", []) or []:
        st.caption(note)
    if result.flips:
        _flips(result.flips)


METRIC_COLUMNS = {
    "metric": Column("Metric"),
    "repo": Column("Repo", "{:.4f}", "The repo model's score."),
    "deployed": Column("Deployed", "{:.4f}", "The deployed model's score."),
    "delta": Column("Change", "{:+.4f}", "Repo minus deployed."),
    "interval": Column(
        "95% interval of the change",
        help="From a paired bootstrap: the same resampled rows score both models. An interval that does not contain "
        "0 is a real change, not chance.",
    ),
    "verdict": Column(
        "Repo is",
        help="The change read by the metric's direction (a lower log loss is better): better, worse, or no clear "
        "change when the interval contains 0.",
    ),
}


def metric_table(values: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric: scores, change, interval and a plain-words reading of the change."""
    rows = []
    for name, m in values.items():
        lo, hi = m.get("ci_low"), m.get("ci_high")
        interval = f"{lo:+.4f} to {hi:+.4f}" if lo is not None and hi is not None else "—"
        reading = words.change_reading(name, m.get("delta"), lo, hi)
        up = words.higher_is_better(name)
        meaning = METRIC_HELP.get(name, "")
        if up is not None and "better" not in meaning:
            meaning += " Higher is better." if up else " Lower is better."
        rows.append(
            {
                "metric": words.metric_name(name),
                "repo": m.get("repo"),
                "deployed": m.get("deployed"),
                "delta": m.get("delta"),
                "interval": interval,
                "verdict": reading,
                "meaning": meaning,
            }
        )
    return rows


def _flips(flips: dict[str, Any]) -> None:
    cols = st.columns(3)
    with cols[0]:
        cards.metric_card(
            "Negative flips",
            cards.count(flips.get("negative_flips")),
            "Rows the deployed model got right and the repo model gets wrong: new mistakes users would notice.",
            delta=f"{cards.percent(flips.get('negative_flip_rate'), 2)} of labelled rows",
        )
    with cols[1]:
        cards.metric_card(
            "Positive flips",
            cards.count(flips.get("positive_flips")),
            "Rows the deployed model got wrong and the repo model gets right: fixed mistakes.",
            delta=f"{cards.percent(flips.get('positive_flip_rate'), 2)} of labelled rows",
        )
    with cols[2]:
        cards.metric_card(
            "Backward trust compatibility",
            cards.percent(flips.get("backward_trust_compatibility"), 1),
            "Of the rows the deployed model gets right, the share the repo model still gets right "
            "(100% = the update breaks nothing that worked).",
        )
    p_value = flips.get("mcnemar_p_value")
    change = flips.get("accuracy_change")
    if p_value is not None and change is not None:
        st.caption(
            f"Accuracy change {change:+.2%} (repo minus deployed); McNemar's exact test on the flipped rows: "
            f"p = {p_value:.3g}" + (" — unlikely to be chance." if p_value < 0.05 else " — could be chance.")
        )
