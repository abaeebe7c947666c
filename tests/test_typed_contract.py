"""The typed comparison contract (issue 15): sections live in typed fields, every builder fills its own field
with its own type, and every readiness check reads what the sections really produce.

A check that reads a key no section writes would silently end `skipped`; these tests run every check on the
demo comparison and on a comparison with every optional section present, and fail if that happens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import fitted

from modelgap.comparison import CompareOptions, section_builders
from modelgap.readiness import CHECKS
from modelgap.report import comparison_to_dict
from modelgap.request import ComparisonRequest, compare
from modelgap.retraining.options import RetrainOptions
from modelgap.sections import SECTION_NAMES, Sections
from modelgap.sources import Trust


def test_every_builder_has_a_typed_field_and_the_verdict_runs_last() -> None:
    names = [name for name, _ in section_builders()]
    assert set(names) == set(SECTION_NAMES)
    assert names[-1] == "verdict"
    sections = Sections()
    with pytest.raises(KeyError):
        sections["predicitons"] = object()  # a misspelt section is an error, not a new key


def _checks_by_status(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["verdict"]["checks"]}


@pytest.fixture(scope="module")
def demo_report(demo_workspace: Any) -> dict[str, Any]:
    ws = demo_workspace
    request = ComparisonRequest(
        repo=str(ws.repo_model_dir),
        deployed=ws.deployed_source,
        data_path=str(ws.sample_path),
        tracking_uri=ws.tracking_uri,
        options=CompareOptions(target=ws.target, shap_rows=300),
        trust=Trust.cli(),
    )
    comparison = compare(request)
    assert isinstance(comparison.sections, Sections)
    return comparison_to_dict(comparison)


def test_no_check_is_skipped_on_the_demo_where_its_section_exists(demo_report: dict[str, Any]) -> None:
    checks = _checks_by_status(demo_report)
    assert set(checks) == {c.name for c in CHECKS}
    for check in CHECKS:
        sections = {path.split(".")[0] for path in check.reads}
        present = all(s in demo_report for s in sections)
        if present:
            assert checks[check.name]["status"] != "skipped", (check.name, checks[check.name]["message"])
    # The demo has no endpoint and was not retrained: exactly those checks wait for their sections.
    absent = {c["name"] for c in checks.values() if c["status"] == "skipped"}
    assert absent == {"serving_parity", "deployed_reproducible", "retraining_noise_excess"}


@pytest.fixture(scope="module")
def full_report(served: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every optional section: labels (metrics, flips), an endpoint with the artifact it serves (parity),
    training data for both (data drift, retraining) and --retrain."""
    work = tmp_path_factory.mktemp("full")
    _, X, y = fitted("pipeline")  # the rows both served models were trained on
    assert X.equals(served.X)
    data = work / "sample.csv"
    pd.concat([X, y.rename("label")], axis=1).to_csv(data, index=False)
    request = ComparisonRequest(
        repo=str(served.dir_a),
        deployed=served.url_b,
        deployed_meta=str(served.dir_b),
        data_path=str(data),
        repo_training_data=str(data),
        deployed_training_data=str(data),
        options=CompareOptions(target="label", shap_rows=40, endpoint_shap_rows=10, retrain=RetrainOptions(seeds=2)),
        trust=Trust.cli(),
    )
    return comparison_to_dict(compare(request))


def test_no_check_is_skipped_when_every_section_is_present(full_report: dict[str, Any]) -> None:
    for name in SECTION_NAMES:
        assert name in full_report, (name, full_report.get("section_errors"))
    skipped = {n: c["message"] for n, c in _checks_by_status(full_report).items() if c["status"] == "skipped"}
    assert skipped == {}


def test_the_report_lists_sections_in_the_typed_order(full_report: dict[str, Any], tmp_path: Path) -> None:
    order = [k for k in full_report if k in SECTION_NAMES]
    assert order == list(SECTION_NAMES)
