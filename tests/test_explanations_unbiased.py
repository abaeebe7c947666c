"""Global explanations from uniform random rows: a linear pair whose coefficients differ in one feature recovers
the closed-form mean |SHAP| within sampling error, where the old disagreement-first selection does not; the share
of explained rows that disagree is the random rows' share, an estimate of the sample's rate; the page says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import save_skops
from sklearn.linear_model import LogisticRegression
from streamlit.testing.v1 import AppTest

from modelgap.comparison import CompareOptions, Comparison, run_comparison
from modelgap.explanations.rows import choose_rows
from modelgap.explanations.section import explain_plan
from modelgap.sources import load_model

N_ROWS, SHAP_ROWS, TOP = 20_000, 2_000, 20
FEATURES = ["x1", "x2", "x3"]
COEF = {"repo": np.array([1.0, -1.0, 0.5]), "deployed": np.array([1.0, -1.0, 1.0])}  # differ in x3 only
INTERCEPT = 0.3
Z = 4.0  # standard errors: a deviation this large has probability ~6e-5
APP = Path(__file__).resolve().parent.parent / "app.py"


def _model(coef: np.ndarray, X: pd.DataFrame) -> LogisticRegression:
    """A real LogisticRegression with hand-set coefficients, so its closed-form SHAP is known exactly."""
    model = LogisticRegression().fit(X.head(500), (X["x1"].head(500) > 0).astype(int))
    model.coef_ = coef.reshape(1, -1).copy()
    model.intercept_ = np.array([INTERCEPT])
    return model


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Independent features, two saved models, the data file, and the comparison the CLI would build."""
    d = tmp_path_factory.mktemp("linear")
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x1": rng.normal(0, 1, N_ROWS), "x2": rng.normal(0, 1.5, N_ROWS), "x3": rng.normal(0, 1, N_ROWS)})
    X.to_csv(d / "data.csv", index=False)
    data = pd.read_csv(d / "data.csv")  # the values as every reader of the file sees them
    paths = {side: str(save_skops(_model(COEF[side], X), d / f"{side}.skops")) for side in COEF}
    repo, deployed = load_model(paths["repo"]), load_model(paths["deployed"])
    options = CompareOptions(shap_rows=SHAP_ROWS, top_n=TOP)
    comparison = run_comparison(repo, deployed, data_path=str(d / "data.csv"), options=options)
    assert "explanations" not in comparison.errors, comparison.errors
    return {"dir": d, "paths": paths, "data": data, "comparison": comparison}


def _margin(data: pd.DataFrame, side: str) -> np.ndarray:
    return data[FEATURES].to_numpy() @ COEF[side] + INTERCEPT


def _disagrees(data: pd.DataFrame) -> np.ndarray:
    """Predicted labels differ: one margin positive, the other not (numpy, from the coefficients)."""
    return (_margin(data, "repo") > 0) != (_margin(data, "deployed") > 0)


def test_a_linear_pair_recovers_closed_form_importance_from_the_random_rows(pair: dict[str, Any]) -> None:
    c: Comparison = pair["comparison"]
    data: pd.DataFrame = pair["data"]
    e = c.sections["explanations"]
    assert e.output == "log_odds" and e.method == {"repo": "linear (closed form)", "deployed": "linear (closed form)"}
    random = e.statistics_rows
    n = len(random)
    chosen = e.to_dict()["row_selection"]
    assert chosen["method"] == "random_plus_disagreements" and chosen["statistics_from"] == "random_rows"
    assert (chosen["random_rows"], chosen["disagreement_rows"], chosen["sample_rows"]) == (n, SHAP_ROWS - n, N_ROWS)
    assert n == SHAP_ROWS - SHAP_ROWS // 10 and e.n_rows == SHAP_ROWS
    # the other rows are the largest disagreements (|p_repo - p_deployed|) that the random draw did not hold
    gap = np.abs(1 / (1 + np.exp(-_margin(data, "repo"))) - 1 / (1 + np.exp(-_margin(data, "deployed"))))
    by_gap = np.argsort(-gap, kind="stable")
    outside = by_gap[~np.isin(by_gap, np.asarray(random))]
    extra = e.X.index.difference(random)
    assert set(extra) == set(outside[: len(extra)])

    background = explain_plan(c).background[FEATURES].to_numpy().mean(axis=0)
    fpc = np.sqrt(1 - n / N_ROWS)  # the random rows are drawn without replacement from the data
    x_all = data[FEATURES].to_numpy()
    x_random = data.loc[random, FEATURES].to_numpy()
    x_explained = data.loc[e.X.index, FEATURES].to_numpy()
    x_extra = data.loc[extra, FEATURES].to_numpy()
    for side in ("repo", "deployed"):
        coef = np.abs(COEF[side])
        # closed form on the data: coef_j * mean |x_j - E[x_j]| (interventional SHAP, the mean as background)
        truth = coef * np.abs(x_all - x_all.mean(axis=0)).mean(axis=0)
        per_row = coef * np.abs(x_random - x_all.mean(axis=0))
        tolerance = Z * per_row.std(axis=0, ddof=1) / np.sqrt(n) * fpc
        engine = e.features.loc[FEATURES, f"{side}_importance"].to_numpy()
        # the engine's number is exactly mean |coef (x - background mean)| over the random rows ...
        np.testing.assert_allclose(engine, (coef * np.abs(x_random - background)).mean(axis=0), rtol=1e-12)
        # ... and that estimates the closed form within sampling error, for every feature
        assert (np.abs(engine - truth) < tolerance).all(), (side, engine, truth, tolerance)
        # the old choice (every explained row, largest disagreements included) overstates x3, the changed feature
        old = (coef * np.abs(x_explained - background)).mean(axis=0)
        only_disagreements = (coef * np.abs(x_extra - background)).mean(axis=0)
        assert old[2] - truth[2] > tolerance[2] and old[2] / truth[2] > 1.1, (side, old, truth)
        assert only_disagreements[2] - truth[2] > 10 * tolerance[2]
    # both models weigh x1 and x2 alike: the importance and its ranks must not see a difference there
    f = e.features
    assert (f.loc[["x1", "x2"], "repo_importance"] == f.loc[["x1", "x2"], "deployed_importance"]).all()


def test_where_they_disagree_is_reported_apart(pair: dict[str, Any]) -> None:
    c: Comparison = pair["comparison"]
    data: pd.DataFrame = pair["data"]
    e = c.sections["explanations"]
    view = json.loads(json.dumps(e.to_dict()))["where_they_disagree"]
    flags = _disagrees(data)
    rows = [r for r in e.X.index if flags[r]]
    assert view["n_rows"] == len(rows) > 0
    background = explain_plan(c).background[FEATURES].to_numpy().mean(axis=0)
    x = data.loc[rows, FEATURES].to_numpy()
    found = {f["feature"]: f for f in view["features"]}
    for side in ("repo", "deployed"):
        expected = (np.abs(COEF[side]) * np.abs(x - background)).mean(axis=0)
        got = [found[name][f"{side}_importance"] for name in FEATURES]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert view["features"][0]["feature"] == "x3"  # where they disagree, the changed feature leads


def test_the_share_of_explained_rows_that_disagree_is_the_random_rows_share(pair: dict[str, Any]) -> None:
    c: Comparison = pair["comparison"]
    e = c.sections["explanations"]
    flags = _disagrees(pair["data"])
    rate = flags.mean()
    assert c.sections["predictions"].disagreement_rate == pytest.approx(rate, abs=0)
    random = np.asarray(e.statistics_rows)
    chosen = e.to_dict()["row_selection"]
    assert chosen["random_rows_disagreeing"] == int(flags[random].sum())
    share = chosen["random_rows_disagreement_rate"]
    assert share == pytest.approx(flags[random].mean(), abs=1e-15)
    n = len(random)
    tolerance = Z * np.sqrt(rate * (1 - rate) / n * (1 - n / N_ROWS))
    assert abs(share - rate) < tolerance, (share, rate, tolerance)
    everything = flags[np.asarray(e.X.index)].mean()  # what the page used to imply ("150 of 1,000 disagree")
    assert everything - rate > 2 * tolerance


def test_the_random_rows_are_a_uniform_draw_whatever_the_disagreements() -> None:
    """Every row, the largest disagreements included, is drawn with the same probability; the old selection
    drew its random rows from the rows that were not large disagreements."""
    sample = pd.DataFrame({"x": range(100)})
    disagreement = pd.Series(np.linspace(0, 1, 100), index=sample.index)
    other = pd.Series(np.linspace(1, 0, 100), index=sample.index)  # the reverse order, same count above zero
    seeds = 2000
    hits = np.zeros(100)
    for seed in range(seeds):
        chosen = choose_rows(sample, disagreement, 30, seed=seed, top=5)
        assert list(chosen.random) == list(choose_rows(sample, other, 30, seed=seed, top=5).random)
        assert len(chosen.random) == 25 and len(chosen.order) == 30 and chosen.order.is_unique
        assert list(chosen.order[:5]) == [99, 98, 97, 96, 95]
        hits[np.asarray(chosen.random)] += 1
    expected = 25 / 100
    tolerance = Z * np.sqrt(expected * (1 - expected) / seeds)
    top_rate = hits[95:].mean() / seeds  # the five largest disagreements
    assert abs(top_rate - expected) < tolerance / np.sqrt(5)
    assert np.abs(hits / seeds - expected).max() < tolerance + 1e-12


def test_a_run_cut_short_keeps_a_uniform_prefix_of_the_draw() -> None:
    sample = pd.DataFrame({"x": range(200)})
    chosen = choose_rows(sample, pd.Series(np.linspace(0, 1, 200)), 50, seed=4, top=10)
    for k in (0, 10, 20, 37, 50):
        explained = chosen.order[:k]
        rows = chosen.statistics_rows(explained)
        assert list(rows) == list(chosen.random[: len(rows)])  # a prefix of the draw ...
        assert set(rows) <= set(explained)  # ... that was explained ...
        nxt = chosen.random[len(rows)] if len(rows) < len(chosen.random) else None
        assert nxt is None or nxt not in set(explained)  # ... and the longest such prefix


def test_the_page_says_how_rows_were_chosen_and_shows_both_rates(pair: dict[str, Any]) -> None:
    c: Comparison = pair["comparison"]
    e = c.sections["explanations"]
    flags = _disagrees(pair["data"])
    random = np.asarray(e.statistics_rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_ALLOWED_DIRS", str(pair["dir"]))
        at = AppTest.from_file(str(APP), default_timeout=240)
        at.query_params.update(
            repo=pair["paths"]["repo"],
            deployed=pair["paths"]["deployed"],
            data=str(pair["dir"] / "data.csv"),
            target="",  # no label column (not the demo's)
            shap=str(SHAP_ROWS),
        )
        at.run()
        at.switch_page("pages/explanations.py").run()
    assert not at.exception, [x.value for x in at.exception]
    assert not at.error, [x.value for x in at.error]
    said = [m.value for m in at.markdown if "How rows were chosen" in m.value]
    assert said, [m.value for m in at.markdown]
    assert f"{len(random):,} rows drawn uniformly at random from the {N_ROWS:,} sample rows" in said[0]
    assert f"{SHAP_ROWS - len(random):,} more rows, the largest disagreements" in said[0]
    cards = {m.label: str(m.value) for m in at.metric}
    assert cards["Random rows disagreeing"] == f"{100 * flags[random].mean():.1f}%"
    assert cards["Sample disagreement rate"] == f"{100 * flags.mean():.1f}%"


def test_a_budget_that_covers_the_sample_explains_every_row_as_random() -> None:
    sample = pd.DataFrame({"x": range(40)})
    chosen = choose_rows(sample, pd.Series(np.arange(40.0)), 100, seed=1, top=5)
    assert sorted(chosen.random) == list(range(40)) and len(chosen.disagreement) == 0
    assert chosen.method == "random" and list(chosen.order[:5]) == [39, 38, 37, 36, 35]
    assert sorted(chosen.order) == list(range(40))
