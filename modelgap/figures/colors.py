"""One palette for every chart: the repo model is always blue, the deployed model always orange."""

from __future__ import annotations

from typing import Any

REPO_COLOR = "#2F5BEA"
DEPLOYED_COLOR = "#F08C2E"
DISAGREE_COLOR = "#D64545"
NEUTRAL_COLOR = "#9AA0A6"
FEATURE_VALUE_SCALE = [[0.0, "#3B6FD8"], [0.5, "#D9D9D9"], [1.0, "#D64545"]]  # low -> high feature value

# The layout every chart starts from. The legend sits at the top right, level with the title on the left, so
# the two never overlap (plotly puts a top legend over a left-aligned title otherwise).
BASE_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 10, "r": 20, "t": 64, "b": 40},
    "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    "font": {"size": 13},
}
