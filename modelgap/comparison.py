"""One comparison of two models: parameters always, then the sections the data and options allow.

Data flows one way: LoadedModels -> Comparison -> views and reports. Each section is built by a small
builder owned by its module (predictions, explanations, data, readiness); builders run in order and
may read the sections built before them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from modelgap.model import LoadedModel
from modelgap.params import ParameterComparison, compare_parameters

ProgressFn = Callable[[str, float], None]  # (message, fraction done 0..1)


@dataclass
class CompareOptions:
    target: str | None = None
    tolerance: float | None = None  # regression: None -> 1% of the std of the deployed model's predictions
    shap_rows: int = 1000
    no_shap: bool = False
    top_n: int = 20
    max_rows: int | None = None  # cap on rows read from the data (None: all, streamed)
    policy_path: str | None = None
    engine: str = "pandas"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # options a section adds without widening this class


@dataclass
class Comparison:
    repo: LoadedModel
    deployed: LoadedModel
    options: CompareOptions
    parameters: ParameterComparison
    data_path: str | None = None
    data: pd.DataFrame | None = None  # caller-supplied frame (app uploads); builders prefer it to data_path
    sample: pd.DataFrame | None = None  # the in-memory rows used for per-row views, SHAP and slices
    sections: dict[str, Any] = field(default_factory=dict)  # name -> result object with to_dict()
    notes: list[str] = field(default_factory=list)  # plain-words notes (alignment, caps, skipped parts)
    errors: dict[str, str] = field(default_factory=dict)  # section -> one-line reason it could not be built

    def section(self, name: str) -> Any:
        return self.sections.get(name)


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
    comparison = Comparison(
        repo=repo,
        deployed=deployed,
        options=options,
        parameters=compare_parameters(repo, deployed),
        data_path=str(data_path) if data_path is not None else None,
        data=data,
    )
    builders = section_builders()
    if options.engine != "pandas":
        from modelgap.spark import engine_builders  # PySpark is imported only for the Spark engine

        builders = engine_builders(builders, options.engine)
    for i, (name, build) in enumerate(builders):
        report(f"Computing {name}", i / max(len(builders), 1))
        build(comparison, report)
    report("Done", 1.0)
    return comparison
