"""The JSON report: DESIGN.md's contract. Keys may be added, never renamed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelgap.comparison import Comparison
from modelgap.jsonsafe import json_safe
from modelgap.model import LoadedModel
from modelgap.redact import redact_values

SCHEMA_VERSION = 1


def model_to_dict(model: LoadedModel) -> dict[str, Any]:
    m = model.metadata
    return {
        "source": model.source,
        "flavor": m.flavor,
        "model_class": m.model_class,
        "task": model.task,
        "classes": json_safe(model.classes),
        "features": [{"name": f.name, "dtype": f.dtype} for f in model.features],
        "sha256": m.sha256,
        "library_versions": m.library_versions,
        "python_version": m.python_version,
        "mlflow": json_safe(m.mlflow),
        "git": json_safe(m.git),
        "has_probabilities": model.has_proba,
        "params_known": model.params is not None,
        "runs_code": m.runs_code,
        "warnings": list(m.warnings),
    }


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "repo": model_to_dict(comparison.repo),
        "deployed": model_to_dict(comparison.deployed),
        "parameters": comparison.parameters.to_dict(),
        "data_file": comparison.data_path,
        "engine": comparison.options.engine,
    }
    for name, result in comparison.sections.items():
        out[name] = result.to_dict() if hasattr(result, "to_dict") else result
    if comparison.notes:
        out["notes"] = list(comparison.notes)
    if comparison.errors:
        out["section_errors"] = dict(comparison.errors)
    return redact_values(json_safe(out))  # no credential reaches a report, whatever a source string carried


def write_json(comparison: Comparison, path: str | Path) -> None:
    text = json.dumps(comparison_to_dict(comparison), indent=2, allow_nan=False)
    Path(path).write_text(text + "\n")
