"""`CompareOptions` and its typed groups: one source per default, one place (the request) that fills in the
sources, and the same options from the CLI's flags and the app's spec."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from modelgap import options as opts
from modelgap.cli import build_parser, request_from_args
from modelgap.options import CompareOptions, DataOptions, ExplanationTuning, SourceContext
from modelgap.request import ComparisonRequest
from modelgap.sources.origins import Trust

ROOT = Path(__file__).resolve().parent.parent


def test_options_are_read_only_and_zero_shap_rows_means_no_explanations() -> None:
    options = CompareOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.target = "y"  # type: ignore[misc]
    assert not options.no_shap
    assert CompareOptions(shap_rows=0).no_shap and CompareOptions(no_shap=True).no_shap
    assert dataclasses.replace(options, shap_rows=0).no_shap


def test_the_request_fills_in_the_sources_and_keeps_the_rest() -> None:
    trust = Trust.nothing()
    given = CompareOptions(
        target="y",
        data=DataOptions(row_budget=7, chunk_rows=3),
        explanations=ExplanationTuning(top_k=2),
        sources=SourceContext(tracking_uri="ignored"),  # the request's own fields win
    )
    request = ComparisonRequest(
        repo="a",
        deployed="http://host/invocations",
        tracking_uri="http://mlflow:5000",
        deployed_meta="models:/m@prod",
        repo_training_data="r.csv",
        deployed_training_data="d.csv",
        options=given,
        trust=trust,
    )
    resolved = request.resolved_options()
    assert resolved.sources == SourceContext(tracking_uri="http://mlflow:5000", deployed_meta="models:/m@prod")
    assert resolved.data == DataOptions(
        repo_training_data="r.csv", deployed_training_data="d.csv", row_budget=7, chunk_rows=3
    )
    assert resolved.data.training_data("repo") == "r.csv" and resolved.data.training_data("deployed") == "d.csv"
    assert resolved.trust is trust
    assert dataclasses.replace(resolved, sources=given.sources, data=given.data, trust=None) == given
    assert request.options == given  # the caller's options are not changed


def test_the_cli_and_the_app_build_the_same_options() -> None:
    from components.compute import request_for
    from components.state import ComparisonSpec

    fields = {
        "repo": "repo.skops",
        "deployed": "http://host:5001/invocations",
        "data_path": "sample.csv",
        "target": "label",
        "tolerance": 0.5,
        "shap_rows": 0,
        "tracking_uri": "http://mlflow:5000",
        "deployed_meta": "models:/m@champion",
        "repo_training_data": "train_repo.parquet",
        "deployed_training_data": "train_deployed.parquet",
    }
    flags = {
        "repo": "--repo",
        "deployed": "--deployed",
        "data_path": "--data",
        "target": "--target",
        "tolerance": "--tolerance",
        "shap_rows": "--shap-rows",
        "tracking_uri": "--tracking-uri",
        "deployed_meta": "--deployed-meta",
        "repo_training_data": "--repo-training-data",
        "deployed_training_data": "--deployed-training-data",
    }
    argv = ["compare"] + [part for name, flag in flags.items() for part in (flag, str(fields[name]))]
    cli = request_from_args(build_parser().parse_args(argv), Trust.nothing())
    app = request_for(ComparisonSpec(**fields))  # type: ignore[arg-type]
    assert dataclasses.replace(cli, trust=app.trust) == app
    assert cli.resolved_options() == dataclasses.replace(app.resolved_options(), trust=cli.trust)
    assert cli.resolved_options().no_shap and cli.resolved_options().sources.deployed_meta == "models:/m@champion"


def _assigned_names(path: Path) -> set[str]:
    """Module-level names assigned a literal value in `path` (NAME = 3, NAME: int = 3)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant):
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_each_default_is_defined_once() -> None:
    defaults = {name for name in opts.__all__ if name.startswith("DEFAULT_")}
    assert defaults <= _assigned_names(ROOT / "modelgap" / "options.py")
    for path in sorted((ROOT / "modelgap").rglob("*.py")):
        if path.name != "options.py" or path.parent.name != "modelgap":
            again = defaults & _assigned_names(path)
            assert not again, f"{path.relative_to(ROOT)} defines {sorted(again)} again: import it from modelgap.options"
    # the groups' defaults are those constants
    assert CompareOptions().shap_rows == opts.DEFAULT_SHAP_ROWS
    assert CompareOptions().predictions.sample_rows == opts.DEFAULT_SAMPLE_ROWS
    assert CompareOptions().parity.rows == opts.DEFAULT_PARITY_ROWS
    assert CompareOptions().data.row_budget == opts.DEFAULT_ROW_BUDGET
