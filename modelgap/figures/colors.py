"""One palette for every chart: the repo model is always blue, the deployed model always orange."""

from __future__ import annotations

REPO_COLOR = "#2F5BEA"
DEPLOYED_COLOR = "#F08C2E"
DISAGREE_COLOR = "#D64545"
NEUTRAL_COLOR = "#9AA0A6"
FEATURE_VALUE_SCALE = [[0.0, "#3B6FD8"], [0.5, "#D9D9D9"], [1.0, "#D64545"]]  # low -> high feature value
