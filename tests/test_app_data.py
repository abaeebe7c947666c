"""AppTest of the Data page on the demo: lineage of both models, drift numbers recomputed here, charts, errors.

The drift numbers are recomputed independently from the demo's CSV files: KS with scipy.stats.ks_2samp, PSI
with numpy/pandas following the binning rule modelgap.data.drift documents (bins cut at the reference's
deciles, ties merged, right-closed, open ends; shares floored at 1e-4). SHAP is off (`shap=0` in the link):
the Data page does not need it and the test stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 120
PAIR = "modelgap.widget.data.pair"
COLUMN = "modelgap.widget.data.column"


@pytest.fixture(scope="module")
def demo(demo_workspace: Any) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOWED_DIRS", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
            mp.delenv(name, raising=False)
        yield demo_workspace


def open_data_page(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["shap"] = "0"
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def app(demo: Any) -> AppTest:
    return open_data_page()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.info, at.success, at.warning, at.error) for e in kind]
    return "\n".join(str(p) for p in parts)


def drift_frame(at: AppTest) -> pd.DataFrame:
    """The numeric columns' drift table (a static table, components/plain_table: headed by its labels)."""
    found = [d.value for d in at.table if "PSI" in d.value.columns and "KS" in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.table]
    return found[0].set_index("Column")


def finite(values: pd.Series) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    return x[np.isfinite(x)]


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    edges = np.unique(np.quantile(reference, np.arange(1, 10) / 10))
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    n_bins = len(bins) - 1
    r = np.bincount(pd.cut(reference, bins, right=True, labels=False), minlength=n_bins) / len(reference)
    c = np.bincount(pd.cut(current, bins, right=True, labels=False), minlength=n_bins) / len(current)
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def test_lineage_cards_show_both_datasets_and_the_relation(app: AppTest, demo: Any) -> None:
    text = texts(app)
    assert "#### credit-applications-2025-q4" in text  # deployed: the MLflow dataset input of its run
    assert f"#### {demo.training_path_repo.relative_to(demo.directory).as_posix()}" in text  # repo: the .dvc file
    assert "DVC file next to the model" in text and "MLflow recorded" in text
    assert "different snapshots of the same source" in text
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("column", ["income", "employment_years"])
def test_drift_numbers_match_an_independent_computation(app: AppTest, demo: Any, column: str) -> None:
    app.radio(key=PAIR).set_value("repo_training|sample").run()
    table = drift_frame(app)
    reference = finite(pd.read_csv(demo.training_path_repo)[column])
    current = finite(pd.read_csv(demo.sample_path)[column])
    ks = stats.ks_2samp(reference, current)
    assert table.loc[column, "KS"] == pytest.approx(ks.statistic, abs=1e-12)
    assert table.loc[column, "PSI"] == pytest.approx(psi(reference, current), rel=1e-9, abs=1e-12)
    assert list(table["PSI"].fillna(-1)) != sorted(table["PSI"].fillna(-1))  # ranked most drifted first:
    worst = ("high", "moderate", "low", "none")  # the most severe first, then the largest PSI
    pairs = zip(table["Severity"], table["PSI"], strict=True)
    shown = [(worst.index(sev), -(p if pd.notna(p) else 0.0)) for sev, p in pairs]
    assert shown == sorted(shown), shown
    labels = list(app.radio(key=PAIR).options)  # as shown (formatted)
    assert set(labels) == {"Training vs training", "Repo training vs sample", "Deployed training vs sample"}


def open_section(at: AppTest, name: str, opened: bool = True) -> None:
    """What clicking a closed section's header does: its expander's state changes, and the page reruns."""
    at.session_state[f"modelgap.widget.data.open.{name}"] = opened
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def chart_titles(at: AppTest) -> list[str]:
    return [str(json.loads(c.proto.spec)["layout"]["title"]["text"]) for c in at.get("plotly_chart")]


def test_closed_sections_send_nothing_until_opened(demo: Any) -> None:
    at = open_data_page()
    assert chart_titles(at) == []  # both charts are below the fold, in closed sections
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Chart: one column's values") for label in labels), labels
    assert any(label.startswith("Chart: drift per column (PSI)") for label in labels), labels
    open_section(at, "ranking_chart")
    assert chart_titles(at) == ["Drift per column (PSI)"]
    schema_tables = [d.value for d in at.dataframe if list(d.value.columns) == ["Column", "Type"]]
    assert not schema_tables  # the lineage cards' column lists are closed
    open_section(at, "columns_repo")
    schema_tables = [d.value for d in at.dataframe if list(d.value.columns) == ["Column", "Type"]]
    assert len(schema_tables) == 1
    assert sorted(schema_tables[0]["Column"]) == sorted(pd.read_csv(demo.training_path_repo).columns)
    open_section(at, "column_chart")
    titles = chart_titles(at)
    assert len(titles) == 2 and titles[0] == "Drift per column (PSI)" and " vs " in titles[1], titles
    assert at.selectbox(key=COLUMN).value == drift_frame(at).index[0]  # the most drifted column first
    open_section(at, "column_chart", opened=False)
    assert chart_titles(at) == ["Drift per column (PSI)"]


def test_the_column_selector_shows_that_columns_chart(app: AppTest) -> None:
    open_section(app, "column_chart")
    app.radio(key=PAIR).set_value("deployed_training|repo_training").run()
    for column, barmode in (("income", "overlay"), ("region", "group")):  # histograms / grouped bars
        app.selectbox(key=COLUMN).set_value(column).run()
        charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
        titles = [str(c["layout"].get("title", {}).get("text", "")) for c in charts]
        chosen = [c for c, t in zip(charts, titles, strict=True) if t.startswith(f"{column}:")]
        assert len(chosen) == 1, titles
        names = [t["name"] for t in chosen[0]["data"]]
        assert any(n.startswith("repo training data") for n in names)
        assert any(n.startswith("deployed training data") for n in names)
        assert chosen[0]["layout"]["barmode"] == barmode


def test_a_failed_data_part_shows_the_error_and_the_page_renders(
    demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "train.csv"
    bad.write_bytes(b"")
    monkeypatch.setenv("MODELGAP_ALLOWED_DIRS", str(tmp_path))
    at = open_data_page(repo_train=str(bad))
    errors = [e.value for e in at.error]
    assert any("repo model's training data" in e for e in errors), errors
    assert [t.value for t in at.title] == ["Data"]
    assert "#### credit-applications-2025-q4" in texts(at)  # the deployed side's lineage is still there
    assert any("PSI" in d.value.columns for d in at.table)  # and the sample-vs-training drift
    assert at.query_params["repo_train"] == str(bad)


def test_naming_training_data_on_the_page_applies_it(demo: Any) -> None:
    at = open_data_page()
    baseline = demo.directory / "data" / "train_2025-q2.csv"
    at.text_input(key="modelgap.data.train.deployed").input(str(baseline)).run()
    at.button(key="modelgap.data.train.apply").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "#### train_2025-q2.csv" in texts(at)
    assert at.query_params["deployed_train"] == str(baseline)
    at.text_input(key="modelgap.data.train.repo").input("/etc/passwd").run()
    at.button(key="modelgap.data.train.apply").click().run()
    assert any("outside the folders" in e.value for e in at.error)
    assert at.query_params["deployed_train"] == str(baseline) and "repo_train" not in at.query_params
