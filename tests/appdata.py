"""Numbers the app tests expect, computed independently of the app: plain Python on the models' flat params,
and predictions of the natively loaded sklearn pipelines (mlflow.sklearn), never modelgap's own comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelgap import load_model

_MISSING = object()


def changed_params(demo: Any, deployed: str) -> int:
    """Names whose value differs, or that exist on one side only, over the two models' flat params."""
    repo = load_model(str(demo.repo_model_dir)).params or {}
    other = load_model(deployed, tracking_uri=demo.tracking_uri).params or {}
    return sum(repo.get(k, _MISSING) != other.get(k, _MISSING) for k in set(repo) | set(other))


def disagreement_rate(demo: Any, deployed: str) -> float:
    """Share of sample rows on which the two pipelines predict different labels."""
    import mlflow.sklearn

    from modelgap.sources.tracking import using_uri  # sets, then restores, mlflow's process-wide URIs

    with using_uri(demo.tracking_uri):
        repo = mlflow.sklearn.load_model(str(demo.repo_model_dir))
        other = mlflow.sklearn.load_model(deployed)
    X = pd.read_csv(demo.sample_path)
    a = repo.predict(X[list(repo.feature_names_in_)])
    b = other.predict(X[list(other.feature_names_in_)])
    return float(np.mean(a != b))
