"""Data and class alignment: what can be compared is aligned and said; what cannot is refused with the reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_labels_pyfunc, save_mlflow, save_skops, tabular

import modelgap
from modelgap.comparison import CompareOptions, run_comparison, section_builders
from modelgap.errors import DataError, IncompatibleModelsError, SchemaMismatchError
from modelgap.model import LoadedModel, ModelMetadata
from modelgap.options import PredictionTuning
from modelgap.predictions import compare_predictions
from modelgap.sources.native import from_native


def native(est: object, name: str) -> LoadedModel:
    return from_native(est, name, ModelMetadata())


def data(n: int = 400, seed: int = 21, task: str = "binary") -> pd.DataFrame:
    X, y = tabular(n=n, seed=seed, task=task)
    return X.assign(y=y.to_numpy())


# ---------------------------------------------------------------- identical models, two routes


def test_the_same_model_through_two_routes_gives_exactly_zero_disagreement(tmp_path: Path) -> None:
    est, X, _ = fitted("pipeline")
    skops = modelgap.load_model(str(save_skops(est, tmp_path / "model.skops")))
    mlflow_dir = modelgap.load_model(str(save_mlflow(est, tmp_path / "mlflow_model", X)))
    result, _ = compare_predictions(skops, mlflow_dir, data=data())
    assert result.n_disagreements == 0 and result.disagreement_rate == 0.0
    assert result.max_abs_diff == 0.0 and result.mean_abs_diff == 0.0 and result.top == []
    assert result.slices == [] and result.surrogate.rules == []
    assert result.surrogate.note and "agree on every row" in result.surrogate.note
    assert result.compared_on == "probabilities"


# ---------------------------------------------------------------- classes


def test_classes_matched_by_value_are_aligned_and_named() -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = tabular(n=300, seed=2)
    num = X[["x1", "x2", "x3"]]
    as_int = LogisticRegression(max_iter=500).fit(num, y)
    as_text = LogisticRegression(max_iter=500).fit(num, y.astype(str))
    as_bool = LogisticRegression(max_iter=500).fit(num, y.astype(bool))
    for other, shown in ((as_text, "'1'"), (as_bool, "True")):
        result, _ = compare_predictions(native(as_int, "int"), native(other, "other"), data=data())
        assert result.n_disagreements == 0 and result.max_abs_diff == pytest.approx(0.0, abs=1e-12)
        assert result.class_matching and result.classes == [0, 1]
        assert any("matched by value" in n and shown in n for n in result.notes)


def test_a_different_class_order_is_aligned_by_class() -> None:
    est = fitted("logreg")[0]
    plain = native(est, "plain")
    # The same real model, presented with its classes (and probability columns) in the other order.
    swapped = dataclasses.replace(
        plain,
        source="swapped",
        classes=[1, 0],
        proba_fn=lambda df: est.predict_proba(df[["x1", "x2", "x3"]])[:, ::-1],
    )
    result, _ = compare_predictions(plain, swapped, data=data())
    assert result.n_disagreements == 0 and result.max_abs_diff == pytest.approx(0.0, abs=1e-15)
    assert any("different orders" in n for n in result.notes)


def test_incomparable_pairs_are_refused_with_the_reason() -> None:
    binary = native(fitted("gbm")[0], "binary")
    multi = native(fitted("gbm", "multiclass")[0], "multi")
    regressor = native(fitted("gbm", "regression")[0], "regressor")
    with pytest.raises(IncompatibleModelsError, match=r"only the deployed model has 2"):
        compare_predictions(binary, multi, data=data())
    with pytest.raises(IncompatibleModelsError, match=r"regressor.*cannot be compared"):
        compare_predictions(binary, regressor, data=data())


@pytest.fixture(scope="module")
def labels_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedModel, object]:
    """A python_function model (no native estimator) that returns a GBM's labels only."""
    est, X, _ = fitted("gbm")
    path = save_labels_pyfunc(est, tmp_path_factory.mktemp("pyfunc") / "labels", X)
    return modelgap.load_model(str(path)), est


def test_a_labels_only_model_is_compared_on_labels(labels_only: tuple[LoadedModel, object]) -> None:
    model, est = labels_only
    other = native(fitted("rf")[0], "rf")
    result, _ = compare_predictions(model, other, data=data())
    frame = data()[["x1", "x2", "x3"]]
    disagree = est.predict(frame) != other.estimator.predict(frame)  # type: ignore[attr-defined]
    assert result.compared_on == "labels" and result.n_disagreements == int(disagree.sum())
    assert set(np.unique(result.rows["abs_diff"])) <= {0.0, 1.0}
    assert (result.rows["abs_diff"].to_numpy() == disagree).all()
    assert result.diff_histogram is None and any("labels only" in n for n in result.notes)


def test_a_black_box_is_probed_on_rows_with_missing_values(labels_only: tuple[LoadedModel, object]) -> None:
    model, _ = labels_only
    frame = data()
    frame.loc[[10, 20], "x3"] = np.nan
    with pytest.raises(DataError, match=r"The repo model cannot take missing.*: x3 \(2 NaN\)"):
        compare_predictions(model, native(fitted("rf")[0], "rf"), data=frame)


# ---------------------------------------------------------------- data problems, named precisely


def test_missing_columns_are_named_per_model() -> None:
    repo = native(fitted("pipeline")[0], "repo")
    deployed = native(fitted("gbm")[0], "deployed")
    with pytest.raises(SchemaMismatchError) as err:
        compare_predictions(repo, deployed, data=data().drop(columns=["x2", "cat"]))
    text = str(err.value)
    assert "the repo model needs x2, cat" in text and "the deployed model needs x2" in text


def test_a_missing_target_column_lists_the_columns() -> None:
    repo = native(fitted("gbm")[0], "repo")
    with pytest.raises(DataError, match=r"'label' is not in the data \(columns: x1, x2, x3, cat, y\)"):
        compare_predictions(repo, repo, data=data(), options=CompareOptions(target="label"))


def test_text_in_a_numeric_column_names_the_column_and_an_example(tmp_path: Path) -> None:
    est, X, _ = fitted("gbm")
    declared = modelgap.load_model(str(save_mlflow(est, tmp_path / "declared", X)))  # signature: x1 is double
    undeclared = native(est, "native")
    bad = data().astype({"x1": object})
    bad.loc[7, "x1"] = "12,5 kg"
    for model in (declared, undeclared):
        with pytest.raises(SchemaMismatchError, match=r"'x1'.*'12,5 kg'"):
            compare_predictions(model, model, data=bad)
    good_text = data().astype({"x1": str})  # numbers stored as text: converted where the model declares numbers
    result, _ = compare_predictions(declared, declared, data=good_text)
    assert result.n_disagreements == 0 and any("converted to numbers" in n for n in result.notes)


def test_unseen_category_levels_refused_or_noted() -> None:
    strict = native(fitted("pipeline", pre__cat__handle_unknown="error")[0], "strict")
    lenient = native(fitted("pipeline")[0], "lenient")
    frame = data()
    frame.loc[[3, 4, 9], "cat"] = "zzz"
    with pytest.raises(SchemaMismatchError, match=r"'cat': 'zzz' \(3 rows\) \(the repo model\)"):
        compare_predictions(strict, lenient, data=frame)
    result, _ = compare_predictions(lenient, lenient, data=frame)
    assert any("'cat'" in n and "'zzz' (3 rows)" in n for n in result.notes)


def test_missing_values_are_counted_per_column_when_a_model_cannot_take_them() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = tabular(n=300, seed=2)
    gbm = native(fitted("gbm")[0], "gbm")
    hist = native(HistGradientBoostingClassifier(max_iter=20).fit(X[["x1", "x2", "x3"]], y), "hist")
    with_nan = data()
    with_nan.loc[[1, 5, 8], "x2"] = np.nan
    with_inf = with_nan.copy()
    with_inf.loc[2, "x1"] = np.inf
    with pytest.raises(DataError, match=r"The repo model cannot take missing.*: x1 \(1 inf\), x2 \(3 NaN\)"):
        compare_predictions(gbm, gbm, data=with_inf)
    with pytest.raises(DataError, match=r"The deployed model cannot take missing.*: x2 \(3 NaN\)"):
        compare_predictions(hist, gbm, data=with_nan)  # HistGradientBoosting takes NaN natively; GBM does not
    result, _ = compare_predictions(hist, hist, data=with_nan)
    assert result.n_rows == len(with_nan) and result.n_disagreements == 0


# ---------------------------------------------------------------- streaming, caps, files


def test_streaming_in_chunks_gives_the_same_numbers_as_one_pass(tmp_path: Path) -> None:
    repo = native(fitted("pipeline")[0], "repo")
    deployed = native(fitted("lightgbm", seed=1)[0], "deployed")
    frame = data(n=700)
    one, _ = compare_predictions(repo, deployed, data=frame, options=CompareOptions(target="y"))
    many, _ = compare_predictions(
        repo, deployed, data=frame, options=CompareOptions(target="y", predictions=PredictionTuning(chunk_rows=97))
    )
    for name in ("repo", "deployed", "abs_diff", "repo_score", "deployed_score", "target"):
        assert np.array_equal(getattr(one.outputs, name), getattr(many.outputs, name), equal_nan=True), name
    assert one.to_dict() == many.to_dict()
    csv, parquet = tmp_path / "data.csv", tmp_path / "data.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    options = CompareOptions(target="y", predictions=PredictionTuning(chunk_rows=150))
    from_csv, _ = compare_predictions(repo, deployed, data_path=csv, options=options)
    from_parquet, _ = compare_predictions(repo, deployed, data_path=parquet, options=options)
    for other in (from_csv, from_parquet):
        assert other.n_disagreements == one.n_disagreements
        assert other.mean_abs_diff == pytest.approx(one.mean_abs_diff, rel=1e-12)
        assert [t["row"] for t in other.top] == [t["row"] for t in one.top]


def test_the_sample_is_capped_uniformly_and_keeps_the_top_rows() -> None:
    repo = native(fitted("pipeline")[0], "repo")
    deployed = native(fitted("xgboost", seed=1)[0], "deployed")
    frame = data(n=700)
    options = CompareOptions(target="y", top_n=10, predictions=PredictionTuning(sample_rows=150, chunk_rows=97))
    result, sample = compare_predictions(repo, deployed, data=frame, options=options)
    again, sample_again = compare_predictions(
        repo,
        deployed,
        data=frame,
        options=dataclasses.replace(options, predictions=PredictionTuning(sample_rows=150, chunk_rows=500)),
    )
    assert result.n_rows == 700 and len(result.uniform_rows) == 150
    assert list(sample.index) == list(sample_again.index)  # the sample does not depend on chunking
    assert again.to_dict() == result.to_dict()
    tops = [t["row"] for t in result.top]
    assert len(tops) == 10 and set(tops) <= set(sample.index)
    assert list(result.rows.index) == list(sample.index)
    assert (sample.drop(columns="y") == frame.loc[sample.index].drop(columns="y")).all().all()
    assert result.row_cap is not None and result.row_cap.sample_capped
    assert sum(s.n_rows for s in result.slices if s.column == "cat") == 150
    assert any("uniform sample of 150 rows" in n for n in result.notes)
    capped, _ = compare_predictions(repo, deployed, data=frame, options=CompareOptions(max_rows=300))
    assert capped.n_rows == 300 and any("first 300 rows" in n for n in capped.notes)


def test_section_builders_run_predictions_first_and_set_the_sample() -> None:
    names = [name for name, _ in section_builders()]
    assert names[:2] == ["predictions", "metrics"] and names[-1] == "verdict"
    repo = native(fitted("gbm")[0], "repo")
    deployed = native(fitted("rf")[0], "deployed")
    frame = data()
    options = CompareOptions(target="y", no_shap=True)
    comparison = run_comparison(repo, deployed, data=frame, options=options)
    assert comparison.sample is not None and list(comparison.sample.index) == list(range(len(frame)))
    assert comparison.sections["predictions"].n_rows == len(frame)
    assert set(comparison.sections["metrics"].to_dict()) == {"accuracy", "roc_auc", "log_loss", "f1"}
    without = run_comparison(repo, deployed, options=CompareOptions(no_shap=True))
    assert "predictions" not in without.sections and any("no sample data" in n for n in without.notes)
