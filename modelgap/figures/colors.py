"""One palette and one layout for every chart: the repo model is always blue, the deployed model always orange.

`layout(title, ...)` is what every builder starts from: the title wraps onto as many lines as it needs (a
laptop's half-width chart holds ~56 characters a line), and the top margin grows with it, so that neither the
title nor a legend is ever clipped or drawn over the other. The legend sits on its own line under the title.
"""

from __future__ import annotations

import textwrap
from typing import Any

REPO_COLOR = "#2F5BEA"
DEPLOYED_COLOR = "#F08C2E"
DISAGREE_COLOR = "#D64545"
BETTER_COLOR = "#1E8E3E"
NEUTRAL_COLOR = "#9AA0A6"
FEATURE_VALUE_SCALE = [[0.0, "#3B6FD8"], [0.5, "#D9D9D9"], [1.0, "#D64545"]]  # low -> high feature value
CATEGORY_COLOR = "#5F6368"  # points of a categorical column: its levels have no low or high

TITLE_CHARS = 56  # characters a title line holds in a half-width chart on a 1366x768 laptop screen
TITLE_LINE_PX = 22
TITLE_SHIFT_PX = 18
LEGEND_PX = 30

# The base every layout starts from (builders that place their own title use it directly): the legend at the
# top right, level with a short title on the left.
BASE_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 10, "r": 20, "t": 64, "b": 40},
    "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    "font": {"size": 13},
}


def wrap_title(text: str, chars: int = TITLE_CHARS) -> str:
    """The title with <br> between lines of at most `chars` characters (words are never split)."""
    return "<br>".join(textwrap.wrap(text, width=chars, break_long_words=False)) or text


def layout(
    title: str,
    *,
    legend: bool = True,
    height: int | None = None,
    chars: int = TITLE_CHARS,
    legend_below: bool = False,
) -> dict[str, Any]:
    """The base layout with a wrapped title at the top left and, when shown, the legend on the line below it.

    `legend_below` puts the legend at the bottom of the figure instead, for long entry names that would wrap
    onto several lines in a narrow chart (they grow downwards there, never into the title).
    """
    text = wrap_title(title, chars)
    lines = text.count("<br>") + 1
    top = 14 + TITLE_LINE_PX * lines + (LEGEND_PX if legend and not legend_below else 10)
    out: dict[str, Any] = {
        **BASE_LAYOUT,
        "title": {
            "text": text,
            "x": 0.0,
            "xanchor": "left",
            "xref": "container",
            "y": 1.0,
            "yanchor": "top",
            "yref": "container",
            # plotly centres a multi-line title's extra lines on its anchor: push it down by what they add
            "pad": {"t": 10 + TITLE_SHIFT_PX * (lines - 1), "l": 12},
        },
        "margin": {**BASE_LAYOUT["margin"], "t": top},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        "showlegend": legend,
    }
    if legend and legend_below:
        out["legend"] = {
            "orientation": "h",
            "yref": "container",
            "y": 0.0,
            "yanchor": "bottom",
            "x": 0.0,
            "xanchor": "left",
        }
        out["margin"]["b"] = BASE_LAYOUT["margin"]["b"] + 2 * LEGEND_PX + 10
    if height is not None:
        out["height"] = height + top - BASE_LAYOUT["margin"]["t"] + out["margin"]["b"] - BASE_LAYOUT["margin"]["b"]
    return out
