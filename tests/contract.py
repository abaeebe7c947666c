"""The JSON report contract of DESIGN.md as a checker other tests can reuse.

`contract_problems(report)` lists every way a report dict breaks the contract (empty list: it conforms);
`assert_contract(report, require=("predictions",))` fails a test with all of them at once. Optional
sections are checked when present; `require` makes them mandatory. Keys may be added, never renamed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

MODEL_KEYS = ("source", "flavor", "model_class", "task", "classes", "features", "sha256", "library_versions", "mlflow")
PARAMETER_KEYS = ("identical", "changed", "only_in_repo", "only_in_deployed")
PREDICTION_KEYS = ("n_rows", "task", "disagreement_rate", "n_disagreements", "mean_abs_diff", "max_abs_diff", "top")
TOP_ROW_KEYS = ("row", "repo", "deployed", "abs_diff")
EXPLANATION_KEYS = ("n_rows", "output", "method", "features", "rank_correlation")
FEATURE_KEYS = ("feature", "repo_importance", "deployed_importance", "repo_rank", "deployed_rank")
METRIC_KEYS = ("repo", "deployed", "delta", "ci_low", "ci_high")
CHECK_KEYS = ("name", "status", "value", "threshold", "message")
NON_METRIC_ENTRIES = ("flips",)  # records that may sit beside the metrics without being one
TASKS = ("binary", "multiclass", "regression")


def _is_num(v: Any, *, allow_none: bool = False) -> bool:
    if v is None:
        return allow_none
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _keys(obj: Any, keys: Iterable[str], where: str) -> list[str]:
    if not isinstance(obj, Mapping):
        return [f"{where} is {type(obj).__name__}, not an object"]
    return [f"{where}.{k} is missing" for k in keys if k not in obj]


def _records(obj: Any, keys: Iterable[str], where: str) -> list[str]:
    if not isinstance(obj, list):
        return [f"{where} is {type(obj).__name__}, not a list"]
    out: list[str] = []
    for i, item in enumerate(obj):
        out += _keys(item, keys, f"{where}[{i}]")
    return out


def contract_problems(report: Mapping[str, Any], require: Iterable[str] = ()) -> list[str]:
    problems: list[str] = []
    try:
        json.dumps(report, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(f"not strict JSON: {exc}")
    if report.get("schema_version") != 1:
        problems.append(f"schema_version is {report.get('schema_version')!r}, not 1")
    for side in ("repo", "deployed"):
        problems += _keys(report.get(side), MODEL_KEYS, side)
        m = report.get(side)
        if isinstance(m, Mapping):
            if m.get("task") not in TASKS:
                problems.append(f"{side}.task is {m.get('task')!r}")
            problems += _records(m.get("features", []), ("name",), f"{side}.features")
    p = report.get("parameters")
    problems += _keys(p, PARAMETER_KEYS, "parameters")
    if isinstance(p, Mapping):
        problems += _records(p.get("changed", []), ("name", "repo", "deployed"), "parameters.changed")
        problems += _records(p.get("only_in_repo", []), ("name", "value"), "parameters.only_in_repo")
        problems += _records(p.get("only_in_deployed", []), ("name", "value"), "parameters.only_in_deployed")
    required = set(require)
    for name in required:
        if name not in report:
            problems.append(f"required section {name} is missing")
    if "predictions" in report:
        problems += _predictions(report["predictions"])
    if "explanations" in report:
        problems += _explanations(report["explanations"])
    if "metrics" in report:
        problems += _metrics(report["metrics"])
    if "data" in report and not isinstance(report["data"], Mapping):
        problems.append("data is not an object")
    if "verdict" in report:
        problems += _verdict(report["verdict"])
    return problems


def _predictions(p: Any) -> list[str]:
    out = _keys(p, PREDICTION_KEYS, "predictions")
    if isinstance(p, Mapping) and not out:
        out += _records(p["top"], TOP_ROW_KEYS, "predictions.top")
        rate = p["disagreement_rate"]
        if not _is_num(rate) or not 0 <= rate <= 1:
            out.append(f"predictions.disagreement_rate is {rate!r}")
        if p["task"] not in TASKS:
            out.append(f"predictions.task is {p['task']!r}")
    return out


def _explanations(e: Any) -> list[str]:
    out = _keys(e, EXPLANATION_KEYS, "explanations")
    if isinstance(e, Mapping) and not out:
        out += _keys(e["method"], ("repo", "deployed"), "explanations.method")
        out += _records(e["features"], FEATURE_KEYS, "explanations.features")
        if not _is_num(e["rank_correlation"], allow_none=True):
            out.append(f"explanations.rank_correlation is {e['rank_correlation']!r}")
    return out


def _metrics(m: Any) -> list[str]:
    if not isinstance(m, Mapping):
        return ["metrics is not an object"]
    out: list[str] = []
    for name, entry in m.items():
        if name in NON_METRIC_ENTRIES:
            continue
        out += _keys(entry, METRIC_KEYS, f"metrics.{name}")
    return out


def _verdict(v: Any) -> list[str]:
    out = _keys(v, ("status", "checks", "policy"), "verdict")
    if isinstance(v, Mapping) and not out:
        if v["status"] not in ("pass", "warn", "fail"):
            out.append(f"verdict.status is {v['status']!r}")
        out += _records(v["checks"], CHECK_KEYS, "verdict.checks")
        for i, c in enumerate(v["checks"]):
            if isinstance(c, Mapping) and c.get("status") not in ("pass", "warn", "fail", "skipped", "info"):
                out.append(f"verdict.checks[{i}].status is {c.get('status')!r}")
            if isinstance(c, Mapping) and (not isinstance(c.get("message"), str) or not c.get("message")):
                out.append(f"verdict.checks[{i}].message is empty")
    return out


def assert_contract(report: Mapping[str, Any], require: Iterable[str] = ()) -> None:
    problems = contract_problems(report, require)
    assert not problems, "JSON report breaks the contract:\n  " + "\n  ".join(problems)
