"""Chart layout and reading: titles that wrap instead of clipping, legends clear of titles, the "overall" label
clear of the slice bars, and metric changes read as better / worse by each metric's direction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelgap.figures import data as data_figs
from modelgap.figures import predictions as pred_figs
from modelgap.figures import report as report_figs
from modelgap.figures.colors import BETTER_COLOR, DISAGREE_COLOR, NEUTRAL_COLOR, TITLE_CHARS, layout, wrap_title


def title_lines(fig: object) -> list[str]:
    return fig.layout.title.text.split("<br>")  # type: ignore[attr-defined]


@pytest.mark.parametrize("legend", [True, False])
def test_a_long_title_wraps_and_the_margin_makes_room_for_it_and_the_legend(legend: bool) -> None:
    title = "How much the predicted probability changed, repo minus deployed, for every class of the model"
    out = layout(title, legend=legend)
    lines = out["title"]["text"].split("<br>")
    assert len(lines) == 2 and all(len(line) <= TITLE_CHARS for line in lines)
    assert " ".join(lines) == title  # words kept whole, none lost
    needed = 10 + 22 * len(lines) + (30 if legend else 0)  # the title's lines, then the legend's line
    assert out["margin"]["t"] >= needed
    assert out["title"]["yref"] == "container" and out["title"]["yanchor"] == "top"
    assert out["legend"]["y"] == 1.0 and out["legend"]["yanchor"] == "bottom"  # just above the plot area
    assert out["showlegend"] is legend


def test_a_legend_below_leaves_the_top_to_the_title() -> None:
    above, below = layout("A title", height=300), layout("A title", height=300, legend_below=True)
    assert below["legend"]["yref"] == "container" and below["legend"]["y"] == 0.0
    assert below["margin"]["t"] < above["margin"]["t"] and below["margin"]["b"] > above["margin"]["b"]
    # the plot area keeps its height: what the margins take is added to the figure
    for out in (above, below):
        assert out["height"] - out["margin"]["t"] - out["margin"]["b"] == 300 - 64 - 40


def test_chart_titles_fit_a_laptop_half_width_chart() -> None:
    crosstab = pd.DataFrame([[10, 2], [3, 20]], index=[0, 1], columns=[0, 1])
    rng = np.random.default_rng(0)
    figures = [
        pred_figs.crosstab_heatmap(crosstab),
        pred_figs.probability_diff_histogram({"1": rng.normal(0, 0.1, 200)}),
        pred_figs.value_diff_histogram(rng.normal(0, 1, 200), 0.1),
        data_figs.numeric_overlay(
            pd.Series(rng.normal(size=300)),
            pd.Series(rng.normal(size=300)),
            column="recent_inquiries",
            reference_label="deployed training data",
            current_label="repo training data",
        ),
    ]
    for fig in figures:
        assert all(len(line) <= TITLE_CHARS for line in title_lines(fig)), fig.layout.title.text
    overlay = figures[-1]
    assert overlay.layout.legend.yref == "container" and overlay.layout.legend.y == 0.0  # long names: at the bottom


def test_wrap_title_keeps_a_short_title_on_one_line() -> None:
    assert wrap_title("Rank change") == "Rank change"


def slices_report() -> dict[str, object]:
    return {
        "disagreement_rate": 0.068,
        "slices": [
            {"column": "region", "slice": "North", "n_rows": 1447, "rate": 0.176},
            {"column": "recent_inquiries", "slice": "4", "n_rows": 480, "rate": 0.192},
            {"column": "income", "slice": "(127475, 454212]", "n_rows": 625, "rate": 0.149},
            {"column": "age", "slice": "[18, 25]", "n_rows": 12, "rate": 0.9},  # too small: left out
        ],
    }


def test_the_overall_line_is_labelled_above_the_bars_not_over_them() -> None:
    fig = report_figs.slices_figure(slices_report())
    assert fig is not None
    [label] = [a for a in fig.layout.annotations if a.text.startswith("overall")]
    assert label.text == "overall 6.8%" and label.x == pytest.approx(6.8)
    assert label.yref == "paper" and label.y == 1.0 and label.yanchor == "bottom"  # the bars live in 0..1
    [line] = fig.layout.shapes
    assert line.x0 == pytest.approx(6.8) and not line.label.text
    assert fig.layout.margin.t >= layout("x", legend=False)["margin"]["t"] + report_figs.LABEL_ROOM_PX


def test_slice_labels_read_as_conditions() -> None:
    fig = report_figs.slices_figure(slices_report())
    assert fig is not None
    assert list(fig.data[0].y) == ["income in (127475, 454212]", "region = North", "recent_inquiries = 4"]
    np.testing.assert_allclose(fig.data[0].x, [14.9, 17.6, 19.2])


def test_metric_changes_are_read_by_each_metrics_direction() -> None:
    metrics = {
        "accuracy": {"repo": 0.80, "deployed": 0.83, "delta": -0.03, "ci_low": -0.04, "ci_high": -0.02},
        "log_loss": {"repo": 0.35, "deployed": 0.42, "delta": -0.07, "ci_low": -0.08, "ci_high": -0.05},
        "roc_auc": {"repo": 0.80, "deployed": 0.79, "delta": 0.01, "ci_low": -0.01, "ci_high": 0.03},
        "rmse": {"repo": 2.0, "deployed": 1.5, "delta": 0.5, "ci_low": 0.4, "ci_high": 0.6},
    }
    fig = report_figs.metric_deltas_figure(metrics)
    assert fig is not None
    [points] = fig.data
    # plotly draws the first row at the bottom: the builder reverses, so read it back in the input's order
    names, readings = list(points.y)[::-1], list(points.text)[::-1]
    assert names == [
        "Accuracy (higher is better)",
        "Log loss (lower is better)",
        "ROC AUC (higher is better)",
        "Root mean squared error (lower is better)",
    ]
    # a lower log loss is an improvement although the change is negative; a higher error is worse
    assert readings == ["worse", "better", "no clear change", "worse"]
    colors = list(points.marker.color)[::-1]
    assert colors == [DISAGREE_COLOR, BETTER_COLOR, NEUTRAL_COLOR, DISAGREE_COLOR]
    np.testing.assert_allclose(list(points.x)[::-1], [-0.03, -0.07, 0.01, 0.5])
    np.testing.assert_allclose(list(points.error_x.arrayminus)[::-1], [0.01, 0.01, 0.02, 0.1])
