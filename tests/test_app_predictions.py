"""AppTest of the Predictions page: the demo (binary, with a target), a regression pair and a multiclass pair.

Expected numbers come from the two models' own `predict` on the same rows, counted with numpy here, never
from modelgap's comparison. SHAP is switched off (`shap=0`) where the test does not need it, to keep time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_mlflow, tabular
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from modelgap import load_model

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGE = "pages/predictions.py"
TIMEOUT = 240


@pytest.fixture(scope="module")
def env(demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo from MODELGAP_DEMO_DIR; the test's own models and data live in a folder the app may read."""
    folder = tmp_path_factory.mktemp("predictions-page")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.setenv("MODELGAP_ALLOWED_DIRS", str(folder))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MODELGAP_ALLOW_PICKLE_UPLOADS", raising=False)
        yield folder


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return str(values[0])


def decoded(value: Any) -> Any:
    """Plotly's JSON with its typed arrays ({dtype, bdata, shape}) turned back into plain lists."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if shape:
            array = array.reshape([int(n) for n in str(shape).split(",")])
        return array.tolist()
    if isinstance(value, dict):
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


def figures(at: AppTest) -> dict[str, dict[str, Any]]:
    """Every plotly chart on the page by its title."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = decoded(json.loads(chart.proto.spec))
        out[spec["layout"]["title"]["text"]] = spec
    return out


def figure(at: AppTest, title_start: str) -> dict[str, Any]:
    found = [f for title, f in figures(at).items() if title.startswith(title_start)]
    assert found, f"no chart {title_start!r}; charts: {list(figures(at))}"
    return found[0]


def tables_with(at: AppTest, column: str) -> list[pd.DataFrame]:
    """The tables on the page with this column (display-only tables carry no key in AppTest): static tables
    (components/plain_table, headed by their labels) and grids."""
    return [frame.value for frame in [*at.table, *at.dataframe] if column in frame.value.columns]


def table(at: AppTest, column: str) -> pd.DataFrame:
    found = tables_with(at, column)
    assert found, f"no table with a {column!r} column"
    return found[0]


REPO_LABEL = "repo model's label"  # the first column of the cross-tab table


def crosstab(at: AppTest) -> pd.DataFrame:
    """The labels' cross-tab table: repo label (rows) x deployed label (columns), counts."""
    return table(at, REPO_LABEL).set_index(REPO_LABEL)


def shown_text(at: AppTest, column: str) -> pd.DataFrame:
    """What the browser draws in the static table with this column: its cells as text (the Styler's display)."""
    [found] = [t for t in at.table if column in t.value.columns]
    return dataframe_util.convert_arrow_bytes_to_pandas_df(found.proto.arrow_data.styler.display_values)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_section(at: AppTest, name: str) -> None:
    """What clicking a closed section's header does: its expander's state becomes open, and the page reruns."""
    at.session_state[f"modelgap.widget.predictions.open.{name}"] = True
    at.run()
    no_exception(at)


def open_page(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.run()
    no_exception(at)
    at.switch_page(PAGE).run()
    no_exception(at)
    return at


# ------------------------------------------------------------------ the demo: binary with a target


@pytest.fixture(scope="module")
def demo_params(env: Path, demo_workspace: Any) -> dict[str, str]:
    ws = demo_workspace
    return {
        "repo": str(ws.repo_model_dir),
        "deployed": ws.deployed_source,
        "uri": ws.tracking_uri,
        "data": str(ws.sample_path),
        "target": ws.target,
        "shap": "0",
    }


@pytest.fixture(scope="module")
def demo_labels(demo_workspace: Any) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Both demo models' labels on every sample row, from their own predict."""
    ws = demo_workspace
    repo = load_model(str(ws.repo_model_dir))
    deployed = load_model(ws.deployed_source, tracking_uri=ws.tracking_uri)
    data = pd.read_csv(ws.sample_path)
    a = np.asarray(repo.predict_labels(data[repo.feature_names]))
    b = np.asarray(deployed.predict_labels(data[deployed.feature_names]))
    return a, b, data


@pytest.fixture(scope="module")
def demo_page(demo_params: dict[str, str]) -> AppTest:
    return open_page(demo_params)


def test_demo_numbers_match_the_models_own_predictions(demo_page: AppTest, demo_labels: Any) -> None:
    at = demo_page
    a, b, data = demo_labels
    assert [t.value for t in at.title] == ["Predictions"]
    assert metric(at, "Rows compared") == f"{len(data):,}"
    assert metric(at, "Disagreement rate") == f"{np.mean(a != b) * 100:.2f}%"
    assert metric(at, "Rows that disagree") == f"{int(np.sum(a != b)):,}"
    labels = sorted(set(a) | set(b))
    expected = [[int(np.sum((a == r) & (b == d))) for d in labels] for r in labels]
    cross = crosstab(at)  # on arrival: the cross-tab as a table, every count and its row share
    assert cross.index.tolist() == [str(v) for v in labels]
    assert cross.to_numpy().tolist() == expected
    row_share = 100 * expected[1][0] / sum(expected[1])
    assert shown_text(at, REPO_LABEL).iloc[1, 1] == f"{expected[1][0]:,} ({row_share:.1f}%)"
    assert not figures(at)  # no chart on arrival: each is in a closed section
    open_section(at, "crosstab_chart")
    heat = figure(at, "Predicted labels")["data"][0]
    assert [str(v) for v in heat["y"]] == [str(v) for v in labels]
    assert heat["z"] == expected
    assert f"{row_share:.1f}%" in heat["text"][1][0]
    open_section(at, "proba_chart")
    assert figure(at, "How much the predicted probability changed")
    assert not [t for t in figures(at) if t.startswith("Where they disagree")]  # its section is closed: not sent
    open_section(at, "slices_chart")
    assert figure(at, "Where they disagree")  # the slice chart
    metrics_table = table(at, "Metric")
    y = data["default"].to_numpy()
    accuracy = metrics_table.set_index("Metric").loc["Accuracy"]
    assert accuracy["Repo"] == pytest.approx(np.mean(a == y)) and accuracy["Deployed"] == pytest.approx(np.mean(b == y))
    assert metric(at, "Negative flips") == f"{int(np.sum((b == y) & (a != y))):,}"
    assert metric(at, "Positive flips") == f"{int(np.sum((b != y) & (a == y))):,}"
    slices = table(at, "slice")
    assert (slices["n_rows"] >= 30).all() and len(slices)
    top = at.dataframe(key="modelgap.predictions.top_rows").value
    assert len(top) == 50 and top["abs_diff"].is_monotonic_decreasing
    assert any("No row chosen" in c.value for c in at.caption)


def test_charts_below_the_fold_are_drawn_only_once_their_section_is_opened(demo_params: dict[str, str]) -> None:
    at = open_page(demo_params)
    assert not at.get("plotly_chart")  # the cross-tab is a table on arrival; every chart is in a closed section
    closed = [e.label for e in at.expander if e.label.startswith("Chart: ")]
    assert len(closed) == 4, closed  # each says what it holds
    assert "heatmap" in closed[0] and "probability" in closed[1] and "slices" in closed[2] and "metric" in closed[3]
    open_section(at, "crosstab_chart")
    open_section(at, "proba_chart")
    arrival = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert len(arrival) == 2, arrival  # the labels' cross-tab and the probability changes
    assert arrival[0].startswith("Predicted labels") and arrival[1].startswith("How much the predicted probability")
    open_section(at, "metric_deltas")
    assert len(at.get("plotly_chart")) == 3
    deltas = figure(at, "Metric changes")["data"][0]
    metrics_table = table(at, "Metric")
    assert len(deltas["x"]) == len(metrics_table)  # one point per metric of the table
    assert sorted(deltas["x"]) == pytest.approx(sorted(metrics_table["Change"]))
    open_section(at, "slices_chart")
    assert len(at.get("plotly_chart")) == 4
    at.session_state["modelgap.widget.predictions.open.metric_deltas"] = False  # closing it again
    at.run()
    assert len(at.get("plotly_chart")) == 3 and not [t for t in figures(at) if t.startswith("Metric changes")]


def test_slice_filters(demo_page: AppTest) -> None:
    at = demo_page
    at.multiselect(key="modelgap.widget.predictions.slice_columns").set_value(["region"]).run()
    at.number_input(key="modelgap.widget.predictions.slice_min_rows").set_value(1000).run()
    slices = table(at, "slice")
    assert set(slices["column"]) == {"region"} and (slices["n_rows"] >= 1000).all()
    assert slices["z"].is_monotonic_decreasing
    at.multiselect(key="modelgap.widget.predictions.slice_columns").set_value([]).run()
    at.number_input(key="modelgap.widget.predictions.slice_min_rows").set_value(30).run()


def test_choosing_a_row_shows_its_drill_down(demo_params: dict[str, str], demo_labels: Any) -> None:
    a, b, data = demo_labels
    row = int(np.flatnonzero(a != b)[0])
    at = open_page({**demo_params, "row": str(row)})
    assert at.query_params["row"] == str(row)
    assert any(m.value == f"#### Row {row}" for m in at.markdown)
    values = table(at, "Value").set_index("Input column")["Value"]
    assert values["region"] == data.loc[row, "region"]
    assert values["age"] == f"{data.loc[row, 'age']:,}"
    assert float(values["income"].replace(",", "")) == data.loc[row, "income"]  # every digit, no 2.3e+05
    assert metric(at, "Repo model predicts") == str(a[row]) and metric(at, "Deployed model predicts") == str(b[row])
    proba = figure(at, "Predicted probability of each class")["data"]
    assert [t["name"] for t in proba] == ["repo", "deployed"]  # repo first, as everywhere
    link = [p for p in at.page_link if "Explain row" in p.label]
    assert len(link) == 1 and link[0].proto.page == "explanations"
    assert f"row={row}" in link[0].proto.query_string.split("&")  # the link carries the row to Explanations
    at.number_input(key="modelgap.widget.predictions.row").set_value(row + 1).run()
    assert at.session_state["modelgap.row"] == row + 1 and at.query_params["row"] == str(row + 1)
    assert any(m.value == f"#### Row {row + 1}" for m in at.markdown)


def test_an_out_of_range_row_says_so_and_the_page_still_renders(demo_params: dict[str, str], demo_labels: Any) -> None:
    n = len(demo_labels[2])
    at = open_page({**demo_params, "row": str(n + 5)})
    assert any(f"Row {n + 5} does not exist" in e.value and f"0 to {n - 1:,}" in e.value for e in at.error)
    assert metric(at, "Rows compared") == f"{n:,}"
    assert len(crosstab(at)) == 2  # the rest of the page is there: the labels cross-tab


# ------------------------------------------------------------------ regression and multiclass pairs


def pair(folder: Path, task: str) -> dict[str, str]:
    """Two real pipelines (different settings) saved as MLflow folders, and sample data with target `y`."""
    repo, X, _ = fitted("pipeline", task)
    deployed, _, _ = fitted("pipeline", task, model__n_estimators=8, model__max_depth=2)
    paths = {side: folder / f"{task}-{side}" for side in ("repo", "deployed")}
    save_mlflow(repo, paths["repo"], X)
    save_mlflow(deployed, paths["deployed"], X)
    df, y = tabular(n=400, seed=7, task=task)
    data = folder / f"{task}.csv"
    df.assign(y=y).to_csv(data, index=False)
    return {"repo": str(paths["repo"]), "deployed": str(paths["deployed"]), "data": str(data), "shap": "0"}


def test_regression_charts_and_the_tolerance_control(env: Path) -> None:
    params = pair(env, "regression")
    at = open_page({**params, "target": "y"})
    assert not at.error, [e.value for e in at.error]
    repo, deployed = load_model(params["repo"]), load_model(params["deployed"])
    data = pd.read_csv(params["data"])
    diff = repo.predict_values(data[repo.feature_names]) - deployed.predict_values(data[deployed.feature_names])
    automatic = 0.01 * np.std(deployed.predict_values(data[deployed.feature_names]))
    assert metric(at, "Rows that disagree") == f"{int(np.sum(np.abs(diff) > automatic)):,}"
    assert not figures(at)  # on arrival: the differences' spread as numbers, no chart
    spread = table(at, "Repo minus deployed").set_index("Over the compared rows")["Repo minus deployed"]
    for q, label in ((0.0, "Smallest"), (0.05, "5th percentile"), (0.5, "Median"), (1.0, "Largest")):
        assert spread[label] == pytest.approx(np.quantile(diff, q), rel=1e-9, abs=1e-12)
    assert spread["Mean distance (absolute)"] == pytest.approx(np.mean(np.abs(diff)), rel=1e-9)
    open_section(at, "diff_chart")
    open_section(at, "scatter_chart")
    scatter = figure(at, "Repo prediction against deployed prediction")
    points = [t for t in scatter["data"] if t.get("mode") == "markers"]
    assert sum(len(t["x"]) for t in points) == len(data)
    hist = figure(at, "How far apart the predictions are")["data"][0]
    assert sum(hist["y"]) == len(data)
    assert table(at, "Metric")["Metric"].tolist() == [
        "Mean absolute error",
        "Root mean squared error",
        "R²",
    ]
    tolerance = float(np.quantile(np.abs(diff), 0.8))
    at.number_input(key="modelgap.widget.predictions.tolerance").set_value(tolerance).run()
    no_exception(at)
    assert metric(at, "Rows that disagree") == f"{int(np.sum(np.abs(diff) > tolerance)):,}"
    at.number_input(key="modelgap.widget.predictions.row").set_value(3).run()
    assert metric(at, "Difference") == f"{diff[3]:,.4g}"
    assert at.button(key="modelgap.predictions.apply_tolerance")  # only this page re-measured so far
    at.button(key="modelgap.predictions.apply_tolerance").click().run()
    no_exception(at)
    assert float(at.query_params["tol"]) == pytest.approx(tolerance)
    assert metric(at, "Rows that disagree") == f"{int(np.sum(np.abs(diff) > tolerance)):,}"


def test_multiclass_without_target_has_per_class_charts_and_a_target_hint(env: Path) -> None:
    params = pair(env, "multiclass")
    at = open_page({**params, "target": ""})  # an empty value: no target (a left-out one means the demo's)
    assert not at.error, [e.value for e in at.error]
    repo, deployed = load_model(params["repo"]), load_model(params["deployed"])
    data = pd.read_csv(params["data"])
    a = np.asarray(repo.predict_labels(data[repo.feature_names]))
    b = np.asarray(deployed.predict_labels(data[deployed.feature_names]))
    labels = sorted(set(repo.classes))
    expected = [[int(np.sum((a == r) & (b == d))) for d in labels] for r in labels]
    assert crosstab(at).to_numpy().tolist() == expected
    open_section(at, "crosstab_chart")
    open_section(at, "proba_chart")
    heat = figure(at, "Predicted labels")["data"][0]
    assert heat["z"] == expected
    per_class = figure(at, "How much the predicted probability changed")["data"]
    assert [t["name"] for t in per_class] == [f"class {c}" for c in labels]
    assert all(sum(t["y"]) == len(data) for t in per_class)
    assert any("No target column was given" in i.value for i in at.info)
    assert not tables_with(at, "Metric")
    at.number_input(key="modelgap.widget.predictions.row").set_value(11).run()
    no_exception(at)
    bars = {t["name"]: t["y"] for t in figure(at, "Predicted probability of each class")["data"]}
    np.testing.assert_allclose(bars["repo"], repo.predict_proba(data[repo.feature_names].iloc[[11]])[0])
    np.testing.assert_allclose(bars["deployed"], deployed.predict_proba(data[deployed.feature_names].iloc[[11]])[0])
