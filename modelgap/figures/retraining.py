"""The retraining picture: the noise band (how much refits with other seeds disagree) next to how much the repo
and deployed models disagree, and each refit against its own model. Pure: the section's dict in, a Figure out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from modelgap.figures.colors import BASE_LAYOUT, DEPLOYED_COLOR, DISAGREE_COLOR, NEUTRAL_COLOR, REPO_COLOR

NOISE_ROW = "Retraining noise (seed to seed)"
GAP_ROW = "Repo vs deployed"
REFIT_ROWS = {"deployed": "Deployed refit vs deployed", "repo": "Repo refit vs repo"}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def noise_band_figure(retraining: Mapping[str, Any]) -> go.Figure | None:
    """Disagreement rates in %: the noise band (min to max over seed pairs, mean marked), the repo-vs-deployed
    rate, and each side's refit against its model. None when there is no rate to draw."""
    noise = retraining.get("noise") if isinstance(retraining.get("noise"), Mapping) else {}
    assert isinstance(noise, Mapping)
    mean = _num(noise.get("disagreement_rate"))
    low = _num(noise.get("disagreement_rate_min"))
    high = _num(noise.get("disagreement_rate_max"))
    gap = _num(retraining.get("repo_vs_deployed_rate"))
    refits = {
        side: _num(s.get("disagreement_rate"))
        for side in ("repo", "deployed")
        if isinstance(s := retraining.get(side), Mapping)
    }
    if mean is None and gap is None and all(v is None for v in refits.values()):
        return None
    fig = go.Figure()
    rows = [NOISE_ROW, GAP_ROW, *(REFIT_ROWS[s] for s in ("deployed", "repo") if refits.get(s) is not None)]
    if mean is not None:
        lo, hi = (low if low is not None else mean), (high if high is not None else mean)
        fig.add_trace(
            go.Bar(
                x=[100 * max(hi - lo, 0.0)],
                base=[100 * lo],
                y=[NOISE_ROW],
                orientation="h",
                marker={"color": NEUTRAL_COLOR, "opacity": 0.45},
                name="noise band (seed pairs)",
                hovertemplate=f"seed pairs disagree on {100 * lo:.3g}% to {100 * hi:.3g}% of rows<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[100 * mean],
                y=[NOISE_ROW],
                mode="markers",
                cliponaxis=False,
                marker={"symbol": "diamond", "size": 14, "color": NEUTRAL_COLOR, "line": {"width": 1, "color": "#333"}},
                name="noise (mean of pairs)",
                hovertemplate="mean over seed pairs: %{x:.3g}% of rows<extra></extra>",
            )
        )
        fig.add_vline(x=100 * (hi if hi is not None else mean), line_dash="dot", line_color=NEUTRAL_COLOR)
    if gap is not None:
        fig.add_trace(
            go.Bar(
                x=[100 * gap],
                y=[GAP_ROW],
                orientation="h",
                marker_color=DISAGREE_COLOR,
                name="repo vs deployed",
                hovertemplate="the two models disagree on %{x:.3g}% of rows<extra></extra>",
            )
        )
    for side, color in (("deployed", DEPLOYED_COLOR), ("repo", REPO_COLOR)):
        rate = refits.get(side)
        if rate is not None:
            fig.add_trace(
                go.Scatter(
                    x=[100 * rate],
                    y=[REFIT_ROWS[side]],
                    mode="markers",
                    cliponaxis=False,  # a refit that reproduces its model sits at 0: draw all of its marker
                    marker={"size": 13, "color": color},
                    name=f"{side} refit",
                    hovertemplate=f"the {side} refit disagrees with its model on %{{x:.3g}}% of rows<extra></extra>",
                )
            )
    excess = _num(retraining.get("excess"))
    title = "How much do the models differ, next to what retraining alone changes?"
    if excess is not None:
        title += f"<br><sup>the repo model differs {excess:.3g}x more than retraining noise</sup>"
    elif mean == 0:
        title += "<br><sup>retraining with other seeds changes nothing: every difference is real</sup>"
    fig.update_layout(
        BASE_LAYOUT,
        title=title,
        xaxis_title="rows that disagree (%)",
        yaxis={"categoryorder": "array", "categoryarray": rows[::-1]},
        height=max(260, 120 + 55 * len(rows)),
        barmode="overlay",
    )
    fig.update_xaxes(rangemode="tozero")
    return fig
