"""AppTest of the Explanations page on the demo: numbers against shap's own TreeExplainer on the natively loaded
pipelines, the chosen row, explaining a row on demand, a comparison without SHAP, and a multiclass pair."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_skops
from scipy import stats
from streamlit.testing.v1 import AppTest

from modelgap.explanations.rows import choose_rows

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGE = "pages/explanations.py"
TIMEOUT = 240  # the first run loads both demo models and computes predictions and SHAP
PICK = "modelgap.explanations.row_pick"
EXPLAIN = "modelgap.explanations.explain_row"
CLASS = "modelgap.widget.explanations.class"


@pytest.fixture(scope="module")
def demo(demo_workspace: Any) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MODELGAP_ALLOWED_DIRS", raising=False)
        yield demo_workspace


@pytest.fixture(scope="module")
def page(demo: Any) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    ok(at)
    return at


@pytest.fixture(scope="module")
def native(demo: Any) -> dict[str, Any]:
    """Both demo pipelines loaded by mlflow.sklearn, and the sample data."""
    import mlflow.sklearn

    from modelgap.sources.tracking import using_uri

    with using_uri(demo.tracking_uri):
        models = {
            "repo": mlflow.sklearn.load_model(str(demo.repo_model_dir)),
            "deployed": mlflow.sklearn.load_model(demo.deployed_source),
        }
    return {"models": models, "data": pd.read_csv(demo.sample_path)}


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table (a static one, components/plain_table, or a grid) with a column headed `column`."""
    frames = [d.value for d in [*at.table, *at.dataframe] if column in d.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames[0]


def metric(at: AppTest, label: str) -> str:
    values = [str(m.value) for m in at.metric if m.label == label]
    assert values, [m.label for m in at.metric]
    return values[0]


def explained_rows(at: AppTest) -> list[int]:
    return [int(re.match(r"Row (\d+)", o).group(1)) for o in at.selectbox(key=PICK).options]  # type: ignore[union-attr]


def tree_shap(pipeline: Any, X: pd.DataFrame) -> pd.DataFrame:
    """shap.TreeExplainer on the pipeline's classifier, one-hot and scaled columns summed to input columns by name."""
    import shap

    pre, clf = pipeline[:-1], pipeline[-1]
    Xt = pre.transform(X[list(pipeline.feature_names_in_)])
    Xt = Xt.toarray() if hasattr(Xt, "toarray") else np.asarray(Xt, dtype=float)
    values = np.asarray(shap.TreeExplainer(clf).shap_values(Xt))
    inputs = sorted(pipeline.feature_names_in_, key=len, reverse=True)
    owner = []
    for name in pre.get_feature_names_out():
        bare = str(name).split("__", 1)[1]
        owner.append(next(c for c in inputs if bare == c or bare.startswith(c + "_")))
    return pd.DataFrame(values, index=X.index, columns=owner).T.groupby(level=0).sum().T


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_importances_and_rank_correlation_match_native_shap(page: AppTest, native: dict[str, Any]) -> None:
    rows = explained_rows(page)
    assert len(rows) == 1000
    # the importance comes from the 900 uniform random rows (the 100 largest disagreements are shown apart):
    # the same seeded draw as the section's, which does not depend on the disagreements
    random = list(choose_rows(native["data"], None, 900, seed=0).random)
    assert set(random) <= set(rows)
    X = native["data"].loc[random]
    table = frame_with(page, "Importance, repo").set_index("Input column")
    for side in ("repo", "deployed"):
        expected = tree_shap(native["models"][side], X).abs().mean().reindex(table.index, fill_value=0.0)
        np.testing.assert_allclose(table[f"Importance, {side}"], expected, atol=1e-6)
    assert table.loc["recent_inquiries", "Importance, deployed"] == 0.0  # the champion does not use it
    rho = stats.spearmanr(table["Importance, repo"], table["Importance, deployed"]).statistic
    assert metric(page, "Importance order agreement") == f"{rho:.3f}"
    assert any("log-odds of class 1" in m.value for m in page.markdown)
    assert any("TreeExplainer" in m.value for m in page.markdown)


def chart_titles(at: AppTest) -> list[str]:
    return [str(json.loads(c.proto.spec)["layout"]["title"]["text"]) for c in at.get("plotly_chart")]


def open_section(at: AppTest, name: str, opened: bool = True) -> None:
    """What clicking a closed section's header does: its expander's state changes, and the page reruns."""
    at.session_state[f"modelgap.widget.explanations.open.{name}"] = opened
    at.run()
    ok(at)


def test_charts_below_the_fold_are_drawn_only_once_their_section_is_opened(demo: Any) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    ok(at)
    assert chart_titles(at) == []  # the importance table is on arrival; every chart is in a closed section
    closed = [e.label for e in at.expander if e.label.startswith("Chart: ")]
    assert len(closed) == 5, closed  # each closed section says what it holds
    assert "importance" in closed[0] and closed[-1].startswith("Chart: row "), closed  # the chosen row's: last
    open_section(at, "importance_charts")
    arrival = chart_titles(at)
    assert len(arrival) == 2, arrival  # importance and ranks
    assert arrival[0].startswith("Feature importance") and arrival[1].startswith("Importance rank")
    open_section(at, "row_charts")
    arrival = chart_titles(at)
    assert len(arrival) == 3 and arrival[2].startswith("Contributions from base value to output"), arrival
    open_section(at, "differences")
    assert len(chart_titles(at)) == 4
    boxes = [t for t in json.loads(at.get("plotly_chart")[2].proto.spec)["data"] if t["type"] == "box"]
    chosen = at.multiselect(key="modelgap.widget.explanations.diff_features").value
    assert [b["name"] for b in boxes] == chosen and len(chosen) == 6  # a box per chosen column
    open_section(at, "dependence")
    assert any(t.startswith("SHAP for ") for t in chart_titles(at)) and len(chart_titles(at)) == 5
    open_section(at, "disagreement_importance")
    titles = chart_titles(at)
    assert len(titles) == 6 and "Mean |SHAP| on the rows where they disagree" in titles
    at.session_state["modelgap.widget.explanations.row_view"] = "What changed"  # the other tab: its chart only
    at.run()
    ok(at)
    titles = chart_titles(at)
    assert len(titles) == 6 and titles[-1].startswith("Why this row's output differs"), titles
    assert not any(t.startswith("Contributions from base value") for t in titles)
    for name in ("differences", "dependence", "disagreement_importance"):
        open_section(at, name, opened=False)
    assert len(chart_titles(at)) == 3


def test_choosing_a_row_shows_both_explanations_and_why(page: AppTest, native: dict[str, Any]) -> None:
    row = explained_rows(page)[2]
    page.selectbox(key=PICK).set_value(row).run()
    ok(page)
    assert page.session_state["modelgap.row"] == row
    assert page.query_params["row"] == str(row)
    sentences = [m.value for m in page.markdown if f"On row {row} the repo model's" in m.value]
    assert sentences and "mostly because of" in sentences[0]
    shown = frame_with(page, "Change").set_index("Input column")
    X = native["data"].loc[[row]]
    for side in ("repo", "deployed"):
        expected = tree_shap(native["models"][side], X).iloc[0].reindex(shown.index, fill_value=0.0)
        np.testing.assert_allclose(shown[f"SHAP ({side})"], expected, atol=1e-6)
    biggest = shown["Change"].abs().idxmax()
    assert str(biggest) in sentences[0]


def test_a_row_outside_the_explained_ones_is_explained_on_demand(page: AppTest, native: dict[str, Any]) -> None:
    explained = set(explained_rows(page))
    row = next(r for r in range(len(native["data"])) if r not in explained)
    page.session_state["modelgap.row"] = row
    page.run()
    ok(page)
    assert page.button(key=EXPLAIN).label == f"Explain row {row}"
    page.button(key=EXPLAIN).click().run()
    ok(page)
    assert any(f"On row {row}" in m.value for m in page.markdown)
    totals = frame_with(page, "Sum of contributions").set_index("Model")
    X = native["data"].loc[[row]]
    for side in ("repo", "deployed"):
        model = native["models"][side]
        expected = logit(float(model.predict_proba(X[list(model.feature_names_in_)])[0, 1]))
        assert totals.loc[side, "Base value"] + totals.loc[side, "Sum of contributions"] == pytest.approx(
            expected, abs=1e-6
        )
        assert totals.loc[side, "Output"] == pytest.approx(expected, abs=1e-6)


def test_without_shap_the_page_says_so_and_renders(demo: Any) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(
        repo=str(demo.repo_model_dir),
        deployed=demo.deployed_source,
        data=str(demo.sample_path),
        target=demo.target,
        uri=demo.tracking_uri,
        shap="0",
    )
    at.run()
    at.switch_page(PAGE).run()
    ok(at)
    assert [t.value for t in at.title] == ["Explanations"]
    assert any("not available" in i.value and "skipped" in i.value for i in at.info), [i.value for i in at.info]
    assert not at.dataframe and not at.table


def test_multiclass_pair_offers_a_class_and_the_table_follows_it(demo: Any, tmp_path: Path) -> None:
    first, X, y = fitted("gbm", "multiclass")
    second, _, _ = fitted("gbm", "multiclass", max_depth=2)
    X.assign(y=y).head(300).to_csv(tmp_path / "data.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_ALLOWED_DIRS", str(tmp_path))
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params.update(
            repo=str(save_skops(first, tmp_path / "repo.skops")),
            deployed=str(save_skops(second, tmp_path / "deployed.skops")),
            data=str(tmp_path / "data.csv"),
            target="y",
        )
        at.run()
        at.switch_page(PAGE).run()
        ok(at)
        selector = at.selectbox(key=CLASS)
        assert selector.value == "0" and len(selector.options) == 3
        before = frame_with(at, "Importance, repo").set_index("Input column")
        selector.set_value("2").run()
        ok(at)
        after = frame_with(at, "Importance, repo").set_index("Input column")
        assert set(after.index) == {"x1", "x2", "x3"}
        assert not np.allclose(before.loc[after.index, "Importance, repo"], after["Importance, repo"])
        assert any("log-odds of each class" in m.value for m in at.markdown)
