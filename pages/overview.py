"""Overview: a one-screen answer for a review meeting. Same model? How different? Ready to release?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cards, compute, empty, report_view, retraining_view, signoff_view, state
from components import summaries as s
from components.plain_table import Column, plain_table
from modelgap import words

comparison = compute.current_comparison()
if comparison is None:
    empty.no_comparison()
    st.stop()
links = state.share_params()

st.title(words.TITLE)
st.markdown(
    f"{cards.side_label('repo')} `{compute.short_source(comparison.repo.source)}` compared with "
    f"{cards.side_label('deployed')} `{compute.short_source(comparison.deployed.source)}`",
    unsafe_allow_html=True,
)

verdict = s.section_dict(comparison, "verdict")
if verdict is not None:
    report_view.verdict_panel(verdict, links, here="pages/overview.py")
    signoff_view.latest_line(comparison, state.current_spec())
    st.page_link("pages/report.py", label="Every release check", icon=":material/arrow_forward:", query_params=links)
else:
    cards.not_computed(comparison, "verdict", "The release verdict and its checks")

cards.section_header("Are they the same model?", "pages/parameters.py", "Every difference", links)
cards.identity_banners(comparison)
counts = s.parameter_counts(comparison.parameters)
cols = st.columns(5)
with cols[0]:
    cards.yes_no_card(
        "Byte-identical files",
        counts.same_artifact,
        "Do the two model artifacts have the same SHA-256 fingerprint, i.e. are they the very same files? "
        "If yes, nothing else can differ.",
    )
with cols[1]:
    cards.yes_no_card(
        "Same settings",
        counts.same_params if counts.params_known else None,
        "Are all hyperparameters (the model's settings, as scikit-learn's get_params lists them) and the steps "
        "of the preprocessing pipeline equal?",
    )
with cols[2]:
    cards.metric_card(
        "Settings changed",
        counts.params_changed,
        "Hyperparameters and pipeline steps that differ, or exist in only one of the models (the reports count "
        "the same).",
        delta=s.settings_delta(counts),
    )
with cols[3]:
    cards.metric_card(
        "Input columns differ",
        counts.schema_differences,
        "Columns of the input data that one model expects and the other does not, or expects with another type.",
        delta="column order differs" if counts.order_changed else None,
    )
with cols[4]:
    cards.metric_card(
        "Library versions differ",
        counts.library_differences,
        "Versions of scikit-learn, numpy, Python… the models were saved with. Other versions can change results.",
    )

if report_view.endpoint_involved(comparison):
    cards.section_header("Does the endpoint serve what it claims?", "pages/report.py", "Serving parity", links)
    report_view.parity_card(comparison)

cards.section_header("Do they predict the same?", "pages/predictions.py", "Where they disagree", links)
predictions = s.section_dict(comparison, "predictions")
if predictions is None:
    cards.not_computed(comparison, "predictions", "Prediction differences")
else:
    worst = s.worst_slice(predictions, verdict)
    pred_cols = st.columns(4)
    with pred_cols[0]:
        cards.metric_card(
            "Disagreement rate",
            cards.percent(predictions.get("disagreement_rate"), 2),
            "Share of the sample rows on which the two models predict a different outcome "
            "(regression: values further apart than the tolerance).",
        )
    with pred_cols[1]:
        cards.metric_card(
            "Rows that disagree",
            cards.count(predictions.get("n_disagreements")),
            "How many sample rows get a different prediction.",
            delta=f"of {cards.count(predictions.get('n_rows'))} rows",
        )
    with pred_cols[2]:
        cards.metric_card(
            "Largest change on one row",
            cards.decimal(predictions.get("max_abs_diff")),
            "Classification: the largest change in predicted probability on any row (0 to 1). "
            "Regression: the largest difference between the two predictions.",
        )
    with pred_cols[3]:
        cards.metric_card(
            "Worst slice",
            cards.percent(worst.get("rate"), 1) if worst else "—",
            "The group of rows (one category, or one range of a column's values) where the models disagree most "
            f"often; groups under {s.slice_floor(verdict)} rows are ignored (the policy's worst-slice setting).",
            delta=s.slice_name(worst) if worst else None,
        )

cards.section_header("Do they reason the same?", "pages/explanations.py", "How they reason", links)
explanations = s.section_dict(comparison, "explanations")
if explanations is None:
    cards.not_computed(comparison, "explanations", "Explanations")
else:
    expl_cols = st.columns([1, 1, 2.6])
    with expl_cols[0]:
        cards.metric_card(
            "Importance order agreement",
            cards.decimal(explanations.get("rank_correlation"), 2),
            "Spearman's rank correlation of the input columns' importance (mean |SHAP|) in the two models: "
            "1 = same order, 0 = unrelated, negative = reversed.",
        )
    with expl_cols[1]:
        cards.metric_card(
            "Top features shared",
            cards.percent(explanations.get("top_k_overlap"), 0),
            f"Share of each model's {explanations.get('top_k', 'top')} most important input columns that the "
            "other model also has among its most important.",
        )
    with expl_cols[2]:
        changes = s.importance_changes(explanations, limit=3)
        st.markdown("**Input columns whose importance changed most**")
        if changes:
            for row in changes:  # one column for both ranks, so that the table fits beside the cards on a laptop
                row["ranks"] = f"{row['repo_rank']} · {row['deployed_rank']}"
            plain_table(
                pd.DataFrame(changes),
                {
                    "feature": Column("Input column"),
                    "ranks": Column("Rank, repo · deployed", help="1 = most important; the repo model's rank first."),
                    "repo_importance": Column("Importance, repo", "{:.3f}", "Mean |SHAP| in the repo model."),
                    "deployed_importance": Column(
                        "Importance, deployed", "{:.3f}", "Mean |SHAP| in the deployed model."
                    ),
                },
            )
        else:
            st.success("No input column changed its importance.", icon=":material/check:")

retraining_view.overview_status(comparison)  # once "Re-run training" finished for this comparison
cards.notes(comparison)
