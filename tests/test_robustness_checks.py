"""Robustness of the verdict and the metrics (issue 13): small samples, unknown metric names, unmatched labels.

- Below the policy's [sample] min_rows, statistical checks report `skipped` with the reason (crafted reports,
  a real 1-row comparison whose zero-width interval would otherwise FAIL, and the app's Report page).
- `allowed_regression_by_metric` names only metrics modelgap measures (the names checked against what the
  metrics code really returns).
- Labels that match no class of the models: the metrics section is absent with its reason, never f1 = 0.0.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import fitted, save_skops, tabular

from modelgap import load_model
from modelgap.comparison import CompareOptions, run_comparison
from modelgap.errors import DataError, PolicyError
from modelgap.predictions import compare_metrics, compare_predictions
from modelgap.predictions.metrics import METRIC_NAMES
from modelgap.readiness import CHECKS, evaluate, load_policy, parse_policy
from modelgap.report import comparison_to_dict
from modelgap.summary import summary_lines

STATISTICAL = {
    "worst_slice",
    "metric_deltas",
    "negative_flip_rate",
    "sample_drift",
    "importance_rank_correlation",
    "top_k_overlap",
}
EXACT = {"disagreement_rate", "max_probability_shift", "additivity", "serving_parity", "schema_compatibility"}


def report(n_rows: int, labelled: int | None = None) -> dict[str, Any]:
    """A report whose every statistical check would fail or warn on its numbers, from `n_rows` sample rows."""
    labelled = n_rows if labelled is None else labelled
    return {
        "schema_version": 1,
        "parameters": {"same_artifact": False, "schema": {"only_in_repo": [], "only_in_deployed": []}},
        "predictions": {
            "n_rows": n_rows,
            "task": "binary",
            "disagreement_rate": 0.0,
            "max_abs_diff": 0.05,
            "slices": [{"column": "x1", "slice": "a", "n_rows": 40, "rate": 0.5}],
            "flips": {"n_rows": labelled, "negative_flips": labelled, "negative_flip_rate": 1.0},
        },
        # a zero-width "95% interval": what a 1-row bootstrap gives
        "metrics": {"log_loss": {"repo": 0.31, "deployed": 0.19, "delta": 0.12, "ci_low": 0.12, "ci_high": 0.12}},
        "explanations": {"rank_correlation": 0.1, "top_k": 5, "top_k_overlap": 0.2},
        "data": {
            "drift": [
                {"name": "sample vs training", "kind": "sample_vs_training", "columns": [{"column": "x1", "psi": 8.41}]}
            ]
        },
    }


def by_name(verdict: Any) -> dict[str, Any]:
    return {c.name: c for c in verdict.checks}


def test_the_statistical_checks_are_declared_and_the_exact_ones_are_not() -> None:
    declared = {c.name for c in CHECKS if c.needs_rows}
    assert declared >= STATISTICAL
    assert not EXACT & declared  # a disagreement seen on one row is a real difference, not an estimate


def test_a_one_row_sample_skips_every_statistical_check_with_the_reason() -> None:
    verdict = evaluate(report(1))
    checks = by_name(verdict)
    for name in STATISTICAL:
        c = checks[name]
        assert c.status == "skipped", name
        assert "only 1 sample row; statistics need at least 200" in c.message, c.message
        assert c.value is None
    assert checks["disagreement_rate"].status == "pass"  # graded at any size
    assert verdict.status == "pass"
    assert "Only 1 sample row: 6 statistical check(s) skipped." in verdict.headline
    d = verdict.to_dict()
    in_registry_order = [c.name for c in CHECKS if c.name in STATISTICAL]
    assert d["sample"] == {"min_rows": 200, "rows": 1, "skipped_checks": in_registry_order}
    assert d["policy"]["sample"] == {"min_rows": 200}


def test_the_same_numbers_on_a_real_sample_size_are_graded() -> None:
    checks = by_name(evaluate(report(1000)))
    expected = {
        "worst_slice": "fail",
        "metric_deltas": "fail",
        "negative_flip_rate": "fail",
        "sample_drift": "warn",
        "importance_rank_correlation": "fail",
        "top_k_overlap": "fail",
    }
    assert {n: checks[n].status for n in expected} == expected
    assert evaluate(report(200)).status == "fail"  # the minimum itself is enough


def test_few_labelled_rows_skip_only_the_checks_on_labels() -> None:
    checks = by_name(evaluate(report(1000, labelled=50)))
    for name in ("metric_deltas", "negative_flip_rate"):
        assert checks[name].status == "skipped"
        assert "only 50 labelled rows; statistics need at least 200" in checks[name].message
    assert checks["worst_slice"].status == "fail" and checks["sample_drift"].status == "warn"


def test_min_rows_is_a_policy_setting(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[sample]\nmin_rows = 0\n")
    assert evaluate(report(1), load_policy(path)).status == "fail"
    path.write_text("[sample]\nmin_rows = 5000\n")
    verdict = evaluate(report(1000), load_policy(path))
    assert by_name(verdict)["metric_deltas"].status == "skipped"
    assert "statistics need at least 5,000" in by_name(verdict)["metric_deltas"].message
    assert verdict.to_dict()["policy"]["sample"] == {"min_rows": 5000}


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[sample]\nmin_rows = -1\n", "'sample.min_rows'"),
        ("[sample]\nmin_rows = 2.5\n", "'sample.min_rows'"),
        ("[sample]\nmin_rows = true\n", "'sample.min_rows'"),
        ("[sample]\nmin_row = 10\n", "'sample.min_row'"),
        ("sample = 3\n", "'sample'"),
    ],
)
def test_bad_sample_settings_are_refused(tmp_path: Path, toml: str, needle: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(toml)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_report_without_row_counts_is_judged_as_before() -> None:
    r = report(1)
    del r["predictions"]["n_rows"], r["predictions"]["flips"]["n_rows"]
    assert by_name(evaluate(r))["metric_deltas"].status == "fail"


# ---------------------------------------------------------------- metric names in the policy


def test_an_unknown_metric_in_the_policy_is_refused_with_the_known_names() -> None:
    doc = {"checks": {"metric_deltas": {"allowed_regression_by_metric": {"bogus": 0.5, "f1": 0.02}}}}
    with pytest.raises(PolicyError) as info:
        parse_policy(doc, source="p.toml")
    message = str(info.value)
    assert "'bogus'" in message and "'f1'" not in message
    assert "Known names: accuracy, roc_auc, log_loss, f1, mae, rmse, r2." in message


def test_the_known_metric_names_are_the_ones_the_metrics_section_reports() -> None:
    seen: set[str] = set()
    for task in ("binary", "regression"):
        repo, X, y = fitted("gbm", task=task)
        deployed, _, _ = fitted("gbm", task=task, n_estimators=5)
        a, b = (load_model_from(m) for m in (repo, deployed))
        result, _ = compare_predictions(a, b, data=X.assign(y=y), options=CompareOptions(target="y"))
        seen |= set(compare_metrics(result.outputs).metrics)
    assert seen == set(METRIC_NAMES)


def test_a_known_metric_override_applies() -> None:
    r = report(1000)
    r["metrics"] = {"accuracy": {"repo": 0.785, "deployed": 0.8, "delta": -0.015, "ci_low": -0.03, "ci_high": 0.0}}
    assert by_name(evaluate(r))["metric_deltas"].status == "warn"
    policy = parse_policy({"checks": {"metric_deltas": {"allowed_regression_by_metric": {"accuracy": 0.02}}}})
    assert by_name(evaluate(r, policy))["metric_deltas"].status == "pass"


# ---------------------------------------------------------------- real comparisons

_MODELS: dict[int, tuple[Any, Any]] = {}  # id -> (the model, kept alive so its id is not reused; loaded)


def load_model_from(model: Any) -> Any:
    """A real skops file of `model`, loaded by modelgap (kept for the module: the files are small)."""
    key = id(model)
    if key not in _MODELS or _MODELS[key][0] is not model:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="robust-"))
        _MODELS[key] = (model, load_model(str(save_skops(model, folder / "m.skops"))))
    return _MODELS[key][1]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two GBM classifiers of the same columns (skops files) and their training data."""
    d = tmp_path_factory.mktemp("robust-pair")
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=12, learning_rate=0.3)
    return {
        "dir": d,
        "repo": repo,
        "deployed": deployed,
        "X": X,
        "y": y,
        "repo_path": save_skops(repo, d / "repo.skops"),
        "deployed_path": save_skops(deployed, d / "deployed.skops"),
    }


def one_row_that_would_fail(pair: dict[str, Any]) -> int:
    """A row both models label correctly and alike, where the repo's log loss is clearly worse: on that row
    alone the bootstrap interval of the log-loss change is zero-width and excludes the allowed 0.01."""
    X, y = pair["X"], pair["y"].to_numpy()
    pr, pd_ = pair["repo"].predict_proba(X)[:, 1], pair["deployed"].predict_proba(X)[:, 1]
    right = (pr > 0.5) == (y == 1)
    alike = (pr > 0.5) == (pd_ > 0.5)
    loss_r = -np.log(np.where(y == 1, pr, 1 - pr))
    loss_d = -np.log(np.where(y == 1, pd_, 1 - pd_))
    ok = right & alike & (loss_r - loss_d > 0.05) & (np.abs(pr - pd_) < 0.1)
    assert ok.any()
    return int(np.flatnonzero(ok)[0])


def test_a_one_row_comparison_does_not_fail_on_a_zero_width_interval(
    pair: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no modelgap.toml: the defaults apply
    i = one_row_that_would_fail(pair)
    row = pair["X"].iloc[[i]].assign(y=pair["y"].iloc[i]).reset_index(drop=True)
    repo, deployed = load_model(str(pair["repo_path"])), load_model(str(pair["deployed_path"]))
    options = CompareOptions(target="y", shap_rows=1)
    comparison = run_comparison(repo, deployed, data=row, options=options)
    out = comparison_to_dict(comparison)
    m = out["metrics"]["log_loss"]
    cols = ["x1", "x2", "x3"]
    pr, pd_ = pair["repo"].predict_proba(row[cols])[0], pair["deployed"].predict_proba(row[cols])[0]
    yv = int(row["y"].iloc[0])
    assert m["delta"] == pytest.approx(-math.log(pr[yv]) + math.log(pd_[yv]), rel=1e-9)
    assert m["ci_low"] == m["ci_high"] == pytest.approx(m["delta"])  # the zero-width "interval"
    checks = {c["name"]: c for c in out["verdict"]["checks"]}
    assert checks["metric_deltas"]["status"] == "skipped"
    assert "only 1 sample row; statistics need at least 200" in checks["metric_deltas"]["message"]
    assert out["verdict"]["status"] != "fail", out["verdict"]["reasons"]
    assert out["verdict"]["sample"]["rows"] == 1
    assert any("Only 1 sample row" in line for line in summary_lines(comparison))

    # The control: the same comparison judged at every sample size fails on that interval.
    (tmp_path / "modelgap.toml").write_text("[sample]\nmin_rows = 0\n")
    again = evaluate(out, load_policy(None, cwd=tmp_path))
    assert again.status == "fail" and [c.name for c in again.reasons if c.status == "fail"] == ["metric_deltas"]


def metric_like(node: Any) -> list[Any]:
    """Every {metric: {repo, deployed, delta, ...}} record anywhere in a report."""
    if isinstance(node, dict):
        here = [node] if {"repo", "deployed", "delta", "ci_low"} <= set(node) else []
        return here + [m for v in node.values() for m in metric_like(v)]
    if isinstance(node, list):
        return [m for v in node for m in metric_like(v)]
    return []


def unmatched(pair: dict[str, Any]) -> pd.DataFrame:
    return pair["X"].head(300).assign(y=np.where(pair["y"].head(300) == 1, "yes", "no"))


def test_labels_that_match_no_class_give_no_metrics_and_say_why(pair: dict[str, Any]) -> None:
    repo, deployed = load_model(str(pair["repo_path"])), load_model(str(pair["deployed_path"]))
    comparison = run_comparison(repo, deployed, data=unmatched(pair), options=CompareOptions(target="y", no_shap=True))
    assert "metrics" not in comparison.sections
    reason = comparison.errors["metrics"]
    assert "No labelled rows: none of the 300 rows" in reason
    assert "classes are 0, 1" in reason and "'yes'" in reason and "'no'" in reason
    out = comparison_to_dict(comparison)
    assert "metrics" not in out and out["section_errors"]["metrics"] == reason
    assert not metric_like(out)  # no f1 = 0.0 anywhere in the report
    assert out["predictions"]["flips"] is None
    checks = {c["name"]: c for c in out["verdict"]["checks"]}
    assert checks["metric_deltas"]["status"] == "skipped" and "No labelled rows" in checks["metric_deltas"]["message"]
    assert any(line.startswith("metrics: not computed (No labelled rows") for line in summary_lines(comparison))

    # The control: the same rows with the real labels do have metrics (f1 as sklearn computes it).
    from sklearn.metrics import f1_score

    labelled = pair["X"].head(300).assign(y=pair["y"].head(300))
    good = run_comparison(repo, deployed, data=labelled, options=CompareOptions(target="y", no_shap=True))
    X, y = labelled[["x1", "x2", "x3"]], labelled["y"]
    assert good.sections["metrics"]["f1"].repo == pytest.approx(f1_score(y, pair["repo"].predict(X)))
    assert metric_like(comparison_to_dict(good))  # the search above does find metrics when there are some


def test_a_regression_target_without_numbers_gives_no_metrics() -> None:
    repo_m, X, _ = fitted("gbm", task="regression")
    dep_m, _, _ = fitted("gbm", task="regression", n_estimators=5)
    repo, deployed = load_model_from(repo_m), load_model_from(dep_m)
    result, _ = compare_predictions(
        repo, deployed, data=X.head(50).assign(y=np.nan), options=CompareOptions(target="y")
    )
    with pytest.raises(DataError, match="No labelled rows: none of the 50 rows has a numeric target"):
        compare_metrics(result.outputs)


# ---------------------------------------------------------------- the app shows the reason


def test_the_report_page_shows_why_a_check_was_skipped(
    pair: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    app = Path(__file__).resolve().parent.parent / "app.py"
    d = pair["dir"]
    i = one_row_that_would_fail(pair)
    pair["X"].iloc[[i, i + 1]].assign(y=pair["y"].iloc[[i, i + 1]].to_numpy()).to_csv(d / "two.csv", index=False)
    monkeypatch.setenv("MODELGAP_DEMO_DIR", str(tmp_path / "no-demo"))
    monkeypatch.setenv("MODELGAP_ALLOWED_DIRS", str(d))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(str(app), default_timeout=120)
    at.query_params.update(
        {
            "repo": str(pair["repo_path"]),
            "deployed": str(pair["deployed_path"]),
            "data": str(d / "two.csv"),
            "target": "y",
            "shap": "2",
        }
    )
    at.run()
    at.switch_page("pages/report.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = "\n".join(str(m.value) for m in at.markdown)
    assert 'data-check="metric_deltas"' in text
    assert "only 2 sample rows; statistics need at least 200" in text
    assert "Only 2 sample rows" in text  # the headline says how little the verdict rests on
    tables = [df.value for df in at.dataframe if "setting" in getattr(df.value, "columns", [])]
    sample_rows = [r for t in tables for r in t.to_dict("records") if r["check"] == "Sample size"]
    assert [(r["setting"], r["value"]) for r in sample_rows] == [("min_rows", "200")]  # the policy table lists it


def test_reports_stay_within_the_contract_after_the_new_keys(pair: dict[str, Any]) -> None:
    from contract import assert_contract

    repo, deployed = load_model(str(pair["repo_path"])), load_model(str(pair["deployed_path"]))
    X, y = tabular(n=40, seed=3)
    data = X[["x1", "x2", "x3"]].assign(y=y)
    out = comparison_to_dict(run_comparison(repo, deployed, data=data, options=CompareOptions(target="y", shap_rows=5)))
    assert_contract(out, require=("predictions", "metrics", "verdict"))
    assert out["verdict"]["sample"]["rows"] == 40 and out["verdict"]["sample"]["min_rows"] == 200
