"""One comparison of two models: parameters always, then the sections the data and options allow.

Data flows one way: LoadedModels -> Comparison -> views and reports. Each section is built by a small
builder owned by its module (predictions, explanations, data, readiness); modelgap/pipeline.py lists them
per engine, runs them in order (each may read the sections built before it) and records a section's failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from modelgap.model import LoadedModel
from modelgap.options import CompareOptions  # re-exported: the options and their groups live in options.py
from modelgap.params import ParameterComparison, compare_parameters
from modelgap.pipeline import SectionBuilder, run_pipeline, section_builders  # re-exported: builders live there
from modelgap.sections import Sections

__all__ = ["CompareOptions", "Comparison", "ProgressFn", "SectionBuilder", "run_comparison", "section_builders"]

ProgressFn = Callable[[str, float], None]  # (message, fraction done 0..1)


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
    run_pipeline(comparison, report)  # the engine's section builders, in order, each failure recorded once
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
