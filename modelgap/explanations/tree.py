"""Exact SHAP for tree models: native contributions (xgboost, lightgbm) or shap's TreeExplainer.

Raw spaces use path-dependent Tree SHAP (no background needed); probability space for binary boosters uses
TreeExplainer's interventional mode with a background sample. Multiclass sklearn GradientBoosting, which
TreeExplainer refuses, is explained one class at a time from its per-class trees.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from modelgap.explanations.chunks import ChunkFn, ChunkResult, chunk_size, run_chunks
from modelgap.explanations.outputs import family, raw_space_of_estimator
from modelgap.explanations.result import ProgressCallback, StopCallback
from modelgap.explanations.shapes import normalize_contribs, normalize_shap

TREE_FAMILIES = ("sklearn_forest", "sklearn_gbm", "sklearn_hgb", "xgboost", "lightgbm")
BACKGROUND_ROWS = 100  # interventional Tree SHAP cost grows linearly with the background


def supports(est: Any, output: str, task: str, has_background: bool) -> bool:
    """Whether this module explains `est` exactly in `output` space."""
    fam = family(est)
    if fam not in TREE_FAMILIES:
        return False
    if output == raw_space_of_estimator(est, task):
        return True
    # Interventional Tree SHAP (needed for probability) does not add up for HistGradientBoosting in shap 0.51
    # (measured: max error 0.05 in probability, 0.35 in raw space), so those go model-agnostic.
    boosted = fam in ("sklearn_gbm", "xgboost", "lightgbm")
    return output == "probability" and boosted and task == "binary" and has_background


def method_name(est: Any, output: str, task: str) -> str:
    fam = family(est)
    if output == raw_space_of_estimator(est, task):
        if fam == "xgboost":
            return "xgboost pred_contribs"
        if fam == "lightgbm":
            return "lightgbm pred_contrib"
        return "TreeExplainer"
    return "TreeExplainer (interventional)"


def explain_tree(
    est: Any,
    X: Any,
    *,
    output: str,
    task: str,
    background: Any | None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    allow_parallel: bool = True,
) -> ChunkResult:
    """(n, f, k) SHAP values and (n, k) base values of `est` on the feature matrix X (raw k outputs)."""
    fam = family(est)
    fn: ChunkFn
    parallel = False
    if output == raw_space_of_estimator(est, task):
        if fam == "xgboost":
            fn = _xgboost_fn(est, X.shape[1])
        elif fam == "lightgbm":
            fn = _lightgbm_fn(est, X.shape[1])
        elif fam == "sklearn_gbm" and getattr(est, "estimators_", np.zeros((0, 1))).shape[1] > 1:
            fn, parallel = _gbm_multiclass_fn(est, X), True
        else:
            fn, parallel = _tree_explainer_fn(est, X.shape[1], None), True
    else:
        if background is None:
            raise ValueError("probability-space Tree SHAP needs a background sample")
        fn, parallel = _tree_explainer_fn(est, X.shape[1], background), True
    return run_chunks(
        fn,
        X,
        size=chunk_size(X.shape[0]),
        progress=progress,
        should_stop=should_stop,
        parallel=parallel and allow_parallel,
    )


def _xgboost_fn(est: Any, n_features: int) -> ChunkFn:
    import xgboost

    booster = est.get_booster() if hasattr(est, "get_booster") else est
    iteration_range = (0, 0)
    if hasattr(est, "get_booster"):
        with contextlib.suppress(AttributeError):  # no early stopping: all trees
            iteration_range = (0, int(est.best_iteration) + 1)  # what the sklearn API predicts with

    def fn(rows: Any) -> tuple[np.ndarray, np.ndarray]:
        dm = xgboost.DMatrix(rows, enable_categorical=True)
        phi = booster.predict(dm, pred_contribs=True, iteration_range=iteration_range, validate_features=False)
        return normalize_contribs(phi, rows.shape[0], n_features)

    return fn


def _lightgbm_fn(est: Any, n_features: int) -> ChunkFn:
    def fn(rows: Any) -> tuple[np.ndarray, np.ndarray]:
        phi = est.predict(rows, pred_contrib=True)
        if hasattr(phi, "toarray"):
            phi = phi.toarray()
        return normalize_contribs(phi, rows.shape[0], n_features)

    return fn


def _tree_explainer_fn(est: Any, n_features: int, background: Any | None) -> ChunkFn:
    import shap

    if background is None:
        explainer = shap.TreeExplainer(est)
    else:
        bg = background[:BACKGROUND_ROWS]
        explainer = shap.TreeExplainer(est, data=bg, model_output="probability", feature_perturbation="interventional")
    return _Explain(explainer, n_features)


class _Explain:
    """A picklable chunk function (loky workers receive it whole)."""

    def __init__(self, explainer: Any, n_features: int, offset: float = 0.0) -> None:
        self.explainer = explainer
        self.n_features = n_features
        self.offset = offset

    def __call__(self, rows: Any) -> tuple[np.ndarray, np.ndarray]:
        raw = self.explainer.shap_values(rows, check_additivity=False)
        values, base = normalize_shap(raw, self.explainer.expected_value, rows.shape[0], self.n_features)
        return values, base + self.offset


class _PerClass:
    """Multiclass GradientBoosting: one path-dependent explainer per class, stacked on the last axis."""

    def __init__(self, parts: list[_Explain]) -> None:
        self.parts = parts

    def __call__(self, rows: Any) -> tuple[np.ndarray, np.ndarray]:
        results = [part(np.asarray(rows, dtype=np.float32)) for part in self.parts]
        return np.concatenate([r[0] for r in results], axis=2), np.concatenate([r[1] for r in results], axis=1)


def _gbm_multiclass_fn(est: Any, X: Any) -> ChunkFn:
    """Per class c: trees estimators_[:, c] scaled by the learning rate; the offset is the init raw score."""
    import shap
    from shap.explainers._tree import SingleTree

    first = np.asarray(X[:1], dtype=np.float32)
    raw = np.asarray(est.decision_function(first), dtype=float).reshape(1, -1)
    lr = float(est.learning_rate)
    parts: list[_Explain] = []
    for c in range(est.estimators_.shape[1]):
        trees = est.estimators_[:, c]
        explainer = shap.TreeExplainer([SingleTree(t.tree_, scaling=lr) for t in trees])
        offset = raw[0, c] - lr * float(sum(t.predict(first)[0] for t in trees))
        parts.append(_Explain(explainer, first.shape[1], offset))
    return _PerClass(parts)


def as_matrix(Xt: Any) -> Any:
    """Dense float matrix for shap (sparse one-hot output is densified; the row counts here are bounded)."""
    if hasattr(Xt, "toarray"):
        Xt = Xt.toarray()
    if hasattr(Xt, "to_numpy"):
        return Xt.to_numpy(dtype=float)
    return np.asarray(Xt, dtype=float)


def background_for(est: Any, background_t: Any | None) -> Any | None:
    if background_t is None:
        return None
    return as_matrix(background_t)[:BACKGROUND_ROWS]


__all__ = ["as_matrix", "background_for", "explain_tree", "method_name", "supports"]
