"""Small real models and data sets for tests: every artifact is trained here, nothing is mocked."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

SKOPS_TRUSTED = [
    "sklearn.tree._tree.Tree",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


def tabular(n: int = 600, seed: int = 0, task: str = "binary") -> tuple[pd.DataFrame, pd.Series]:
    """Numeric + string categorical columns with a target for `task` (binary, multiclass, regression)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.uniform(0, 1, n),
            "x2": rng.normal(0, 1, n),
            "x3": rng.integers(0, 10, n),
            "cat": rng.choice(["a", "b", "c"], n),
        }
    )
    score = 2 * df["x1"] + df["x2"] + 0.1 * df["x3"] + (df["cat"] == "b") * 0.8 + rng.normal(0, 0.3, n)
    if task == "regression":
        y = pd.Series(score, name="y")
    elif task == "multiclass":
        y = pd.Series(pd.cut(score, bins=[-np.inf, 1.0, 2.2, np.inf], labels=False).astype(int), name="y")
    else:
        y = pd.Series((score > score.median()).astype(int), name="y")
    return df, y


def numeric(df: pd.DataFrame) -> pd.DataFrame:
    return df[["x1", "x2", "x3"]]


def pipeline(task: str = "binary", estimator: Any = None) -> Any:
    """ColumnTransformer (scaler + one-hot) followed by `estimator` (default GradientBoosting)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if estimator is None:
        cls = GradientBoostingRegressor if task == "regression" else GradientBoostingClassifier
        estimator = cls(n_estimators=30, max_depth=3, random_state=0)
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["x1", "x2", "x3"]),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["cat"]),
        ]
    )
    return Pipeline([("pre", pre), ("model", estimator)])


def fitted(kind: str, task: str = "binary", seed: int = 0, **params: Any) -> tuple[Any, pd.DataFrame, pd.Series]:
    """A fitted model of `kind` (pipeline, gbm, rf, logreg, ridge, xgboost, lightgbm) with its training data."""
    df, y = tabular(seed=seed, task=task)
    reg = task == "regression"
    if kind == "pipeline":
        model = pipeline(task)
        model.set_params(**params)
        return model.fit(df, y), df, y
    X = numeric(df)
    if kind == "gbm":
        from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

        est = (GradientBoostingRegressor if reg else GradientBoostingClassifier)(n_estimators=30, random_state=0)
    elif kind == "rf":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        est = (RandomForestRegressor if reg else RandomForestClassifier)(n_estimators=20, random_state=0)
    elif kind == "logreg":
        from sklearn.linear_model import LogisticRegression

        est = LogisticRegression(max_iter=500)
    elif kind == "ridge":
        from sklearn.linear_model import Ridge

        est = Ridge(alpha=1.0)
    elif kind == "xgboost":
        import xgboost

        est = (xgboost.XGBRegressor if reg else xgboost.XGBClassifier)(n_estimators=30, max_depth=3, n_jobs=1)
    elif kind == "lightgbm":
        import lightgbm

        est = (lightgbm.LGBMRegressor if reg else lightgbm.LGBMClassifier)(n_estimators=30, verbose=-1, n_jobs=1)
    else:
        raise ValueError(kind)
    est.set_params(**params)
    return est.fit(X, y), X, y


def save_skops(model: Any, path: Path) -> Path:
    import skops.io as sio

    sio.dump(model, path)
    return path


def save_mlflow(model: Any, path: Path, X: pd.DataFrame) -> Path:
    """An MLflow model directory with a signature, saved with the flavor that fits the model."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    sig = infer_signature(X, model.predict(X))
    mlflow.sklearn.save_model(
        model, str(path), signature=sig, pip_requirements=["scikit-learn"], skops_trusted_types=SKOPS_TRUSTED
    )
    return path


def log_registered(model: Any, X: pd.DataFrame, name: str, tracking_uri: str, **params: Any) -> str:
    """Log `model` in a run with `params` and register it under `name`; returns the new version."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        with mlflow.start_run() as run:
            if params:
                mlflow.log_params(params)
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(X, model.predict(X)),
                pip_requirements=["scikit-learn"],
                skops_trusted_types=SKOPS_TRUSTED,
            )
        mv = client.create_model_version(name, info.model_uri, run_id=run.info.run_id) if _ensure(client, name) else None
    finally:
        mlflow.set_tracking_uri(previous)
    assert mv is not None
    return str(mv.version)


def _ensure(client: Any, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name)
    return True
