"""How the Explanations page's rows were chosen: the uniform random rows behind the importance, ranks and sign
flips, the largest disagreements explained apart, and the random rows' disagreement rate next to the sample's."""

from __future__ import annotations

import streamlit as st

from components import cards
from modelgap.comparison import Comparison
from modelgap.explanations import ExplanationComparison
from modelgap.explanations.rows import FALLBACK_NOTE, STATISTICS_FROM_ALL, selection_dict


def how_rows_were_chosen(comparison: Comparison, c: ExplanationComparison) -> None:
    """One paragraph on the row choice and two cards: share of random rows that disagree, the sample's rate."""
    chosen = selection_dict(c.selection, c.statistics_rows, c.X.index)
    if chosen is None:
        st.caption(f"The importance, ranks and sign flips below use all {c.n_rows:,} explained rows.")
        return
    if chosen["statistics_from"] == STATISTICS_FROM_ALL:
        st.warning(FALLBACK_NOTE, icon=":material/warning:")
        return
    n_random, n_extra = chosen["random_rows"], chosen["disagreement_rows"]
    text = (
        f"**How rows were chosen:** {n_random:,} rows drawn uniformly at random from the "
        f"{chosen['sample_rows']:,} sample rows (seed {chosen['seed']}) give the importance, ranks, rank agreement "
        "and sign flips below, so they describe the data as a whole."
    )
    if n_random == chosen["sample_rows"]:
        text = (
            f"**How rows were chosen:** all {n_random:,} sample rows are explained and give the importance, ranks, "
            "rank agreement and sign flips below."
        )
    if n_extra:
        text += (
            f" {n_extra:,} more rows, the largest disagreements between the two models, are explained as well "
            "and shown apart under *Rows where they disagree*; they do not count in the importance."
        )
    st.markdown(text)
    predictions = comparison.sections.predictions
    sample_rate = getattr(predictions, "disagreement_rate", None)
    share = chosen["random_rows_disagreement_rate"]
    if share is None and sample_rate is None:
        return
    left, right, _ = st.columns(3)
    with left:
        disagreeing = chosen["random_rows_disagreeing"]
        cards.metric_card(
            "Random rows disagreeing",
            cards.percent(share),
            f"Share of the {n_random:,} random explained rows on which the two models disagree"
            + (f" ({disagreeing:,} rows)." if disagreeing is not None else ".")
            + " It estimates the sample's rate; the largest disagreements explained apart are not counted.",
        )
    with right:
        cards.metric_card(
            "Sample disagreement rate",
            cards.percent(sample_rate),
            "Share of all compared rows on which the two models disagree (the Predictions page).",
        )
