"""Exact SHAP for tree models: native contributions (xgboost, lightgbm) or shap's TreeExplainer.

Raw spaces use path-dependent Tree SHAP (no background needed); probability space for binary boosters uses
TreeExplainer's interventional mode with a background sample. Multiclass sklearn GradientBoosting, which
TreeExplainer refuses, is explained one class at a time from its per-class trees.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelgap.explanations import chunks, parallel
from modelgap.explanations.chunks import ChunkFn, ChunkResult, Split, chunk_size, run_chunks
from modelgap.explanations.outputs import family, raw_space_of_estimator
from modelgap.explanations.result import ProgressCallback, StopCallback
from modelgap.explanations.shapes import normalize_contribs, normalize_shap

TREE_FAMILIES = ("sklearn_forest", "sklearn_gbm", "sklearn_hgb", "xgboost", "lightgbm")
HELPER_FAMILIES = ("sklearn_forest", "sklearn_gbm", "sklearn_hgb")  # shap's TreeExplainer: one core per process
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
    workers: int | None = None,
) -> ChunkResult:
    """(n, f, k) SHAP values and (n, k) base values of `est` on the feature matrix X (raw k outputs).

    Native contributions use a second thread, shap's TreeExplainer a second process, when `run_chunks` finds
    it pays (`workers` fixes the number instead; `allow_parallel=False` keeps one).
    """
    job = tree_job(
        est, X, output=output, task=task, background=background, allow_parallel=allow_parallel, workers=workers
    )
    return job.run(progress, should_stop, workers)


@dataclass(frozen=True)
class TreeJob:
    """What `explain_tree` runs: the chunk function, the rows it slices, how a second worker may help."""

    fn: ChunkFn
    rows: Any
    split: Split
    size: int
    ahead: Callable[[], None] | None = None  # other work of the model's, which may run while the helper works

    def run(
        self, progress: ProgressCallback | None, should_stop: StopCallback | None, workers: int | None
    ) -> ChunkResult:
        """The job alone (not on a pair's shared list), in chunks, with a second worker when it pays."""
        return run_chunks(
            self.fn,
            self.rows,
            size=self.size,
            progress=progress,
            should_stop=should_stop,
            split=self.split,
            workers=workers,
        )


def tree_job(
    est: Any,
    X: Any,
    *,
    output: str,
    task: str,
    background: Any | None,
    allow_parallel: bool = True,
    workers: int | None = None,
) -> TreeJob:
    """The chunk function of `est` on X (its explainer built), without running it: a pair's two jobs may then
    share the helper process (worklist.run_jobs)."""
    fam = family(est)
    native = output == raw_space_of_estimator(est, task) and fam in ("xgboost", "lightgbm")
    if allow_parallel and workers != 1 and not native and X.shape[0] > chunks.PROBE_ROWS:
        parallel.warm_if_free()  # the helper starts while the explainer is built and the first rows explained
    fn: ChunkFn
    split: Split = "processes"
    rows: Any = X
    if output == raw_space_of_estimator(est, task):
        if fam == "xgboost":
            fn, rows, split = _XGBoostContribs.of(est, X.shape[1]), _DMatrixRows(X), "threads"
        elif fam == "lightgbm":
            fn, split = _LightGBMContribs(est, X.shape[1]), "threads"
        elif fam == "sklearn_gbm" and getattr(est, "estimators_", np.zeros((0, 1))).shape[1] > 1:
            fn = _gbm_multiclass_fn(est, X)
        else:
            fn = _tree_explainer_fn(est, X.shape[1], None)
    else:
        if background is None:
            raise ValueError("probability-space Tree SHAP needs a background sample")
        fn = _tree_explainer_fn(est, X.shape[1], background)
    return TreeJob(fn, rows, split if allow_parallel else "none", chunk_size(X.shape[0]))


class _DMatrixRows:
    """All rows in one DMatrix, sliced per chunk (one conversion from pandas instead of one per chunk)."""

    def __init__(self, X: Any) -> None:
        import xgboost

        self.dm = xgboost.DMatrix(X, enable_categorical=True)
        self.shape = X.shape

    def __getitem__(self, rows: slice) -> Any:
        return self.dm.slice(np.arange(rows.start, rows.stop))


class _XGBoostContribs:
    """xgboost's own Tree SHAP (`pred_contribs`) on a DMatrix, with the booster's threads or `with_threads`."""

    def __init__(self, booster: Any, iteration_range: tuple[int, int], n_features: int) -> None:
        self.booster = booster
        self.iteration_range = iteration_range
        self.n_features = n_features

    @classmethod
    def of(cls, est: Any, n_features: int) -> _XGBoostContribs:
        booster = est.get_booster() if hasattr(est, "get_booster") else est
        iteration_range = (0, 0)
        if hasattr(est, "get_booster"):
            with contextlib.suppress(AttributeError):  # no early stopping: all trees
                iteration_range = (0, int(est.best_iteration) + 1)  # what the sklearn API predicts with
        return cls(booster, iteration_range, n_features)

    def with_threads(self, threads: int) -> _XGBoostContribs:
        """The same on `threads` threads: a copy of the booster when its own count differs (never the
        caller's booster, which other sessions may be using)."""
        config = json.loads(self.booster.save_config())
        if str(config.get("learner", {}).get("generic_param", {}).get("nthread")) == str(threads):
            return self
        booster = self.booster.copy()
        booster.set_param({"nthread": threads})
        return _XGBoostContribs(booster, self.iteration_range, self.n_features)

    def __call__(self, dm: Any) -> tuple[np.ndarray, np.ndarray]:
        phi = self.booster.predict(
            dm, pred_contribs=True, iteration_range=self.iteration_range, validate_features=False
        )
        return normalize_contribs(phi, dm.num_row(), self.n_features)


class _LightGBMContribs:
    """lightgbm's own Tree SHAP (`pred_contrib`), with the model's threads or `with_threads`."""

    def __init__(self, est: Any, n_features: int, threads: int | None = None) -> None:
        self.est = est
        self.n_features = n_features
        self.threads = threads

    def with_threads(self, threads: int) -> _LightGBMContribs:
        return _LightGBMContribs(self.est, self.n_features, threads)

    def __call__(self, rows: Any) -> tuple[np.ndarray, np.ndarray]:
        extra = {} if self.threads is None else {"num_threads": self.threads}
        phi = self.est.predict(rows, pred_contrib=True, **extra)
        if hasattr(phi, "toarray"):
            phi = phi.toarray()
        return normalize_contribs(phi, rows.shape[0], self.n_features)


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


def warm_helper_for(estimators: list[Any]) -> bool:
    """Start the helper process now when one of `estimators` (final steps) is explained by shap's
    TreeExplainer, so that its cold start overlaps the work before the explanations."""
    if not any(family(e) in HELPER_FAMILIES for e in estimators):
        return False
    return parallel.warm_if_free()


__all__ = [
    "TreeJob",
    "as_matrix",
    "background_for",
    "explain_tree",
    "method_name",
    "supports",
    "tree_job",
    "warm_helper_for",
]
