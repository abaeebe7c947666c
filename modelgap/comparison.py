"""One comparison of two models: parameters always, then the sections the data and options allow.

Data flows one way: LoadedModels -> Comparison -> views and reports. Each section is built by a small
builder owned by its module (predictions, explanations, data, readiness); builders run in order and
may read the sections built before them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelgap.model import LoadedModel
from modelgap.params import ParameterComparison, compare_parameters
from modelgap.sections import Sections
from modelgap.sources.origins import Trust

if TYPE_CHECKING:
    from modelgap.retraining.options import RetrainOptions

ProgressFn = Callable[[str, float], None]  # (message, fraction done 0..1)


@dataclass
class CompareOptions:
    target: str | None = None
    tolerance: float | None = None  # regression: None -> 1% of the std of the deployed model's predictions
    shap_rows: int = 1000
    # Rows explained when a side is a scoring endpoint (SHAP sends it several requests a row). 0: none.
    endpoint_shap_rows: int = 20
    no_shap: bool = False
    top_n: int = 20
    max_rows: int | None = None  # cap on rows read from the data (None: all, streamed)
    policy_path: str | None = None
    engine: str = "pandas"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # options a section adds without widening this class
    # Which origins may supply code-bearing models that sections load later (an endpoint's paired entry).
    # None: none may; the CLI passes its own trust, the app the operator's.
    trust: Trust | None = None
    retrain: RetrainOptions | None = None  # --retrain: rebuild both models from their recipes (None: never)


@dataclass
class Comparison:
    repo: LoadedModel
    deployed: LoadedModel
    options: CompareOptions
    parameters: ParameterComparison
    data_path: str | None = None
    data: pd.DataFrame | None = None  # caller-supplied frame (app uploads); builders prefer it to data_path
    sample: pd.DataFrame | None = None  # the in-memory rows used for per-row views, SHAP and slices
    sections: Sections = field(default_factory=Sections)  # typed results, each with to_dict()
    notes: list[str] = field(default_factory=list)  # plain-words notes (alignment, caps, skipped parts)
    errors: dict[str, str] = field(default_factory=dict)  # section -> one-line reason it could not be built


SectionBuilder = Callable[[Comparison, ProgressFn], None]


def section_builders() -> list[tuple[str, SectionBuilder]]:
    """The builders in the order they run. Each module appends its own entry here."""
    builders: list[tuple[str, SectionBuilder]] = []
    from modelgap.predictions import build_metrics, build_predictions

    builders.append(("predictions", build_predictions))  # first: sets comparison.sample for the sections below
    builders.append(("metrics", build_metrics))  # only with --target; reads the predictions section's outputs
    from modelgap.explanations import build_explanations

    builders.append(("explanations", build_explanations))  # after "predictions": uses its sample and rows
    from modelgap.parity import build_parity

    builders.append(("parity", build_parity))  # after "predictions": uses its sample; only with an endpoint
    from modelgap.data import build_data

    builders.append(("data", build_data))  # after predictions/explanations: its diagnosis reads their slices
    from modelgap.retraining import build_retraining

    builders.append(("retraining", build_retraining))  # after "data" (reuses its lineage); only with --retrain
    from modelgap.readiness import build_verdict

    # The verdict judges every section built before it: it must stay LAST. Add new sections above this line.
    builders.append(("verdict", build_verdict))
    builders.sort(key=lambda b: b[0] == "verdict")  # stable: keeps it last even if an entry lands below
    return builders


def run_comparison(
    repo: LoadedModel,
    deployed: LoadedModel,
    *,
    data_path: str | Path | None = None,
    data: pd.DataFrame | None = None,
    options: CompareOptions | None = None,
    progress: ProgressFn | None = None,
) -> Comparison:
    """Compare two loaded models; raise ModelgapError for what makes the comparison impossible."""
    options = options or CompareOptions()
    report: ProgressFn = progress or (lambda _msg, _frac: None)
    notes: list[str] = []
    columns = _data_columns(data_path, data)
    if columns is not None:
        from modelgap.sources.renames import with_data_column_names

        repo, repo_note = with_data_column_names(repo, columns)
        deployed, deployed_note = with_data_column_names(deployed, columns)
        notes += [f"{side} model: {n}" for side, n in (("Repo", repo_note), ("Deployed", deployed_note)) if n]
    comparison = Comparison(
        repo=repo,
        deployed=deployed,
        options=options,
        parameters=compare_parameters(repo, deployed),
        data_path=str(data_path) if data_path is not None else None,
        data=data,
        notes=notes,
    )
    builders = section_builders()
    if options.engine != "pandas":
        from modelgap.spark import engine_builders  # PySpark is imported only for the Spark engine

        builders = engine_builders(builders, options.engine)
    else:
        from modelgap.same_artifact import is_same_artifact, same_artifact_builders

        if is_same_artifact(repo, deployed):  # one model twice: SHAP once (see modelgap/same_artifact.py)
            builders = same_artifact_builders(builders)
    for i, (name, build) in enumerate(builders):
        report(f"Computing {name}", i / max(len(builders), 1))
        build(comparison, report)
    report("Done", 1.0)
    return comparison


def _data_columns(data_path: str | Path | None, data: pd.DataFrame | None) -> list[str] | None:
    """The data's column names (one row read), or None when they cannot be read here (a Spark table, a
    missing file: the sections report that themselves)."""
    if data is not None:
        return [str(c) for c in data.columns]
    if data_path is None:
        return None
    from modelgap.errors import ModelgapError
    from modelgap.tables import read_table

    try:
        return [str(c) for c in read_table(data_path, max_rows=1).columns]
    except (ModelgapError, OSError, ValueError):
        return None
