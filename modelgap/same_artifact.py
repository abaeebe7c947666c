"""Byte-identical artifacts: say so, and do not compute twice what cannot differ.

When both model files have the same SHA-256 and both are loaded here (no scoring endpoint, no claimed hash),
they are one model: the same settings, the same predictions, the same SHAP values. What is skipped, and why:

- SHAP runs once, for the repo model; the deployed model's explanation is that same result. SHAP is by far the
  most expensive part of a comparison, and its values are a deterministic function of the model and the rows.
- Predictions are still made by both models: they are cheap, and identical outputs are the evidence that the
  two loaded objects really behave alike here (a model with randomness at prediction time would show it).
- Metrics are still measured on both (cheap); their changes are zero by construction.

The JSON report keeps every key: the explanations section is a full ExplanationComparison of the model with
itself. A note in the report says what was skipped.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from modelgap.model import LoadedModel

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn
    from modelgap.explanations.compare import ExplanationComparison
    from modelgap.pipeline import SectionBuilder

NOTE = (
    "Same artifact (equal SHA-256): SHAP was computed once, for the repo model, and reused for the deployed "
    "model, whose values are identical by construction; predictions and metrics were still measured on both."
)


def is_same_artifact(repo: LoadedModel, deployed: LoadedModel) -> bool:
    """Both artifacts were hashed here and have the same SHA-256 (an endpoint's claimed hash does not count)."""
    if not repo.metadata.sha256 or repo.metadata.sha256 != deployed.metadata.sha256:
        return False
    for model in (repo, deployed):
        if model.metadata.flavor == "endpoint" or model.metadata.mlflow.get("paired_with"):
            return False
    return True


def explain_once(comparison: Comparison, progress: ProgressFn) -> ExplanationComparison | None:
    """The explanations section for one artifact: SHAP for the repo model on the section's rows, compared with
    itself. Rows (row_selection), background, output space, settings and time budget are the section's own, and
    the result is built like explain_rows builds it, so the JSON report has the same keys."""
    from modelgap.explanations.compare import compare_explanations
    from modelgap.explanations.engine import explain
    from modelgap.explanations.section import explain_plan, nothing_explained, row_selection

    selection = row_selection(comparison)  # the section's own rows: which are random, which disagree
    rows = selection.order
    if len(rows) == 0:
        comparison.notes.append("Explanations: no rows to explain (--shap-rows 0 or empty data).")
        return None
    assert comparison.sample is not None
    plan = explain_plan(comparison)
    deadline = time.monotonic() + plan.seconds

    def report(done: int, total: int) -> None:
        progress(f"Explaining the model once: same artifact ({done}/{total} rows)", done / max(total, 1))

    exp = explain(
        comparison.repo,
        comparison.sample.loc[rows],
        output=plan.output,
        background=plan.background,
        progress=report,
        should_stop=lambda: time.monotonic() > deadline,
        settings=plan.settings,
        exclude=plan.exclude,
    )
    if exp.n_rows == 0:
        raise nothing_explained("repo", comparison.repo, plan.seconds, exp.method)
    comparison.notes.append(NOTE)
    return compare_explanations(exp, exp, top_k=plan.top_k, selection=selection)


def same_artifact_builders(builders: list[tuple[str, SectionBuilder]]) -> list[tuple[str, SectionBuilder]]:
    """The section builders with the explanations builder explaining once (see the module's docstring)."""
    from modelgap.explanations import build_explanations

    def build_once(comparison: Comparison, progress: ProgressFn) -> None:
        build_explanations(comparison, progress, explainer=explain_once)

    return [(name, build_once if name == "explanations" else build) for name, build in builders]
