"""`compare --shap-rows / --no-shap` end to end: real files, the real predictions section, the JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import fitted, save_mlflow, save_skops, tabular

from modelgap.cli import main
from modelgap.comparison import CompareOptions, run_comparison
from modelgap.sources import load_model


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("cli")
    repo, df, _ = fitted("pipeline")
    deployed, _, _ = fitted("pipeline", seed=3, model__n_estimators=10)
    tabular(n=400, seed=7)[0].to_csv(d / "data.csv", index=False)
    return {
        "repo": str(save_skops(repo, d / "repo.skops")),
        "deployed": str(save_mlflow(deployed, d / "deployed", df)),
        "data": str(d / "data.csv"),
        "dir": str(d),
    }


def _compare(files: dict[str, str], *extra: str) -> tuple[int, dict[str, object]]:
    out = Path(files["dir"]) / "report.json"
    argv = ["compare", "--repo", files["repo"], "--deployed", files["deployed"], "--data", files["data"]]
    rc = main([*argv, "--json", str(out), "--fail-on", "never", "--quiet", *extra])
    return rc, json.loads(out.read_text())


def test_shap_rows_and_no_shap(files: dict[str, str]) -> None:
    rc, report = _compare(files, "--shap-rows", "60")
    assert rc == 0
    e = report["explanations"]
    assert isinstance(e, dict)
    assert e["n_rows"] == 60 and e["output"] == "log_odds"
    assert e["method"] == {"repo": "TreeExplainer", "deployed": "TreeExplainer"}
    assert {f["feature"] for f in e["features"]} == {"x1", "x2", "x3", "cat"}
    assert e["additivity"]["repo"]["failed"] is False
    rc, report = _compare(files, "--no-shap")
    assert rc == 0 and "explanations" not in report
    assert "Explanations skipped (--no-shap)." in report["notes"]  # type: ignore[operator]


def test_the_largest_disagreement_is_explained_first(files: dict[str, str]) -> None:
    repo, deployed = load_model(files["repo"]), load_model(files["deployed"])
    c = run_comparison(repo, deployed, data_path=files["data"], options=CompareOptions(shap_rows=50))
    top = c.sections["predictions"].to_dict()["top"]
    explained = c.sections["explanations"]
    assert explained.default_row == top[0]["row"]
    assert {t["row"] for t in top} <= set(explained.rows)
