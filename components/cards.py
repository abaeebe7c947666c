"""Small display pieces: big-number metric cards, yes/no cards, the verdict card, "not computed" notes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.summaries import why_missing
from modelgap.comparison import Comparison
from modelgap.figures.colors import DEPLOYED_COLOR, DISAGREE_COLOR, REPO_COLOR

STATUS_STYLE = {  # status -> (words for a manager, colour, icon)
    "pass": ("Ready to release", "#1E8E3E", ":material/check_circle:"),
    "warn": ("Ready with caveats", "#B06000", ":material/warning:"),
    "fail": ("Not ready to release", DISAGREE_COLOR, ":material/block:"),
}
CHECK_COLORS = {"fail": DISAGREE_COLOR, "warn": "#E8A33D", "info": REPO_COLOR, "pass": "#1E8E3E", "skipped": "#9AA0A6"}


def status_dot(status: str) -> str:
    """A coloured dot (HTML) for a check status; plain text fonts have it, unlike emoji."""
    return f'<span style="color:{CHECK_COLORS.get(status, "#9AA0A6")};font-size:1.2em">●</span>'


def fmt_scalar(value: Any) -> str:
    """A number as a person reads it: thousands separators, 4 significant digits for floats."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def percent(value: Any, digits: int = 1) -> str:
    return f"{float(value) * 100:.{digits}f}%" if isinstance(value, (int, float)) else "—"


def count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def decimal(value: Any, digits: int = 3) -> str:
    return f"{float(value):.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def metric_card(label: str, value: Any, help: str, *, delta: str | None = None, delta_color: str = "off") -> None:
    """One big number in a bordered card, with an optional small line under it."""
    st.metric(
        label,
        value,
        delta=delta,
        delta_color=delta_color,  # type: ignore[arg-type]
        delta_arrow="off",
        help=help,
        border=True,
        height="stretch",  # cards in one row line up, with or without the small line
    )


def yes_no_card(label: str, answer: bool | None, help: str, *, unknown: str = "Unknown") -> None:
    """A question answered in one word, e.g. "Byte-identical? No"."""
    text = unknown if answer is None else ("Yes" if answer else "No")
    st.metric(label, text, help=help, border=True, height="stretch")


def side_label(side: str) -> str:
    """'repo' / 'deployed' in the colour every chart uses for that model."""
    color = REPO_COLOR if side == "repo" else DEPLOYED_COLOR
    name = "Repo model" if side == "repo" else "Deployed model"
    return f'<span style="color:{color};font-weight:700">{name}</span>'


def section_header(title: str, page: str, link_label: str, query_params: dict[str, str]) -> None:
    """A section title with the link to the page that has the details on the same line."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    with left:
        st.subheader(title)
    with right:
        st.page_link(page, label=link_label, icon=":material/arrow_forward:", query_params=query_params)


def not_computed(comparison: Comparison, name: str, what: str) -> None:
    """An st.info saying in plain words why a section is missing."""
    st.info(f"{what} are not available for this comparison. {why_missing(comparison, name)}", icon=":material/info:")


def notes(comparison: Comparison) -> None:
    """The comparison's plain-words notes and the models' warnings, folded away."""
    warnings = [
        f"{side}: {w}"
        for side, m in (("Repo", comparison.repo), ("Deployed", comparison.deployed))
        for w in m.metadata.warnings
    ]
    lines = [*warnings, *comparison.notes]
    if lines:
        with st.expander(f"Notes ({len(lines)})", icon=":material/sticky_note_2:"):
            for line in lines:
                st.markdown(f"- {line}")


def page_style() -> None:
    """Less empty space above the content, so the Overview fits one projected screen."""
    st.html(
        "<style>[data-testid='stMainBlockContainer']{padding-top:1.8rem;padding-bottom:2rem}"
        "[data-testid='stSidebar']{min-width:22rem}"
        "[data-testid='stMetricValue']{font-weight:600}</style>"
    )
