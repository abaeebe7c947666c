"""Library versions a model was saved with (from its MLflow files) or is loaded with (running environment)."""

from __future__ import annotations

import platform
import re
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

MODEL_LIBRARIES = ("scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "numpy", "pandas", "scipy", "skops", "mlflow")

_REQ_LINE = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)")


def running_versions() -> dict[str, str]:
    """Versions in this process, for plain files that record none."""
    out: dict[str, str] = {}
    for name in MODEL_LIBRARIES:
        try:
            out[_canonical(name)] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def running_python() -> str:
    return platform.python_version()


def versions_from_mlflow_dir(model_dir: Path, mlmodel: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """Pinned versions from requirements.txt and the flavors in MLmodel, plus the Python version."""
    versions: dict[str, str] = {}
    req = model_dir / "requirements.txt"
    if req.is_file():
        for line in req.read_text(errors="replace").splitlines():
            m = _REQ_LINE.match(line)
            if m:
                versions[_canonical(m.group(1))] = m.group(2)
    flavors = mlmodel.get("flavors", {}) or {}
    for flavor, key in (("sklearn", "sklearn_version"), ("xgboost", "xgb_version"), ("lightgbm", "lgb_version")):
        version = (flavors.get(flavor) or {}).get(key)
        if version:
            versions.setdefault(_canonical({"sklearn": "scikit-learn"}.get(flavor, flavor)), str(version))
    if mlmodel.get("mlflow_version"):
        versions.setdefault("mlflow", str(mlmodel["mlflow_version"]))
    python = (flavors.get("python_function") or {}).get("python_version")
    return dict(sorted(versions.items())), (str(python) if python else None)


def _canonical(name: str) -> str:
    name = name.lower().replace("_", "-")
    return "xgboost" if name == "xgboost-cpu" else name
