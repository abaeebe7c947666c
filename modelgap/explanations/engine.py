"""One entry point, `explain`: picks the exact path a model allows, else the model-agnostic one.

Order: tree models (native contributions or TreeExplainer), linear models (closed form), both also as the
final step of a sklearn Pipeline with derived features summed back to input columns; anything else (pyfunc,
endpoint, labels-only, unsupported estimator, untraceable preprocessing) goes model-agnostic.
`explain` = `prepare` (path chosen, explainer built) + its runner + `finish`; `pair.explain_pair` runs the
prepared tree jobs of two models on one work list instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from modelgap.errors import DataError, SchemaMismatchError
from modelgap.explanations import linear, tree
from modelgap.explanations.agnostic import AgnosticSettings, explain_agnostic
from modelgap.explanations.chunks import ChunkResult
from modelgap.explanations.mapping import MappingError, input_sources, split_pipeline, sum_to_inputs, transform
from modelgap.explanations.outputs import OUTPUT_SPACES, estimator_output, family, model_output_fn, targets_of
from modelgap.explanations.result import (
    Explanation,
    ProgressCallback,
    StopCallback,
    build_explanation,
)
from modelgap.model import LoadedModel

AGNOSTIC_METHOD = "permutation (model-agnostic)"
LINEAR_METHOD = "linear (closed form)"


@dataclass(frozen=True)
class ExplainSettings:
    agnostic: AgnosticSettings = field(default_factory=AgnosticSettings)
    parallel: bool = True  # allow a second core (thread or process) when it pays (chunks.run_chunks decides)
    workers: int | None = None  # 1 or 2 fixes the number of workers instead of deciding per run
    force_agnostic: bool = False  # explain with the agnostic path even when an exact one exists


@dataclass
class _Raw:
    result: ChunkResult
    outputs: np.ndarray  # (n_done, k) model output, same targets as the values
    method: str


Runner = Callable[[ProgressCallback | None, StopCallback | None], _Raw]


@dataclass
class Prepared:
    """One model ready to explain on its rows: its path chosen and its explainer built, nothing run yet.

    `run` explains here (any path); an exact Tree SHAP path also gives its `job` and `finish_job` (the job's
    result as `run` returns it), so that the two models of a pair can share the helper (`pair.explain_pair`).
    """

    model: LoadedModel
    X: pd.DataFrame
    output: str
    columns: list[str]
    targets: list[str]
    labels: dict[str, Any]
    notes: list[str]
    started: float
    run: Runner
    job: tree.TreeJob | None = None
    finish_job: Callable[[ChunkResult], _Raw] | None = None


def explain(
    model: LoadedModel,
    X: pd.DataFrame,
    *,
    output: str,
    background: pd.DataFrame | None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    settings: ExplainSettings | None = None,
    exclude: Sequence[str] = (),
) -> Explanation:
    """SHAP values of `model` on rows X, per input column of the model, in `output` space.

    A model that lists no input columns (an endpoint without metadata) is explained on X's columns except
    `exclude` (the label column: it is never an input, and explaining it would credit the answer itself).
    """
    prepared = prepare(model, X, output=output, background=background, settings=settings, exclude=exclude)
    return finish(prepared, prepared.run(progress, should_stop))


def prepare(
    model: LoadedModel,
    X: pd.DataFrame,
    *,
    output: str,
    background: pd.DataFrame | None,
    settings: ExplainSettings | None = None,
    exclude: Sequence[str] = (),
) -> Prepared:
    """Check the rows, choose the path (exact, else model-agnostic) and build its explainer."""
    started = time.perf_counter()
    settings = settings or ExplainSettings()
    if output not in OUTPUT_SPACES:
        raise ValueError(f"unknown output space {output!r}; expected one of {OUTPUT_SPACES}")
    if len(X) == 0:
        raise DataError("There are no rows to explain.", "Give sample data with at least one row.")
    columns = model.feature_names or [c for c in X.columns if c not in set(exclude)]
    _check_columns(model, X, columns, "data")
    if background is not None:
        _check_columns(model, background, columns, "background data")
    targets, labels = targets_of(model)
    Xm = X[columns]
    notes: list[str] = []
    prepared = Prepared(model, X, output, columns, targets, labels, notes, started, run=_unset)
    if model.estimator is not None and not settings.force_agnostic:
        exact = _prepare_exact(model, Xm, output, background, settings, notes)
        if exact is not None:
            prepared.run, prepared.job, prepared.finish_job = exact
            return prepared

    def agnostic(progress: ProgressCallback | None, should_stop: StopCallback | None) -> _Raw:
        return _explain_agnostic(model, Xm, output, background, progress, should_stop, settings, notes)

    prepared.run = agnostic
    return prepared


def _unset(progress: ProgressCallback | None, should_stop: StopCallback | None) -> _Raw:
    raise AssertionError("prepare() sets the runner")


def finish(prepared: Prepared, raw: _Raw) -> Explanation:
    """The Explanation of what `raw` explained (the rows from the first one, all of them unless stopped)."""
    model, targets, columns, X = prepared.model, prepared.targets, prepared.columns, prepared.X
    res = raw.result
    values, base, outputs = res.values, res.base, raw.outputs
    if res.n_done == 0:
        values = np.zeros((0, len(columns), len(targets)))
        base = np.zeros((0, len(targets)))
        outputs = np.zeros((0, len(targets)))
    if values.shape[2] != len(targets) or outputs.shape[1] != len(targets):
        raise ValueError(
            f"{model.source}: {values.shape[2]} explained outputs, {outputs.shape[1]} model outputs,"
            f" {len(targets)} targets"
        )
    return build_explanation(
        values,
        base,
        outputs,
        explained=X.iloc[: res.n_done],
        n_requested=len(X),
        output=prepared.output,
        method=raw.method,
        targets=targets,
        class_labels=prepared.labels,
        features=columns,
        stopped=res.stopped,
        seconds=time.perf_counter() - prepared.started,
        notes=prepared.notes,
        workers=res.workers,
    )


def warm_helper(models: Sequence[LoadedModel]) -> bool:
    """Start the SHAP helper process ahead of `explain` when a model's final estimator is a scikit-learn tree
    model (called when a comparison starts: the start then overlaps the predictions); True when it started."""
    finals = [split_pipeline(m.estimator)[1] for m in models if m.estimator is not None]
    return tree.warm_helper_for(finals)


def _check_columns(model: LoadedModel, df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaMismatchError(
            f"The {what} lacks column(s) {', '.join(missing)} that {model.source} needs.",
            "Add them to the data file.",
        )


def _prepare_exact(
    model: LoadedModel,
    Xm: pd.DataFrame,
    output: str,
    background: pd.DataFrame | None,
    settings: ExplainSettings,
    notes: list[str],
) -> tuple[Runner, tree.TreeJob | None, Callable[[ChunkResult], _Raw] | None] | None:
    """The exact path for tree and linear final estimators (runner, tree job, its finish), or None (with a
    note saying why)."""
    parts, final = split_pipeline(model.estimator)
    name = type(final).__name__
    tree_ok = tree.supports(final, output, model.task, has_background=background is not None)
    if not tree_ok and not linear.supports(final, output, model.task):
        notes.append(f"No exact explainer for {name} in {output} space: explained model-agnostically.")
        return None
    try:
        sources = input_sources(parts, list(Xm.columns)) if parts else None
    except MappingError as err:
        notes.append(err.one_line())
        return None
    native_frame = not parts and family(final) in ("xgboost", "lightgbm")
    Xin: Any = Xm if native_frame else tree.as_matrix(transform(parts, Xm))
    bg: Any = None
    if background is not None:
        bg_rows = background[list(Xm.columns)]
        bg = bg_rows if native_frame else tree.as_matrix(transform(parts, bg_rows))

    every: list[np.ndarray] = []  # the outputs on all rows, when computed ahead (`outputs_ahead`)

    def outputs_ahead() -> None:
        if not every:
            every.append(estimator_output(final, Xin, output))

    def raw_of(res: ChunkResult, method: str) -> _Raw:
        done = Xin.iloc[: res.n_done] if hasattr(Xin, "iloc") else Xin[: res.n_done]
        if every and res.n_done == len(every[0]):
            outputs = every[0]
        else:
            outputs = estimator_output(final, done, output) if res.n_done else np.zeros((0, 0))
        if model.task == "binary":
            res = _positive_class(res)
            outputs = outputs[:, 1:2] if outputs.shape[1] == 2 else outputs
        if sources is not None and res.n_done:
            res.values = sum_to_inputs(res.values, sources, len(Xm.columns))
        return _Raw(res, outputs, method)

    if not tree_ok:
        mean_source = bg if bg is not None else Xin

        def run_linear(progress: ProgressCallback | None, should_stop: StopCallback | None) -> _Raw:
            res = linear.explain_linear(final, Xin, background=mean_source, progress=progress, should_stop=should_stop)
            return raw_of(res, LINEAR_METHOD)

        return run_linear, None, None
    job = tree.tree_job(
        final,
        Xin,
        output=output,
        task=model.task,
        background=bg,
        allow_parallel=settings.parallel,
        workers=settings.workers,
    )
    method = tree.method_name(final, output, model.task)

    def finish_tree(res: ChunkResult) -> _Raw:
        if res.parallel and not method.endswith(("pred_contribs", "pred_contrib")):
            notes.append("Tree SHAP ran in 2 worker processes (this one and a helper: it uses one core per process).")
        return raw_of(res, method)

    def run_tree(progress: ProgressCallback | None, should_stop: StopCallback | None) -> _Raw:
        return finish_tree(job.run(progress, should_stop, settings.workers))

    job = replace(job, ahead=outputs_ahead)
    return run_tree, job, finish_tree


def _positive_class(res: ChunkResult) -> ChunkResult:
    """Binary models explained per class (sklearn forests) keep the positive class only."""
    if res.n_done and res.values.shape[2] == 2:
        res.values = res.values[:, :, 1:2]
        res.base = res.base[:, 1:2]
    return res


def _explain_agnostic(
    model: LoadedModel,
    Xm: pd.DataFrame,
    output: str,
    background: pd.DataFrame | None,
    progress: ProgressCallback | None,
    should_stop: StopCallback | None,
    settings: ExplainSettings,
    notes: list[str],
) -> _Raw:
    budget = settings.agnostic
    fn = model_output_fn(model, output)
    Xa = Xm.head(budget.max_rows)
    if len(Xm) > budget.max_rows:
        notes.append(f"Model-agnostic SHAP explained the first {budget.max_rows} of {len(Xm)} rows (row budget).")
    if background is None:
        bg = Xm.sample(min(budget.background_rows, len(Xm)), random_state=budget.seed)
    else:
        bg = background[list(Xm.columns)]
    res = explain_agnostic(fn, Xa, bg, settings=budget, progress=progress, should_stop=should_stop)
    outputs = np.asarray(fn(Xa.iloc[: res.n_done]), dtype=float) if res.n_done else np.zeros((0, 0))
    return _Raw(res, outputs.reshape(res.n_done, -1) if res.n_done else outputs, AGNOSTIC_METHOD)
