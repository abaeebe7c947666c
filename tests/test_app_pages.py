"""AppTest of the app on the demo workspace: every page, the pickers, errors that keep the comparison, links.

Expected numbers are computed here independently: parameter differences from the models' flat params with
plain `!=`, disagreement from the natively loaded sklearn pipelines (mlflow.sklearn), never from the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from appdata import changed_params, disagreement_rate, tab_labelled, table_with
from streamlit.testing.v1 import AppTest

from modelgap import load_model

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 240  # the first run loads both demo models and computes predictions and SHAP
PAGES = ("parameters", "predictions", "explanations", "data", "retraining", "report")


@pytest.fixture(scope="module")
def demo(demo_workspace: Any) -> Iterator[Any]:
    """The app reads the demo from MODELGAP_DEMO_DIR; the user's MLFLOW_TRACKING_URI must not leak in."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MODELGAP_ALLOWED_DIRS", raising=False)
        mp.delenv("MODELGAP_ALLOW_PICKLE_UPLOADS", raising=False)
        yield demo_workspace


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return str(values[0])


def html_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown) + "\n".join(str(c.value) for c in at.caption)


def hyperparameters(at: AppTest) -> pd.DataFrame:
    """The table in the Hyperparameters tab (the other tabs have a Name column too)."""
    return table_with(tab_labelled(at, "Hyperparameters ("), "Name")


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(scope="module")
def app(demo: Any) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    return at


def test_overview_shows_the_demo_comparison(app: AppTest, demo: Any) -> None:
    champion = demo.deployed_source
    assert int(metric(app, "Settings changed")) == changed_params(demo, champion) > 0
    repo_cols = {f.name for f in load_model(str(demo.repo_model_dir)).features}
    dep_cols = {f.name for f in load_model(champion, tracking_uri=demo.tracking_uri).features}
    assert int(metric(app, "Input columns differ")) == len(repo_cols ^ dep_cols) == 1
    assert metric(app, "Byte-identical files") == "No"
    expected_rate = disagreement_rate(demo, champion)
    assert metric(app, "Disagreement rate") == f"{expected_rate * 100:.2f}%"
    assert 'class="mg-verdict"' in html_text(app)  # the release verdict card
    assert {p.label for p in app.page_link} >= {"Every difference", "Where they disagree", "How they reason"}
    assert app.query_params["deployed"] == champion
    assert app.query_params["target"] == demo.target
    assert 'data-side="deployed"' in html_text(app) and "@champion" in html_text(app)  # fingerprint badge


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_content(app: AppTest, demo: Any, page: str) -> None:
    app.switch_page(f"pages/{page}.py").run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    assert [t.value for t in app.title] == [page.capitalize()]
    if page == "parameters":
        assert app.tabs[0].label.startswith("Hyperparameters (")  # the first tab, the one a user sees
        assert "classifier__learning_rate" in set(hyperparameters(app)["Name"])
    elif page == "predictions":
        assert metric(app, "Rows compared") == f"{len(pd.read_csv(demo.sample_path)):,}"
        assert any("McNemar's exact test" in str(c.value) for c in app.caption)
    elif page == "explanations":
        features = set(table_with(app, "Input column", "Rank, repo", "Rank, deployed")["Input column"])
        assert "recent_inquiries" in features
        order = [m for m in app.metric if m.label == "Importance order agreement"]
        assert order and str(order[0].delta).startswith("top-weighted 0.")
    elif page == "data":
        drift = table_with(app, "Column", "PSI", "KS")  # the demo has training data: the drift table is shown
        assert "income" in set(drift["Column"])
        assert not any("No two datasets to compare" in str(i.value) for i in app.info)
    elif page == "retraining":
        from components.retraining_view import RUN_KEY

        assert app.button(key=RUN_KEY).label == "Re-run training"  # nothing retrains until it is pressed
    elif page == "report":
        assert 'class="mg-verdict"' in html_text(app)
    assert app.query_params["deployed"] == demo.deployed_source  # navigation keeps the shareable state


def test_search_and_show_all_filter_the_parameters(app: AppTest) -> None:
    app.switch_page("pages/parameters.py").run()
    n_diff = len(hyperparameters(app))
    app.toggle(key="modelgap.widget.parameters.show_all").set_value(True).run()
    assert len(hyperparameters(app)) > n_diff
    app.text_input(key="modelgap.widget.parameters.search").input("learning_rate").run()
    assert list(hyperparameters(app)["Name"]) == ["classifier__learning_rate"]
    app.text_input(key="modelgap.widget.parameters.search").input("").run()
    app.toggle(key="modelgap.widget.parameters.show_all").set_value(False).run()


def test_picking_another_registry_version_changes_the_comparison(demo: Any) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    before = int(metric(at, "Settings changed"))
    at.selectbox(key="modelgap.pick.deployed.ref").set_value("3").run()
    assert int(metric(at, "Settings changed")) == before  # nothing changes until Compare
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    expected = changed_params(demo, f"models:/{demo.model_name}/3")
    assert int(metric(at, "Settings changed")) == expected != before
    assert at.query_params["deployed"] == f"models:/{demo.model_name}/3"
    assert ">v3<" in html_text(at)  # the badge names the version now on screen


def test_an_invalid_source_shows_the_reason_and_keeps_the_comparison(demo: Any) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    before = metric(at, "Settings changed")
    at.selectbox(key="modelgap.pick.deployed.kind").set_value("text").run()
    at.text_input(key="modelgap.pick.deployed.text").input(f"models:/{demo.model_name}@nope").run()
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    errors = " ".join(e.value for e in at.error)
    assert "no alias 'nope'" in errors and "@champion" in errors  # names what exists
    assert metric(at, "Settings changed") == before
    assert at.query_params["deployed"] == demo.deployed_source


def test_a_path_outside_the_allowed_folders_is_refused(demo: Any, tmp_path: Path) -> None:
    outside = tmp_path / "model.skops"
    outside.write_bytes(b"PK\x03\x04 not really")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.selectbox(key="modelgap.pick.repo.path").set_value("__other__").run()
    at.text_input(key="modelgap.pick.repo.path_text").input(str(outside)).run()
    assert any("outside the folders this server allows" in e.value for e in at.error)
    at.button(key="modelgap.pick.apply").click().run()
    assert metric(at, "Settings changed")  # the previous comparison is still shown
    assert at.query_params["repo"] == str(demo.repo_model_dir)


def test_query_params_restore_the_state(demo: Any) -> None:
    v1 = f"models:/{demo.model_name}/1"
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(
        repo=str(demo.repo_model_dir),
        deployed=v1,
        data=str(demo.sample_path),
        target=demo.target,
        uri=demo.tracking_uri,
        row="7",
    )
    at.run()
    no_exception(at)
    assert int(metric(at, "Settings changed")) == changed_params(demo, v1)
    assert ">v1<" in html_text(at)
    assert at.selectbox(key="modelgap.pick.deployed.ref").value == "1"  # the pickers show the link's choice
    assert at.session_state["modelgap.row"] == 7
    assert at.query_params["deployed"] == v1 and at.query_params["row"] == "7"
    v3 = f"models:/{demo.model_name}/3"
    at.query_params["deployed"] = v3  # the address changes within the session (the browser's back button)
    at.run()
    no_exception(at)
    assert int(metric(at, "Settings changed")) == changed_params(demo, v3)
    assert at.selectbox(key="modelgap.pick.deployed.ref").value == "3"


def test_a_broken_link_says_why(demo: Any) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(repo=str(demo.repo_model_dir), deployed=f"models:/{demo.model_name}/99")
    at.run()
    no_exception(at)
    assert any("has no version 99" in e.value for e in at.error)
    assert any("could not be compared" in i.value for i in at.info)


def test_uploads_pickles_refused_skops_compared(demo: Any) -> None:
    import hashlib
    import pickle

    import skops.io as sio

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.selectbox(key="modelgap.pick.repo.kind").set_value("upload").run()
    evil = pickle.dumps({"any": "object"}, protocol=4)
    at.file_uploader(key="modelgap.pick.repo.upload").set_value(("model.skops", evil, "application/octet-stream"))
    at.run()
    assert any("refuses pickle uploads" in e.value for e in at.error)  # says why, whatever the file is named
    skops_bytes = sio.dumps(load_model(str(demo.repo_model_dir)).estimator)
    at.file_uploader(key="modelgap.pick.repo.upload").set_value(("repo.skops", skops_bytes, "application/octet-stream"))
    at.run()
    at.button(key="modelgap.pick.apply").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert hashlib.sha256(skops_bytes).hexdigest()[:12] in html_text(at)  # the badge shows the uploaded file
    sha12 = hashlib.sha256(skops_bytes).hexdigest()[:12]
    assert at.query_params["repo"] == f"upload:{sha12}/repo.skops"  # the address names the upload, not its path
    assert int(metric(at, "Settings changed")) == changed_params(demo, demo.deployed_source)


def test_without_the_demo_the_app_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(tmp_path / "no-demo"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        no_exception(at)
        assert any("make demo" in i.value for i in at.info)
        assert at.button(key="modelgap.build_demo").label == "Build the demo now"
        assert at.selectbox(key="modelgap.pick.repo.kind").value == "registry"  # the pickers still work
        assert not at.query_params
        at.switch_page("pages/parameters.py").run()
        no_exception(at)
        assert any("make demo" in i.value for i in at.info)


def test_the_routing_workaround_is_pinned_to_streamlits_internals() -> None:
    """components/routing.py is the one place that touches Streamlit internals: with a `pages/` folder next to
    app.py, a fresh server runs a page without the router until st.navigation has run once, and the flag that
    says so is `PagesManager.uses_pages_directory`. If Streamlit renames or retypes it, this fails (then look for
    a public mechanism). test_browser.py's first test opens a shared link on a fresh server: the behaviour."""
    import inspect

    from streamlit.runtime.pages_manager import PagesManager

    from components import routing

    assert "uses_pages_directory" in vars(PagesManager)
    assert isinstance(PagesManager.uses_pages_directory, (bool, type(None)))
    assert "PagesManager.uses_pages_directory" in inspect.getsource(routing)
