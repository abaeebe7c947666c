"""Re-run training against a real MLflow tracking store (sqlite) with real models and real training commands.

Every number is checked against sklearn/numpy computed here on the same arrays: the refits of the noise floor
are redone with sklearn directly, the repo-vs-deployed rate from the fitted estimators' own predictions.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import textwrap
import threading
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import SKOPS_TRUSTED, save_labels_pyfunc, save_skops, tabular

from modelgap.comparison import CompareOptions, Comparison, run_comparison
from modelgap.model import LoadedModel
from modelgap.options import DataOptions, SourceContext
from modelgap.retraining import RetrainOptions, from_policy, retrain
from modelgap.retraining.refit import seed_params, seeded_recipe
from modelgap.retraining.workers import FitContext, FitTask, Recipe, run_fits
from modelgap.sources import load_model

FEATURES = ["x1", "x2", "x3"]
N_TREES = 15


@dataclass
class Store:
    uri: str
    root: Path
    train: pd.DataFrame
    train_path: Path
    sample: pd.DataFrame
    sample_path: Path
    sources: dict[str, str]  # name -> models:/m-<id>
    estimators: dict[str, Any]  # name -> the fitted estimator that was logged

    def model(self, name: str) -> LoadedModel:
        return load_model(self.sources[name], tracking_uri=self.uri)


def _rf(seed: int | None) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=N_TREES, max_depth=6, random_state=seed)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    from modelgap.sources.tracking import using_uri

    root = tmp_path_factory.mktemp("retraining-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    X, y = tabular(n=2000, seed=0)
    train = X[FEATURES].assign(y=y.to_numpy())
    train_path = root / "train.csv"
    train.to_csv(train_path, index=False)
    train = pd.read_csv(train_path)  # the logged frame is exactly what the file holds
    Xs, ys = tabular(n=1200, seed=7)
    sample = Xs[FEATURES].assign(y=ys.to_numpy())
    sample_path = root / "sample.csv"
    sample.to_csv(sample_path, index=False)
    exp = MlflowClient(uri).create_experiment("retraining", artifact_location=(root / "artifacts").as_uri())
    recipes: dict[str, tuple[Any, int]] = {  # name -> (estimator, rows it is fitted on)
        "rf0": (_rf(0), len(train)),
        "rf1": (_rf(1), len(train)),
        "rf_subset": (_rf(0), len(train) // 2),  # fitted on half the rows, logged with the whole set
        "rf_unseeded": (_rf(None), len(train)),  # random_state=None: no two fits are the same
        "logreg": (LogisticRegression(max_iter=500), len(train)),
        "logreg_c": (LogisticRegression(C=0.05, max_iter=500), len(train)),
    }
    sources: dict[str, str] = {}
    estimators: dict[str, Any] = {}
    with using_uri(uri):
        for name, (est, n) in recipes.items():
            fitted = est.fit(train[FEATURES].iloc[:n], train["y"].iloc[:n])
            with mlflow.start_run(experiment_id=exp):
                mlflow.log_params({"n_train_rows": len(train)})
                dataset = mlflow.data.from_pandas(train, source=str(train_path), name="credit", targets="y")
                mlflow.log_input(dataset, context="training")
                info = mlflow.sklearn.log_model(
                    fitted,
                    name="model",
                    signature=infer_signature(train[FEATURES], fitted.predict(train[FEATURES])),
                    pip_requirements=["scikit-learn"],
                    serialization_format="skops",
                    skops_trusted_types=SKOPS_TRUSTED,
                )
            sources[name], estimators[name] = info.model_uri, fitted
    return Store(uri, root, train, train_path, sample, sample_path, sources, estimators)


def compare(
    store: Store, repo: str, deployed: str, retrain_options: RetrainOptions, repo_training_data: str | None = None
) -> Comparison:
    options = CompareOptions(
        target="y",
        no_shap=True,
        sources=SourceContext(tracking_uri=store.uri),
        data=DataOptions(repo_training_data=repo_training_data),
        retrain=retrain_options,
    )
    repo_model = store.model(repo) if repo in store.sources else load_model(repo)
    deployed_model = store.model(deployed) if deployed in store.sources else load_model(deployed)
    return run_comparison(repo_model, deployed_model, data_path=store.sample_path, options=options)


def section(comparison: Comparison) -> dict[str, Any]:
    assert "retraining" not in comparison.errors, comparison.errors
    out = comparison.sections["retraining"].to_dict()
    json.dumps(out, allow_nan=False)  # the contract is JSON
    return out


def check(comparison: Comparison, name: str) -> dict[str, Any]:
    verdict = comparison.sections["verdict"].to_dict()
    return next(c for c in verdict["checks"] if c["name"] == name)


# ---------------------------------------------------------------- the "Done when" items


@pytest.fixture(scope="module")
def forests(store: Store) -> Comparison:
    """repo: a random forest with seed 1; deployed: the same recipe with seed 0; both logged honestly."""
    return compare(store, "rf1", "rf0", RetrainOptions(seeds=4, workers=1))


def test_honest_random_forest_is_reproduced(forests: Comparison, store: Store) -> None:
    result = section(forests)
    for side in ("repo", "deployed"):
        s = result[side]
        assert s["status"] == "reproduced", s["reason"]
        assert s["method"] == "refit" and s["disagreement_rate"] == 0.0 and s["max_abs_diff"] == 0.0
        assert s["training_data"] == str(store.train_path) and s["label"] == "y"
        assert s["training_rows"] == len(store.train) and s["seconds"] > 0
        assert "same predictions" in s["reason"]
    assert check(forests, "deployed_reproducible")["status"] == "pass"


def test_noise_floor_of_a_random_forest_and_excess(forests: Comparison, store: Store) -> None:
    result = section(forests)
    noise = result["noise"]
    assert noise["side"] == "deployed" and noise["seeds"] == 4 and noise["seed_params"] == ["random_state"]
    # the same refits done here with sklearn, on the same rows
    X, y, rows = store.train[FEATURES], store.train["y"], store.sample[FEATURES]
    fits = [_rf(seed).fit(X, y) for seed in noise["seed_values"]]
    labels = [f.predict(rows) for f in fits]
    proba = [f.predict_proba(rows)[:, 1] for f in fits]
    pairs = list(combinations(range(len(fits)), 2))
    rates = [np.mean(labels[i] != labels[j]) for i, j in pairs]
    assert noise["disagreement_rate"] > 0
    assert noise["disagreement_rate"] == pytest.approx(np.mean(rates))
    assert noise["disagreement_rate_min"] == pytest.approx(min(rates))
    assert noise["disagreement_rate_max"] == pytest.approx(max(rates))
    assert noise["max_abs_diff"] == pytest.approx(max(np.abs(proba[i] - proba[j]).max() for i, j in pairs))
    # repo vs deployed from the logged estimators themselves
    rate = np.mean(store.estimators["rf1"].predict(rows) != store.estimators["rf0"].predict(rows))
    assert result["repo_vs_deployed_rate"] == pytest.approx(rate)
    assert result["excess"] == pytest.approx(rate / np.mean(rates))
    excess = check(forests, "retraining_noise_excess")
    assert excess["value"] == pytest.approx(rate / np.mean(rates))


def test_same_recipe_fitted_on_a_subset_differs(store: Store) -> None:
    comparison = compare(store, "rf1", "rf_subset", RetrainOptions(seeds=3, workers=1))
    deployed = section(comparison)["deployed"]
    assert deployed["status"] == "differs", deployed["reason"]
    assert deployed["deterministic"] is True and "retrains identically" in deployed["reason"]
    rows = store.sample[FEATURES]
    refit = _rf(0).fit(store.train[FEATURES], store.train["y"])
    model = store.estimators["rf_subset"]
    assert deployed["disagreement_rate"] == pytest.approx(np.mean(refit.predict(rows) != model.predict(rows)))
    gap = np.abs(refit.predict_proba(rows)[:, 1] - model.predict_proba(rows)[:, 1]).max()
    assert deployed["max_abs_diff"] == pytest.approx(gap)
    assert deployed["reason"].endswith(".") and "\n" not in deployed["reason"]
    assert check(comparison, "deployed_reproducible")["status"] == "warn"


def test_unseeded_forest_is_within_retraining_noise(store: Store) -> None:
    """Refitting an unseeded forest never repeats it: the model is judged against how much refits differ."""
    comparison = compare(store, "rf1", "rf_unseeded", RetrainOptions(seeds=4, workers=1))
    deployed = section(comparison)["deployed"]
    assert deployed["deterministic"] is False
    assert deployed["status"] == "within_noise", deployed["reason"]
    assert deployed["disagreement_rate"] > 0 and "as much as refitting the same recipe again" in deployed["reason"]
    assert check(comparison, "deployed_reproducible")["status"] == "pass"


def test_logistic_regression_has_no_noise_and_no_excess(store: Store) -> None:
    comparison = compare(store, "logreg_c", "logreg", RetrainOptions(seeds=3, workers=1))
    result = section(comparison)
    assert result["deployed"]["status"] == "reproduced" and result["repo"]["status"] == "reproduced"
    assert result["noise"]["disagreement_rate"] == 0.0 and result["noise"]["max_abs_diff"] == 0.0
    assert result["excess"] is None
    rows = store.sample[FEATURES]
    rate = np.mean(store.estimators["logreg_c"].predict(rows) != store.estimators["logreg"].predict(rows))
    assert rate > 0 and result["repo_vs_deployed_rate"] == pytest.approx(rate)
    excess = check(comparison, "retraining_noise_excess")
    assert excess["status"] == "info" and "real difference" in excess["message"]


TRAIN_SCRIPT = """
    import argparse
    import pandas as pd
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--out")
    parser.add_argument("--target")
    args = parser.parse_args()
    frame = pd.read_csv(args.data)
    model = RandomForestClassifier(n_estimators={n}, max_depth=6, random_state=0)
    model.fit(frame[["x1", "x2", "x3"]], frame[args.target])
    sio.dump(model, args.out + ".skops")
"""


def test_command_recipe_is_reproduced(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = _private_tempdir(tmp_path, monkeypatch)
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN_SCRIPT.format(n=N_TREES)))
    policy = tmp_path / "modelgap.toml"
    command = f"{sys.executable} train.py --data {{data}} --out {{out}} --target {{target}}"
    policy.write_text(f"[retrain]\nseeds = 2\n\n[retrain.deployed]\ncommand = {json.dumps(command)}\n")
    options = dataclasses.replace(from_policy(policy), workers=1)
    assert options.command_cwd == str(tmp_path) and options.seeds == 2
    deployed = section(compare(store, "rf1", "rf0", options))["deployed"]
    assert deployed["method"] == "command"
    assert deployed["status"] == "reproduced", deployed["reason"]
    assert deployed["disagreement_rate"] == 0.0 and "training command" in deployed["reason"]
    assert not list(temp.glob("modelgap-retrain-*"))  # the command's temporary folder is gone


def test_failing_command_is_not_retrainable_with_its_stderr_line(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = _private_tempdir(tmp_path, monkeypatch)
    script = "import sys; print('reading', file=sys.stderr); sys.exit('KeyError: column price is missing')"
    options = RetrainOptions(seeds=2, workers=1, deployed_command=f"{sys.executable} -c {json.dumps(script)}")
    comparison = compare(store, "rf1", "rf0", options)
    deployed = section(comparison)["deployed"]
    assert deployed["status"] == "not_retrainable" and deployed["method"] == "command"
    assert "exited with code 1" in deployed["reason"] and "KeyError: column price is missing" in deployed["reason"]
    assert check(comparison, "deployed_reproducible")["status"] == "info"
    assert not list(temp.glob("modelgap-retrain-*"))


def test_command_that_runs_too_long_is_stopped(store: Store, tmp_path: Path) -> None:
    script = "import time; time.sleep(120)"
    options = RetrainOptions(
        seeds=2, workers=1, timeout_s=1.0, deployed_command=f"{sys.executable} -c {json.dumps(script)}"
    )
    deployed = section(compare(store, "rf1", "rf0", options))["deployed"]
    assert deployed["status"] == "not_retrainable" and "timed out after 1 s" in deployed["reason"]
    assert deployed["seconds"] < 60


def _private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


# ---------------------------------------------------------------- bad input: a status and a reason, never a crash


def test_unknown_training_data_label_and_estimator(store: Store, tmp_path: Path) -> None:
    est = store.estimators["rf0"]
    local = save_skops(est, tmp_path / "rf.skops")  # no run, no .dvc file: training data unknown
    labels_only = save_labels_pyfunc(est, tmp_path / "pyfunc", store.train[FEATURES])
    comparison = compare(store, str(local), str(labels_only), RetrainOptions(seeds=2, workers=1))
    result = section(comparison)
    assert result["repo"]["status"] == "not_retrainable"
    assert (
        "records this model's training data" in result["repo"]["reason"]
        and "--repo-training-data" in result["repo"]["reason"]
    )
    assert result["deployed"]["status"] == "not_retrainable" and "pyfunc-only" in result["deployed"]["reason"]
    assert result["noise"]["side"] is None and result["excess"] is None
    # the training data named, but no label column anywhere: the label is unknown
    no_label = tmp_path / "features.csv"
    store.train[FEATURES].to_csv(no_label, index=False)
    options = CompareOptions(
        no_shap=True, data=DataOptions(repo_training_data=str(no_label)), retrain=RetrainOptions(seeds=2)
    )
    unlabelled = run_comparison(
        load_model(str(local)), load_model(str(local)), data_path=store.sample_path, options=options
    )
    assert "label column is unknown" in section(unlabelled)["repo"]["reason"]


def test_named_training_data_refits_a_local_model(store: Store, tmp_path: Path) -> None:
    local = save_skops(store.estimators["rf0"], tmp_path / "rf.skops")
    comparison = compare(
        store,
        str(local),
        "rf0",
        RetrainOptions(seeds=2, workers=1, max_rows=500),
        repo_training_data=str(store.train_path),
    )
    repo = section(comparison)["repo"]
    assert repo["label"] == "y" and repo["training_rows"] == 500 and repo["training_rows_total"] == len(store.train)
    assert repo["status"] == "differs", repo["reason"]  # 500 sampled rows are not the recipe's 2,000
    assert any("500 of 2,000" in c for c in repo["causes"]) and "--retrain-max-rows" in repo["reason"]


def test_no_sample_data_means_nothing_to_compare(store: Store) -> None:
    sources = SourceContext(tracking_uri=store.uri)
    options = CompareOptions(target="y", no_shap=True, sources=sources, retrain=RetrainOptions())
    comparison = run_comparison(store.model("rf1"), store.model("rf0"), options=options)
    result = section(comparison)
    assert {result[s]["status"] for s in ("repo", "deployed")} == {"not_retrainable"}
    assert "--data" in result["deployed"]["reason"] and "--data" in result["noise"]["reason"]


def test_without_retrain_nothing_is_retrained(store: Store) -> None:
    comparison = compare(store, "rf1", "rf0", None)  # type: ignore[arg-type]
    assert "retraining" not in comparison.sections
    assert check(comparison, "deployed_reproducible")["status"] == "skipped"


# ---------------------------------------------------------------- the pieces


def test_seed_parameters_nested_ones_included() -> None:
    from sklearn.ensemble import BaggingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    bag = BaggingClassifier(estimator=DecisionTreeClassifier(random_state=3), random_state=1)
    pipe = Pipeline([("scale", StandardScaler()), ("bag", bag)])
    names = seed_params(pipe)
    assert names == ["bag__estimator__random_state", "bag__random_state"]
    seeded = seeded_recipe(pipe, 42, names)
    params = seeded.get_params(deep=True)
    assert all(params[n] == 42 for n in names)
    assert pipe.get_params(deep=True)["bag__random_state"] == 1  # the model itself is never changed


def test_worker_processes_give_the_same_refits_as_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # As under `python -m modelgap`: AppTests earlier in the session leave a script as __main__, which makes
    # run_fits stay serial (a worker would re-run that script); this test is about what the workers compute.
    import importlib.util
    import sys
    import types

    main = types.ModuleType("__main__")
    main.__spec__ = importlib.util.find_spec("modelgap.__main__")
    monkeypatch.setitem(sys.modules, "__main__", main)
    X, y = tabular(n=800, seed=3)
    recipe = Recipe(X[FEATURES], y, FEATURES, "binary", [0, 1])
    context = FitContext(recipes={"deployed": recipe}, rows=X[FEATURES].head(300))
    tasks = [FitTask(f"seed:{s}", "deployed", _rf(s)) for s in range(3)]
    parallel = run_fits(tasks, context, workers=2)
    serial = run_fits([FitTask(t.key, t.side, _rf(int(t.key[5:]))) for t in tasks], context, workers=1)
    assert parallel.workers == 2 and not parallel.cancelled
    for key, outcome in serial.outcomes.items():
        other = parallel.outcomes[key].outputs
        assert outcome.outputs is not None and other is not None
        assert np.array_equal(outcome.outputs.proba, other.proba)
        expected = _rf(int(key[5:])).fit(X[FEATURES], y).predict_proba(X[FEATURES].head(300))
        assert np.array_equal(other.proba, expected)


def test_cancel_drops_the_refits_that_have_not_run(forests: Comparison) -> None:
    cancel = threading.Event()
    cancel.set()
    result = retrain(forests, RetrainOptions(seeds=3, workers=1), cancel=cancel)
    assert result.cancelled
    assert result.deployed.status == "not_retrainable" and "cancelled" in result.deployed.reason
    assert result.noise.disagreement_rate is None


def test_reports_carry_the_section(forests: Comparison) -> None:
    from modelgap.figures.retraining import noise_band_figure
    from modelgap.report import render_html, render_markdown

    md = render_markdown(forests)
    assert "### Retraining" in md and "Deployed model: reproduced" in md and "more from the deployed model" in md
    html = render_html(forests)
    assert 'id="retraining"' in html and 'id="chart-retraining"' in html
    result = section(forests)
    fig = noise_band_figure(result)
    assert fig is not None
    band = next(t for t in fig.data if t.name == "noise band (seed pairs)")
    noise = result["noise"]
    assert band.base[0] == pytest.approx(100 * noise["disagreement_rate_min"])
    assert band.x[0] == pytest.approx(100 * (noise["disagreement_rate_max"] - noise["disagreement_rate_min"]))
    gap = next(t for t in fig.data if t.name == "repo vs deployed")
    assert gap.x[0] == pytest.approx(100 * result["repo_vs_deployed_rate"])


def test_cli_retrain_flags(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from modelgap.cli import main

    out = tmp_path / "report.json"
    base = ["compare", "--repo", store.sources["rf1"], "--deployed", store.sources["rf0"], "--tracking-uri", store.uri]
    base += ["--data", str(store.sample_path), "--target", "y", "--no-shap", "--fail-on", "never"]
    assert main([*base, "--retrain", "--retrain-seeds", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())["retraining"]
    assert set(report) >= {"repo", "deployed", "noise", "excess"}
    keys = {"status", "method", "reason", "training_data", "disagreement_rate", "max_abs_diff", "seconds"}
    assert keys <= set(report["repo"]) and keys <= set(report["deployed"])
    assert {"side", "seeds", "disagreement_rate", "max_abs_diff"} <= set(report["noise"])
    assert report["noise"]["seeds"] == 2 and report["deployed"]["status"] == "reproduced"
    capsys.readouterr()
    for bad, words in (
        (["--retrain", "--retrain-seeds", "1"], "at least 2"),
        (["--retrain", "--retrain-max-rows", "0"], "at least 1"),
        (["--retrain-max-rows", "10"], "only applies with --retrain"),
        (["--retrain", "--retrain-command", "nowhere=python x.py"], "repo=COMMAND"),
    ):
        try:
            code = main([*base, *bad])
        except SystemExit as exc:  # argparse refuses a bad value before main's own handling
            code = exc.code
        err = capsys.readouterr().err.strip()
        assert code == 2 and words in err and "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[retrain]\nseeds = 1\n", "retrain.seeds"),
        ("[retrain]\nmax_rows = 2.5\n", "retrain.max_rows"),
        ("[retrain]\ntimeout_s = -1\n", "retrain.timeout_s"),
        ("[retrain]\nworkers = 4\n", "Unknown key 'retrain.workers'"),
        ('[retrain.repo]\ncommand = "python train.py --data {dta}"\n', "unknown placeholder"),
        ('[retrain.repo]\ncommand = "python \'unclosed"\n', "not a valid command line"),
        ("[retrain.repo]\nscript = 'x'\n", "one key, command"),
    ],
)
def test_bad_retrain_policy_fails_with_the_key(tmp_path: Path, text: str, words: str) -> None:
    from modelgap.errors import PolicyError
    from modelgap.readiness import load_policy

    policy = tmp_path / "modelgap.toml"
    policy.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(policy)
    assert words in str(err.value)
    with pytest.raises(PolicyError):
        from_policy(policy)


def test_policy_retrain_table_is_read(tmp_path: Path) -> None:
    from modelgap.readiness import load_policy

    policy = tmp_path / "modelgap.toml"
    policy.write_text('[retrain]\nseeds = 7\nmax_rows = 1000\ntimeout_s = 60\n[retrain.repo]\ncommand = "make model"\n')
    load_policy(policy)  # the readiness loader accepts the table
    options = from_policy(policy)
    assert (options.seeds, options.max_rows, options.timeout_s) == (7, 1000, 60.0)
    assert options.repo_command == "make model" and options.deployed_command is None
    assert options.command_cwd == str(tmp_path)


def test_regression_forests_use_the_predictions_tolerance(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestRegressor

    X, y = tabular(n=1500, seed=4, task="regression")
    train = X[FEATURES].assign(y=y.to_numpy())
    train.to_csv(tmp_path / "train.csv", index=False)
    train = pd.read_csv(tmp_path / "train.csv")
    Xs, ys = tabular(n=700, seed=5, task="regression")
    Xs[FEATURES].assign(y=ys.to_numpy()).to_csv(tmp_path / "sample.csv", index=False)

    def forest(seed: int) -> Any:
        return RandomForestRegressor(n_estimators=10, max_depth=6, random_state=seed)

    repo = save_skops(forest(1).fit(train[FEATURES], train["y"]), tmp_path / "repo.skops")
    deployed_est = forest(0).fit(train[FEATURES], train["y"])
    deployed = save_skops(deployed_est, tmp_path / "deployed.skops")
    named = DataOptions(
        repo_training_data=str(tmp_path / "train.csv"), deployed_training_data=str(tmp_path / "train.csv")
    )
    options = CompareOptions(target="y", no_shap=True, data=named, retrain=RetrainOptions(seeds=3, workers=1))
    comparison = run_comparison(
        load_model(str(repo)), load_model(str(deployed)), data_path=tmp_path / "sample.csv", options=options
    )
    result = section(comparison)
    assert result["repo"]["status"] == "reproduced" and result["deployed"]["status"] == "reproduced"
    rows = Xs[FEATURES]
    tolerance = 0.01 * np.std(deployed_est.predict(rows))  # the predictions section's default tolerance
    values = [forest(s).fit(train[FEATURES], train["y"]).predict(rows) for s in result["noise"]["seed_values"]]
    rates = [np.mean(np.abs(a - b) > tolerance) for a, b in combinations(values, 2)]
    assert result["noise"]["disagreement_rate"] == pytest.approx(np.mean(rates))
    assert result["noise"]["max_abs_diff"] == pytest.approx(
        max(np.abs(a - b).max() for a, b in combinations(values, 2))
    )
