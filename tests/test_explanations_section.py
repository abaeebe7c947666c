"""The explanations section of a comparison: row choice, skipping, errors recorded, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular

from modelgap.comparison import CompareOptions, Comparison, section_builders
from modelgap.explanations import build_explanations, pick_rows
from modelgap.model import ModelMetadata
from modelgap.options import ExplanationTuning
from modelgap.params import compare_parameters
from modelgap.sources.native import from_native


def _comparison(repo_kind: str, deployed_kind: str, task: str = "binary", **options: object) -> Comparison:
    repo = from_native(fitted(repo_kind, task)[0], repo_kind, ModelMetadata())
    deployed = from_native(fitted(deployed_kind, task, seed=1)[0], deployed_kind, ModelMetadata())
    return Comparison(
        repo=repo,
        deployed=deployed,
        options=CompareOptions(**options),  # type: ignore[arg-type]
        parameters=compare_parameters(repo, deployed),
        sample=tabular(n=400, seed=5, task=task)[0],
    )


def _with_predictions(c: Comparison) -> pd.Series:
    """What the predictions section leaves behind: per-row abs_diff, indexed by row (computed here, for real)."""
    assert c.sample is not None
    diff = np.abs(c.repo.predict_proba(c.sample)[:, 1] - c.deployed.predict_proba(c.sample)[:, 1])
    rows = pd.DataFrame({"abs_diff": diff}, index=c.sample.index)
    c.sections["predictions"] = SimpleNamespace(rows=rows, to_dict=dict)
    return rows["abs_diff"]


def test_pick_rows_puts_the_largest_disagreements_first() -> None:
    sample = pd.DataFrame({"x": range(100)})
    disagreement = pd.Series(np.linspace(0, 1, 100), index=sample.index)
    rows = pick_rows(sample, disagreement, 30, seed=0, top=5)
    assert len(rows) == 30 and rows.is_unique
    assert list(rows[:5]) == [99, 98, 97, 96, 95]
    assert list(rows) == list(pick_rows(sample, disagreement, 30, seed=0, top=5))  # seeded
    assert list(rows[5:]) != list(pick_rows(sample, disagreement, 30, seed=1, top=5)[5:])
    assert len(pick_rows(sample, None, 500)) == 100


def test_section_explains_the_chosen_rows_and_writes_json(tmp_path: Path) -> None:
    from modelgap.report.json_report import write_json

    c = _comparison("pipeline", "xgboost", shap_rows=60, top_n=10)
    disagreement = _with_predictions(c)
    build_explanations(c, lambda _msg, _frac: None)
    assert "explanations" not in c.errors
    result = c.sections["explanations"]
    assert result.n_rows == 60 and result.output == "log_odds"
    worst = list(disagreement.sort_values(ascending=False).index[:10])
    assert list(result.X.index[:10]) == worst and result.default_row == worst[0]
    assert result.repo_values.index.equals(result.X.index)
    write_json(c, tmp_path / "report.json")
    section = json.loads((tmp_path / "report.json").read_text())["explanations"]
    assert section["n_rows"] == 60 and section["method"]["deployed"] == "xgboost pred_contribs"
    assert {f["feature"] for f in section["features"]} == {"x1", "x2", "x3", "cat"}
    assert section["additivity"]["repo"]["failed"] is False


def test_no_shap_and_missing_sample_are_notes_not_errors() -> None:
    c = _comparison("gbm", "rf", no_shap=True)
    build_explanations(c, lambda _msg, _frac: None)
    assert "explanations" not in c.sections and not c.errors
    assert any("--no-shap" in n for n in c.notes)
    c = _comparison("gbm", "rf")
    c.sample = None
    build_explanations(c, lambda _msg, _frac: None)
    assert "explanations" not in c.sections and any("sample data" in n for n in c.notes)


def test_a_model_that_cannot_be_explained_is_recorded_not_raised() -> None:
    """The builder raises; the pipeline (run_section, as run_comparison runs it) records the one-line reason."""
    from modelgap.pipeline import run_section

    c = _comparison("gbm", "rf", shap_rows=20)
    c.deployed = from_native(fitted("rf", "regression")[0], "rf-reg", ModelMetadata())
    run_section(c, "explanations", build_explanations, lambda _msg, _frac: None)
    assert "explanations" not in c.sections
    assert "regressor" in c.errors["explanations"]

    c = _comparison("gbm", "rf", shap_rows=20, explanations=ExplanationTuning(seconds=0.0))
    run_section(c, "explanations", build_explanations, lambda _msg, _frac: None)
    assert "could not be explained within 0 s" in c.errors["explanations"]


def test_progress_is_reported_and_the_builder_is_registered() -> None:
    names = [name for name, _ in section_builders()]
    assert "explanations" in names
    if "predictions" in names:
        assert names.index("predictions") < names.index("explanations")
    c = _comparison("gbm", "rf", shap_rows=30)
    seen: list[tuple[str, float]] = []
    build_explanations(c, lambda msg, frac: seen.append((msg, frac)))
    assert c.sections["explanations"].output == "probability"  # a log-odds model against a probability model
    assert any("repo" in m for m, _ in seen) and any("deployed" in m for m, _ in seen)
    assert seen[-1][1] == pytest.approx(1.0)
