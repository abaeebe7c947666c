"""Table-driven tests of every readiness check: report dicts in, status and value out.

Each check needs rows giving pass, warn, fail and skipped (its section absent); informational and warn-only
checks declare their reduced set in COVERAGE. `test_every_check_has_rows` fails when a check is added to
the registry without rows here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
from scipy.stats import binomtest

from modelgap.readiness import CHECKS, get_check


def base(**sections: Any) -> dict[str, Any]:
    """A minimal report (two models, identical parameters) with extra sections."""
    model = {
        "source": "m",
        "flavor": "sklearn",
        "model_class": "sklearn.ensemble.GradientBoostingClassifier",
        "task": "binary",
        "classes": [0, 1],
        "features": [{"name": "x1", "dtype": "number"}],
        "sha256": "a" * 64,
        "library_versions": {"scikit-learn": "1.5.2"},
        "mlflow": {},
        "has_probabilities": True,
    }
    report: dict[str, Any] = {
        "schema_version": 1,
        "repo": copy.deepcopy(model),
        "deployed": {**copy.deepcopy(model), "sha256": "b" * 64},
        "parameters": {
            "identical": True,
            "changed": [],
            "only_in_repo": [],
            "only_in_deployed": [],
            "same_artifact": False,
            "schema": {"only_in_repo": [], "only_in_deployed": [], "dtype_changes": [], "identical": True},
            "groups": {"environment": {"changed": [], "known": True}},
        },
    }
    report.update(sections)
    return report


def no(*sections: str) -> dict[str, Any]:
    r = base()
    for s in sections:
        r.pop(s, None)
    return r


def preds(**kw: Any) -> dict[str, Any]:
    p = {"n_rows": 1000, "task": "binary", "disagreement_rate": 0.0, "n_disagreements": 0, "mean_abs_diff": 0.0}
    p.update({"max_abs_diff": 0.0, "top": []})
    p.update(kw)
    return p


def expl(**kw: Any) -> dict[str, Any]:
    e = {"n_rows": 200, "output": "probability", "method": {"repo": "tree", "deployed": "tree"}, "features": []}
    e.update({"rank_correlation": 1.0, "top_k": 5, "top_k_overlap": 1.0})
    e.update(kw)
    return e


def with_params(**kw: Any) -> dict[str, Any]:
    r = base()
    r["parameters"]["schema"].update(kw)
    return r


def with_env(*changes: tuple[str, str, str]) -> dict[str, Any]:
    r = base()
    r["parameters"]["groups"]["environment"]["changed"] = [{"name": n, "deployed": d, "repo": v} for n, d, v in changes]
    return r


def metric(delta: float, lo: float | None, hi: float | None, deployed: float = 0.8) -> dict[str, Any]:
    return {"repo": deployed + delta, "deployed": deployed, "delta": delta, "ci_low": lo, "ci_high": hi}


def additivity(repo_failed: bool, deployed_failed: bool) -> dict[str, Any]:
    return {
        "repo": {"max_error": 0.5 if repo_failed else 1e-7, "tolerance": 1e-3, "failed": repo_failed},
        "deployed": {"max_error": 0.5 if deployed_failed else 1e-7, "tolerance": 1e-3, "failed": deployed_failed},
    }


def pair(kind: str, **psi: float) -> dict[str, Any]:
    """One data.drift entry: `kind` and a PSI per column."""
    reference = "deployed training data"
    return {"kind": kind, "reference": reference, "columns": [{"column": c, "psi": v} for c, v in psi.items()]}


def parity(**kw: Any) -> dict[str, Any]:
    return {"n_rows": 1000, **kw}


def flips(negative: int, positive: int, n: int = 1000) -> dict[str, Any]:
    """A flips record with McNemar's exact p-value from scipy's binomial test of the discordant rows."""
    p = binomtest(positive, negative + positive, 0.5).pvalue if negative + positive else 1.0
    return {
        "n_rows": n,
        "negative_flips": negative,
        "positive_flips": positive,
        "accuracy_change": (positive - negative) / n,
        "mcnemar_p_value": p,
    }


P_40_15 = binomtest(15, 55, 0.5).pvalue  # 40 rows newly wrong, 15 newly right: p ~ 0.0011
P_30_20 = binomtest(20, 50, 0.5).pvalue  # p ~ 0.20


def retrained(
    status: str = "reproduced", excess: float | None = None, noise: float | None = None, rate: float | None = None
) -> dict[str, Any]:
    """A retraining section: the deployed side's status and the noise floor (None: unknown)."""
    reasons = {"not_retrainable": "No training data was found for it.", "differs": "The refit differs on 3% of rows."}
    side = {"status": status, "method": "refit", "reason": reasons.get(status, "Same predictions on all rows.")}
    return {
        "repo": dict(side, status="reproduced"),
        "deployed": side,
        "noise": {"side": "deployed", "seeds": 5, "disagreement_rate": noise, "reason": "" if noise else "no seeds"},
        "excess": excess,
        "repo_vs_deployed_rate": rate,
        "n_rows": 1000,
    }


@dataclass
class Row:
    id: str
    report: dict[str, Any]
    status: str
    value: Any = "any"
    settings: dict[str, Any] = field(default_factory=dict)
    says: str = ""  # a fragment the message must contain


CASES: dict[str, list[Row]] = {
    "artifact_identity": [
        Row("same", base(parameters={**base()["parameters"], "same_artifact": True}), "info", True, says="identical"),
        Row("different", base(), "info", False, says="differ"),
        Row("unknown", base(parameters={**base()["parameters"], "same_artifact": None}), "info", None),
        Row("absent", no("parameters"), "skipped"),
    ],
    "schema_compatibility": [
        Row("same", base(), "pass", 0),
        Row("dropped", with_params(only_in_deployed=["x3"]), "warn", 1, says="x3"),
        Row("dtype", with_params(dtype_changes=[{"column": "x1", "repo": "string", "deployed": "number"}]), "warn", 1),
        Row("new_column", with_params(only_in_repo=["x9"], only_in_deployed=["x3"]), "fail", 2, says="x9"),
        Row("dropped_as_fail", with_params(only_in_deployed=["x3"]), "fail", 1, {"dropped_columns": "fail"}),
        Row("new_allowed", with_params(only_in_repo=["x9"]), "pass", 1, {"new_columns": "pass"}),
        Row("absent", no("parameters"), "skipped"),
    ],
    "environment_drift": [
        Row("same", base(), "pass", 0),
        Row("patch", with_env(("scikit-learn", "1.5.1", "1.5.2")), "pass", 1, says="patch"),
        Row("minor", with_env(("scikit-learn", "1.4.2", "1.5.2"), ("numpy", "1.26.4", "1.26.5")), "warn", 2),
        Row("major", with_env(("xgboost", "1.7.6", "2.1.0"), ("numpy", "1.26.4", "1.26.5")), "fail", 2, says="xgboost"),
        Row("ignored", with_env(("xgboost", "1.7.6", "2.1.0")), "pass", 0, {"ignore": ["xgboost"]}),
        Row("unparseable", with_env(("mylib", "dev", "main")), "warn", 1),
        Row("absent", no("parameters"), "skipped"),
    ],
    "disagreement_rate": [
        Row("none", base(predictions=preds()), "pass", 0.0),
        Row("at_warn", base(predictions=preds(disagreement_rate=0.01)), "pass", 0.01),
        Row("warn", base(predictions=preds(disagreement_rate=0.03)), "warn", 0.03, says="3%"),
        Row("fail", base(predictions=preds(disagreement_rate=0.2)), "fail", 0.2, says="1,000"),
        Row(
            "stricter", base(predictions=preds(disagreement_rate=0.003)), "fail", 0.003, {"warn": 0.001, "fail": 0.002}
        ),
        Row("absent", base(), "skipped", says="--data"),
        Row("errored", base(section_errors={"predictions": "Column x1 is missing."}), "skipped", says="x1 is missing"),
    ],
    "max_probability_shift": [
        Row("small", base(predictions=preds(max_abs_diff=0.05)), "pass", 0.05),
        Row("warn", base(predictions=preds(max_abs_diff=0.2)), "warn", 0.2),
        Row("fail", base(predictions=preds(max_abs_diff=0.6)), "fail", 0.6),
        Row("regression", base(predictions=preds(task="regression", max_abs_diff=9.0)), "skipped", says="regression"),
        Row("labels_only", base(predictions=preds(max_abs_diff=1.0)), "skipped", says="labels only"),
        Row("absent", base(), "skipped"),
    ],
    "worst_slice": [
        Row(
            "flat",
            base(predictions=preds(slices=[{"column": "cat", "slice": "a", "n_rows": 300, "rate": 0.02}])),
            "pass",
        ),
        Row(
            "warn",
            base(predictions=preds(slices=[{"column": "cat", "slice": "b", "n_rows": 200, "rate": 0.15}])),
            "warn",
            0.15,
            says="cat = b",
        ),
        Row(
            "fail_ignores_tiny",
            base(
                predictions=preds(
                    slices=[
                        {"column": "x1", "slice": "(0.7, 1.0]", "n_rows": 150, "rate": 0.4},
                        {"column": "x2", "slice": "tiny", "n_rows": 3, "rate": 1.0},
                    ]
                )
            ),
            "fail",
            0.4,
            says="x1",
        ),
        Row("no_slices_key", base(predictions=preds()), "skipped", says="slice"),
        # An undocumented layout is not guessed at: nothing in it is read as a slice.
        Row(
            "undocumented_nesting",
            base(predictions=preds(slices={"cat": [{"level": "b", "n": 200, "disagreement_rate": 0.9}]})),
            "skipped",
        ),
        Row(
            "all_tiny",
            base(predictions=preds(slices=[{"column": "x", "slice": "a", "n_rows": 5, "rate": 0.9}])),
            "skipped",
        ),
        Row("absent", base(), "skipped"),
    ],
    "metric_deltas": [
        Row("better", base(metrics={"accuracy": metric(0.02, 0.005, 0.035)}), "pass", 0.02),
        Row("small_drop", base(metrics={"accuracy": metric(-0.005, -0.02, 0.01)}), "pass", -0.005),
        Row("drop_not_sure", base(metrics={"roc_auc": metric(-0.03, -0.07, 0.01)}), "warn", -0.03, says="chance"),
        Row("drop_sure", base(metrics={"roc_auc": metric(-0.05, -0.08, -0.02)}), "fail", -0.05, says="roc_auc"),
        # log_loss: lower is better, so a positive delta is a regression.
        Row("loss_up_sure", base(metrics={"log_loss": metric(0.1, 0.05, 0.15, 0.3)}), "fail", 0.1),
        Row("loss_down", base(metrics={"log_loss": metric(-0.1, -0.15, -0.05, 0.3)}), "pass", -0.1),
        Row(
            "rmse_per_metric",
            base(metrics={"rmse": metric(0.3, 0.2, 0.4, 5.0)}),
            "pass",
            0.3,
            {"allowed_regression_by_metric": {"rmse": 0.5}},
        ),
        Row("no_interval", base(metrics={"f1": metric(-0.2, None, None)}), "warn", -0.2),
        Row(
            "worst_of_many_and_flips_ignored",
            base(
                metrics={
                    "accuracy": metric(0.0, -0.01, 0.01),
                    "mae": metric(1.0, 0.5, 1.5, 3.0),
                    "flips": {"negative_flips": 3},
                }
            ),
            "fail",
            1.0,
            says="mae",
        ),
        Row("absent", base(), "skipped", says="--target"),
    ],
    "negative_flip_rate": [
        Row("pass", base(predictions=preds(flips={"negative_flip_rate": 0.01})), "pass", 0.01),
        Row("warn", base(predictions=preds(flips={"negative_flips": 30, "negative_flip_rate": 0.03})), "warn", 0.03),
        Row("fail", base(predictions=preds(flips={"negative_flips": 80, "negative_flip_rate": 0.08})), "fail", 0.08),
        Row("stricter", base(predictions=preds(flips={"negative_flip_rate": 0.01})), "fail", 0.01, {"fail": 0.005}),
        Row("absent", base(predictions=preds()), "skipped"),
        # Only the documented place counts: a flips record elsewhere, or a count without the rate, is not read.
        Row("not_in_metrics", base(metrics={"flips": {"negative_flip_rate": 0.08}}), "skipped"),
        Row("count_only", base(predictions=preds(flips={"negative_flips": 30})), "skipped", says="negative-flip rate"),
    ],
    "accuracy_change_significance": [
        Row("drop_by_chance", base(predictions=preds(flips=flips(30, 20))), "pass", P_30_20, says="chance"),
        Row("drop_beyond_chance", base(predictions=preds(flips=flips(40, 15))), "warn", P_40_15, says="2.5% lower"),
        Row("gain_beyond_chance", base(predictions=preds(flips=flips(15, 40))), "pass", P_40_15, says="higher"),
        Row("same", base(predictions=preds(flips=flips(0, 0))), "pass", 1.0, says="same accuracy"),
        Row("stricter_alpha", base(predictions=preds(flips=flips(40, 15))), "pass", P_40_15, {"alpha": 0.001}),
        Row(
            "drop_as_fail",
            base(predictions=preds(flips=flips(40, 15))),
            "fail",
            P_40_15,
            {"on_significant_drop": "fail"},
            says="40 rows newly wrong",
        ),
        Row("older_report", base(predictions=preds(flips={"negative_flip_rate": 0.01})), "skipped", says="older"),
        Row("regression", base(predictions=preds(task="regression")), "skipped", says="regression"),
        Row("absent", base(predictions=preds()), "skipped", says="--target"),
    ],
    "importance_rank_correlation": [
        Row("same_order", base(explanations=expl(rank_correlation=0.95)), "pass", 0.95),
        Row("warn", base(explanations=expl(rank_correlation=0.7)), "warn", 0.7),
        Row("fail", base(explanations=expl(rank_correlation=0.1)), "fail", 0.1),
        Row("too_few", base(explanations=expl(rank_correlation=None)), "skipped"),
        Row("absent", base(), "skipped", says="SHAP"),
    ],
    "top_weighted_rank_agreement": [
        Row("same_top", base(explanations=expl(rank_biased_overlap=0.92, rank_biased_overlap_p=0.9)), "pass", 0.92),
        Row(
            "top_swapped",
            base(explanations=expl(rank_biased_overlap=0.7, top_k_repo=["b", "a"], top_k_deployed=["a", "b"])),
            "warn",
            0.7,
            says="b in the repo model, a in the deployed one",
        ),
        Row("fail", base(explanations=expl(rank_biased_overlap=0.3)), "fail", 0.3, says="fails below 0.5"),
        Row("stricter", base(explanations=expl(rank_biased_overlap=0.85)), "warn", 0.85, {"warn": 0.9}),
        Row("older_report", base(explanations=expl()), "skipped", says="rank-biased overlap"),
        Row("absent", base(), "skipped", says="SHAP"),
    ],
    "top_k_overlap": [
        Row("all", base(explanations=expl(top_k_overlap=1.0)), "pass", 1.0),
        Row("at_warn", base(explanations=expl(top_k_overlap=0.8)), "pass", 0.8),
        Row(
            "warn",
            base(explanations=expl(top_k_overlap=0.6, top_k_repo=["a", "b", "z"], top_k_deployed=["a", "b", "c"])),
            "warn",
            0.6,
            says="new: z",
        ),
        Row("fail", base(explanations=expl(top_k_overlap=0.2)), "fail", 0.2),
        Row("absent", base(), "skipped"),
    ],
    "additivity": [
        Row("holds", base(explanations=expl(additivity=additivity(False, False))), "pass", 0),
        Row("repo_fails", base(explanations=expl(additivity=additivity(True, False))), "warn", 1, says="repo"),
        Row(
            "both_fail_strict",
            base(explanations=expl(additivity=additivity(True, True))),
            "fail",
            2,
            {"on_failure": "fail"},
        ),
        Row("no_record", base(explanations=expl()), "skipped"),
        Row("absent", base(), "skipped"),
    ],
    "training_data_changed": [
        Row("same", base(data={"lineage": {"relation": "same_data"}}), "info", "same_data", says="same data"),
        Row(
            "snapshot",
            base(data={"lineage": {"relation": "different_snapshots"}}),
            "info",
            "different_snapshots",
            says="different snapshots of the same source",
        ),
        Row("unrelated", base(data={"lineage": {"relation": "unrelated"}}), "info", "unrelated", says="unrelated"),
        Row("undocumented_word", base(data={"lineage": {"relation": "same"}}), "skipped", says="unknown"),
        Row(
            "digests_in_details",
            base(
                data={
                    "lineage": {
                        "relation": "different_snapshots",
                        "repo": {"training": {"name": "t", "digest": "d1", "context": "training"}},
                        "deployed": {"training": {"name": "t", "digest": None, "computed_digest": "d0"}},
                    }
                }
            ),
            "info",
            "different_snapshots",
        ),
        Row("unknown_relation", base(data={"lineage": {"relation": "unknown"}}), "skipped", says="unknown"),
        Row("unknown", base(data={"lineage": {}}), "skipped"),
        Row("absent", base(), "skipped"),
    ],
    "sample_drift": [
        Row("stable", base(data={"drift": [pair("sample_vs_training", x1=0.02, x2=0.01)]}), "pass", 0.02),
        Row(
            "drifted_sample_not_training",
            base(data={"drift": [pair("training_vs_training", x2=0.9), pair("sample_vs_training", x1=0.35, x2=0.1)]}),
            "warn",
            0.35,
            says="x1",
        ),
        Row(
            "worst_of_both_references",
            base(data={"drift": [pair("sample_vs_training", x1=0.05), pair("sample_vs_training", x3=0.25)]}),
            "warn",
            0.25,
            says="x3",
        ),
        Row("training_only", base(data={"drift": [pair("training_vs_training", x2=0.9)]}), "skipped"),
        Row(
            "no_psi",
            base(data={"drift": [{"kind": "sample_vs_training", "columns": [{"column": "x1", "ks": 0.3}]}]}),
            "skipped",
        ),
        # An undocumented layout (a mapping of pairs keyed by name) is not guessed at.
        Row(
            "undocumented_layout",
            base(data={"drift": {"sample_vs_repo_training": {"columns": [{"column": "x1", "psi": 0.9}]}}}),
            "skipped",
        ),
        Row("absent", base(), "skipped"),
    ],
    "serving_parity": [
        Row("exact", base(parity=parity(n_differing=0, differing_rate=0.0)), "pass", 0.0),
        Row("a_few", base(parity=parity(n_differing=5, differing_rate=0.005)), "warn", 0.005),
        Row("many", base(parity=parity(n_differing=50, differing_rate=0.05)), "fail", 0.05),
        Row("errors", base(parity=parity(n_differing=0, differing_rate=0.0, n_errors=2)), "warn", 0.0, says="failed"),
        Row("nothing_compared", base(parity=parity(n_rows=0, differing_rate=None)), "skipped", says="no row"),
        Row("absent", base(), "skipped", says="endpoint"),
    ],
    "deployed_reproducible": [
        Row("reproduced", base(retraining=retrained("reproduced")), "pass", "reproduced", says="reproduces"),
        Row("within_noise", base(retraining=retrained("within_noise")), "pass", "within_noise", says="noise"),
        Row("differs", base(retraining=retrained("differs")), "warn", "differs", says="not what its recorded recipe"),
        Row("differs_strict", base(retraining=retrained("differs")), "fail", "differs", {"on_differs": "fail"}),
        Row("cannot", base(retraining=retrained("not_retrainable")), "info", "not_retrainable", says="no training"),
        Row("absent", base(), "skipped", says="--retrain"),
    ],
    "retraining_noise_excess": [
        Row("within", base(retraining=retrained(excess=1.5, noise=0.02, rate=0.03)), "pass", 1.5, says="1.5x"),
        Row("warn", base(retraining=retrained(excess=3.3, noise=0.02, rate=0.066)), "warn", 3.3, says="3.3x"),
        Row("fail", base(retraining=retrained(excess=8.0, noise=0.01, rate=0.08)), "fail", 8.0, says="fails above 5x"),
        Row("from_rates", base(retraining=retrained(noise=0.01, rate=0.03)), "warn", 3.0),
        Row("deterministic", base(retraining=retrained(noise=0.0, rate=0.05)), "info", None, says="real difference"),
        Row("both_zero", base(retraining=retrained(noise=0.0, rate=0.0)), "pass", 0.0),
        Row("unknown_noise", base(retraining=retrained()), "skipped", says="noise is unknown"),
        Row("absent", base(), "skipped"),
    ],
}
CASES["max_probability_shift"][4].report["deployed"]["has_probabilities"] = False

INFO_ONLY = {"artifact_identity", "training_data_changed"}
COVERAGE = {name: {"info", "skipped"} for name in INFO_ONLY} | {"sample_drift": {"pass", "warn", "skipped"}}
FULL = {"pass", "warn", "fail", "skipped"}


def test_every_check_has_rows() -> None:
    """Adding a check to the registry without pass / warn / fail / skipped rows here fails this test."""
    registry = [c.name for c in CHECKS]
    assert sorted(CASES) == sorted(registry), "CASES and the registry list different checks"
    for name in registry:
        covered = {row.status for row in CASES[name]}
        missing = COVERAGE.get(name, FULL) - covered
        assert not missing, f"check {name} has no rows giving {sorted(missing)}"


ROWS = [(name, row) for name, rows in CASES.items() for row in rows]


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[f"{n}-{r.id}" for n, r in ROWS])
def test_check_row(name: str, row: Row) -> None:
    result = get_check(name).evaluate(row.report, row.settings)
    assert result.status == row.status, result.message
    if row.value != "any":
        if isinstance(row.value, float):
            assert result.value == pytest.approx(row.value)
        else:
            assert result.value == row.value
    assert result.name == name
    assert result.message and "\n" not in result.message and result.message.endswith(".")
    assert row.says in result.message


def test_info_checks_never_grade() -> None:
    """Informational checks report, whatever they find."""
    for name in INFO_ONLY:
        assert {r.status for r in CASES[name]} <= {"info", "skipped"}


def test_checks_document_what_they_read() -> None:
    for check in CHECKS:
        assert check.reads, check.name
        doc = check.fn.__doc__ or ""
        assert "Reads" in doc, f"{check.name}'s docstring does not say which keys it reads"
        assert check.description and check.title


def test_training_data_digests_in_details() -> None:
    """The check names each side's training fingerprint (MLflow digest, else the computed one)."""
    row = next(r for r in CASES["training_data_changed"] if r.id == "digests_in_details")
    result = get_check("training_data_changed").evaluate(row.report, row.settings)
    assert result.details == {"repo": ["d1"], "deployed": ["d0"]}
