"""Where the models disagree: the slice finder and the surrogate tree recover a planted disagreement region."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular
from sklearn.base import BaseEstimator, ClassifierMixin

from modelgap.model import ModelMetadata
from modelgap.predictions import compare_predictions, find_slices, fit_surrogate
from modelgap.sources.native import from_native


def in_region(X: pd.DataFrame) -> np.ndarray:
    return np.asarray((X["x1"] > 0.7) & (X["cat"] == "b"))


class FlipInRegion(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A fitted classifier whose answer is reversed where x1 > 0.7 and cat == "b", and unchanged elsewhere."""

    def __init__(self, base: Any = None) -> None:
        self.base = base

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.base.classes_)

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray(self.base.feature_names_in_)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = np.array(self.base.predict_proba(X), dtype=float)
        region = in_region(X)
        proba[region] = proba[region][:, ::-1]
        return proba

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@pytest.fixture(scope="module")
def planted() -> tuple[Any, pd.DataFrame, np.ndarray]:
    base = fitted("pipeline")[0]
    repo = from_native(base, "repo", ModelMetadata())
    deployed = from_native(FlipInRegion(base), "deployed", ModelMetadata())
    X, y = tabular(n=3000, seed=5)
    result, sample = compare_predictions(repo, deployed, data=X.assign(y=y.to_numpy()))
    return result, sample, in_region(X)


def test_disagreement_is_exactly_the_planted_region(planted: tuple[Any, pd.DataFrame, np.ndarray]) -> None:
    result, _, region = planted
    assert result.n_disagreements == int(region.sum()) > 100
    assert (result.rows["disagrees"].to_numpy() == region).all()


def test_slices_rank_the_region_first_and_find_nothing_outside_it(
    planted: tuple[Any, pd.DataFrame, np.ndarray],
) -> None:
    result, sample, region = planted
    top_two = {(s.column, s.kind) for s in result.slices[:2]}
    assert ("cat", "category") in top_two and ("x1", "range") in top_two
    cat_b = next(s for s in result.slices if s.column == "cat" and s.label == "b")
    assert cat_b.n_disagree == int(region.sum()) and cat_b.lift is not None and cat_b.lift > 2.5
    for s in result.slices:
        mask = s.mask(sample)
        assert int(mask.sum()) == s.n_rows and int(region[mask].sum()) == s.n_disagree, s.condition
        assert s.rate == pytest.approx(region[mask].mean())
        if s.column == "cat" and s.label != "b":
            assert s.n_disagree == 0
        if s.column == "x1" and s.high is not None and s.high <= 0.7:
            assert s.n_disagree == 0, s.condition
    overall = region.mean()
    z = [(s.rate - overall) / np.sqrt(overall * (1 - overall) / s.n_rows) for s in result.slices]
    assert z == pytest.approx([s.z for s in result.slices]) and z == sorted(z, reverse=True)


def test_the_surrogate_states_the_planted_rule(planted: tuple[Any, pd.DataFrame, np.ndarray]) -> None:
    result, _, region = planted
    surrogate = result.surrogate
    best = surrogate.rules[0]
    assert best.predicts_disagree and best.rate == 1.0
    assert "cat = b" in best.conditions
    (x1_rule,) = [c for c in best.conditions if c.startswith("x1 >")]
    assert 0.68 <= float(x1_rule.split(">")[1]) <= 0.72
    assert best.n_rows == pytest.approx(region.sum(), rel=0.03)
    assert surrogate.balanced_accuracy is not None and surrogate.balanced_accuracy > 0.98
    in_best = (surrogate.leaves == best.leaf).to_numpy()
    assert (region[in_best]).all()
    d = surrogate.to_dict()
    assert d["rules"][0]["rule"] == best.rule and d["fidelity"]["balanced_accuracy"] > 0.98


def test_nothing_to_find_when_the_models_agree() -> None:
    X, _ = tabular(n=200, seed=1)
    agree = np.zeros(len(X), dtype=bool)
    assert find_slices(X, agree) == []
    surrogate = fit_surrogate(X, agree)
    assert surrogate.rules == [] and surrogate.note is not None and "agree on every row" in surrogate.note
    assert fit_surrogate(X, ~agree).rules == []


def test_slices_handle_missing_values_rare_levels_and_booleans() -> None:
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "amount": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.normal(size=n)),
            "flag": rng.uniform(size=n) < 0.5,
            "code": rng.choice([f"c{i}" for i in range(30)], n),
        }
    )
    disagree = np.asarray(frame["amount"].isna() | (frame["flag"] & (rng.uniform(size=n) < 0.2)))
    slices = find_slices(frame, disagree)
    assert slices[0].column == "amount" and slices[0].kind == "missing" and slices[0].rate == 1.0
    for column in ("amount", "flag", "code"):
        assert sum(s.n_rows for s in slices if s.column == column) == n, column
    other = next(s for s in slices if s.kind == "other")
    assert other.n_rows == int(other.mask(frame).sum()) and len(other.excluded) == 20
    rule = fit_surrogate(frame, disagree).rules[0]
    assert "amount" in rule.rule and "missing" in rule.rule and rule.rate == 1.0
