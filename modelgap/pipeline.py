"""The comparison pipeline: which section builders run for an engine, in which order, and the one place where a
section's failure is caught and recorded.

Order: `predictions` first (it sets comparison.sample, which the later sections read) and `verdict` last (it
judges every section built before it); `section_builders()` refuses any other order. The Spark engine
(modelgap.spark.engine_builders) and a byte-identical pair of artifacts (modelgap.same_artifact) swap builders by
name, so the order is the same for every engine.

Failures: a builder raises; `run_section` records a ModelgapError as its one-line message, and any other
exception as "unexpected <Type>: <message>", on one line and redacted, in comparison.errors[name]; the other
sections still run (MODELGAP_DEBUG=1 raises unexpected exceptions instead). Two sections raise instead of
recording (FATAL): without predictions there is nothing to compare, and a bad policy file (the verdict) is the
caller's to fix; the CLI exits 2 for both. An exception raised by the caller's progress function (a cancel)
always propagates: it is the caller's, not the section's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from modelgap.errors import ModelgapError
from modelgap.redact import redact
from modelgap.values import one_line

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

__all__ = ["FATAL", "SectionBuilder", "builders_for", "run_pipeline", "run_section", "section_builders"]

SectionBuilder = Callable[["Comparison", "ProgressFn"], None]
Builders = list[tuple[str, SectionBuilder]]
FATAL = frozenset({"predictions", "verdict"})  # raised, not recorded (see the module's docstring)


def section_builders() -> Builders:
    """The pandas engine's builders in the order they run. Add a section above the verdict."""
    from modelgap.data import build_data
    from modelgap.explanations import build_explanations
    from modelgap.parity import build_parity
    from modelgap.predictions import build_metrics, build_predictions
    from modelgap.readiness import build_verdict
    from modelgap.retraining import build_retraining

    builders: Builders = [
        ("predictions", build_predictions),  # first: sets comparison.sample for the sections below
        ("metrics", build_metrics),  # only with --target; reads the predictions section's outputs
        ("explanations", build_explanations),  # uses the predictions' sample and largest disagreements
        ("parity", build_parity),  # uses the predictions' sample; only with an endpoint
        ("data", build_data),  # after predictions/explanations: its diagnosis reads their slices
        ("retraining", build_retraining),  # after "data" (reuses its lineage); only with --retrain
        ("verdict", build_verdict),  # judges every section built before it: LAST
    ]
    return check_order(builders)


def check_order(builders: Builders) -> Builders:
    """`builders`, once each name is checked to appear once, predictions first and verdict last."""
    names = [name for name, _ in builders]
    if len(set(names)) != len(names) or names[:1] != ["predictions"] or names[-1:] != ["verdict"]:
        raise RuntimeError(f"Section builders out of order: {names} (predictions first, verdict last, each once).")
    return builders


def builders_for(comparison: Comparison) -> Builders:
    """The builders for the comparison's engine: the pandas engine's, with the Spark versions swapped in for
    the Spark engine, or the explain-once explanations builder for one artifact compared with itself."""
    builders = section_builders()
    if comparison.options.engine != "pandas":
        from modelgap.spark import engine_builders  # PySpark is imported only for the Spark engine

        return check_order(engine_builders(builders, comparison.options.engine))
    from modelgap.same_artifact import is_same_artifact, same_artifact_builders

    if is_same_artifact(comparison.repo, comparison.deployed):  # one model twice: SHAP once
        return check_order(same_artifact_builders(builders))
    return builders


def run_pipeline(comparison: Comparison, progress: ProgressFn, builders: Builders | None = None) -> None:
    """Run the section builders (default: `builders_for(comparison)`, with the SHAP helper process started
    first when a model needs it) in order, reporting progress."""
    if builders is None:
        builders = builders_for(comparison)
        # the SHAP helper's cold start overlaps the sections before (Spark explains on its executors instead)
        if not comparison.options.no_shap and comparison.options.engine == "pandas":
            from modelgap.explanations.engine import warm_helper

            warm_helper([comparison.repo, comparison.deployed])
    else:
        builders = check_order(builders)
    for i, (name, build) in enumerate(builders):
        progress(f"Computing {name}", i / len(builders))
        run_section(comparison, name, build, progress)
    progress("Done", 1.0)


def run_section(comparison: Comparison, name: str, build: SectionBuilder, progress: ProgressFn) -> None:
    """Run one builder; record its failure in comparison.errors[name] (FATAL sections raise it)."""
    caller = _CallerProgress(progress)
    try:
        build(comparison, caller)
    except Exception as exc:
        if name in FATAL or caller.raised(exc):
            raise
        if isinstance(exc, ModelgapError):
            comparison.errors[name] = redact(exc.one_line())
            return
        if os.environ.get("MODELGAP_DEBUG"):
            raise
        comparison.errors[name] = f"unexpected {type(exc).__name__}: {one_line(redact(str(exc)))}"


class _CallerProgress:
    """The caller's progress function, remembering what it raised (a cancel), so that it is not recorded as
    the section's failure."""

    def __init__(self, progress: ProgressFn) -> None:
        self.progress = progress
        self.exception: BaseException | None = None

    def __call__(self, message: str, fraction: float) -> None:
        try:
            self.progress(message, fraction)
        except BaseException as exc:
            self.exception = exc
            raise

    def raised(self, exc: BaseException) -> bool:
        """`exc` is, or was raised while handling, what the caller's progress function raised."""
        seen: BaseException | None = exc
        while seen is not None:
            if seen is self.exception:
                return True
            seen = seen.__cause__ or seen.__context__
        return False
