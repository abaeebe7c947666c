"""Small display pieces: big-number metric cards, yes/no cards, status badges, "not computed" notes, page style.

Words come from modelgap.words (the reports use the same), numbers from its formatters.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.summaries import why_missing
from modelgap import words
from modelgap.comparison import Comparison
from modelgap.figures.colors import DEPLOYED_COLOR, DISAGREE_COLOR, REPO_COLOR

STATUS_STYLE = {  # status -> (words for a manager, colour, icon); the reports say the same (modelgap.words)
    "pass": (words.VERDICT_WORDS["pass"], "#1E8E3E", ":material/check_circle:"),
    "warn": (words.VERDICT_WORDS["warn"], "#B06000", ":material/warning:"),
    "fail": (words.VERDICT_WORDS["fail"], DISAGREE_COLOR, ":material/block:"),
}
CHECK_COLORS = {"fail": DISAGREE_COLOR, "warn": "#E8A33D", "info": REPO_COLOR, "pass": "#1E8E3E", "skipped": "#9AA0A6"}


def status_badge(status: str) -> str:
    """The check status as the reports print it (PASS / WARN / FAIL / INFO / SKIPPED), in its colour (HTML)."""
    color = CHECK_COLORS.get(status, "#9AA0A6")
    text = words.STATUS_BADGES.get(status, status.upper())
    return (
        f'<span class="mg-badge-status" data-status="{status}" style="display:inline-block;background:{color};'
        "color:#fff;border-radius:4px;padding:0 6px;font-size:0.72rem;font-weight:700;letter-spacing:0.03em;"
        f'line-height:1.5;vertical-align:0.1em">{text}</span>'
    )


def fmt_scalar(value: Any) -> str:
    """A number as a person reads it: thousands separators, 4 significant digits for floats."""
    if words.number(value) is None:
        return str(value)
    return words.format_number(value)


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
    return f'<span style="color:{color};font-weight:700">{words.SIDE_NAMES[side]}</span>'


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


LAPTOP_CSS = (
    # Metric labels wrap onto a second line instead of ending in "…" (cards in a row stretch to one height).
    "[data-testid='stMetricLabel'] [data-testid='stMarkdownContainer'],"
    "[data-testid='stMetricLabel'] p{white-space:normal;overflow:visible;text-overflow:clip;overflow-wrap:anywhere}"
    "[data-testid='stMetricLabel']{height:auto;min-height:1.5rem;align-items:flex-start}"
    "[data-testid='stMetricDelta'] [data-testid='stMarkdownContainer'],[data-testid='stMetricDelta'] p,"
    "[data-testid='stMetricDelta'] div{white-space:normal;overflow:visible;text-overflow:clip}"
    "[data-testid='stMetricDelta']{height:auto;max-width:100%}"
    # Page links (a check's name, "Every difference") wrap too rather than being cut.
    "[data-testid='stPageLink'] p{white-space:normal;overflow-wrap:anywhere}"
    # A laptop screen (1366 x 768): a narrower sidebar and side padding leave the tables their columns.
    "@media (max-width:1500px){"
    "[data-testid='stSidebar']{min-width:19rem!important;max-width:19rem!important}"
    "[data-testid='stMainBlockContainer']{padding-left:2rem;padding-right:2rem}}"
)


def page_style() -> None:
    """Less empty space above the content, so the Overview fits one projected screen; nothing cut on a laptop."""
    st.html(
        "<style>[data-testid='stMainBlockContainer']{padding-top:1.8rem;padding-bottom:2rem}"
        "[data-testid='stSidebar']{min-width:22rem}"
        f"[data-testid='stMetricValue']{{font-weight:600}}{LAPTOP_CSS}</style>"
    )


def identity_banners(comparison: Comparison, *, settings_table: bool = False) -> None:
    """The two facts that change how every other difference reads, said first: one artifact twice (nothing else
    can differ), or another estimator family (its settings are two unrelated sets, not changes one by one)."""
    from components.summaries import estimator_family, same_artifact

    if same_artifact(comparison):
        sha = comparison.repo.metadata.sha256 or ""
        st.success(
            f"**Same artifact.** Both model files have the SHA-256 `{sha[:12]}…`: they are the very same model, so "
            "no further difference is possible. SHAP was computed once and reused (see the notes).",
            icon=":material/verified:",
        )
    change = estimator_family(comparison)
    if change is not None:
        where = (
            "listed apart under the table below"
            if settings_table
            else "grouped under this headline on the Parameters page"
        )
        st.warning(
            f"**Estimator family changed:** {change.repo} in the repo model replaces {change.deployed} in the "
            f"deployed model. Their own settings are two unrelated sets, not changes one by one: {where}.",
            icon=":material/swap_horiz:",
        )
