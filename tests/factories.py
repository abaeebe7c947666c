"""Small real models and data sets for tests: every artifact is trained here, nothing is mocked."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Fitting the small models warns from the libraries themselves (convergence, feature names); only theirs.
warnings.filterwarnings("ignore", module="(sklearn|lightgbm|xgboost|mlflow)")

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


def reference_params(model: Any) -> dict[str, Any]:
    """The tests' own flattening of get_params(deep=True), to check modelgap's against.

    Estimators become their class name, types their dotted name, tuples lists, NaN "NaN", numpy scalars Python.
    """

    def norm(v: Any) -> Any:
        if isinstance(v, type):
            return f"{v.__module__}.{v.__qualname__}"
        if hasattr(v, "get_params"):
            return type(v).__name__
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, float) and v != v:
            return "NaN"
        if isinstance(v, np.generic):
            return v.item()
        return v

    return {k: norm(v) for k, v in model.get_params(deep=True).items()}


def save_skops(model: Any, path: Path) -> Path:
    import skops.io as sio

    sio.dump(model, path)
    return path


def save_mlflow(model: Any, path: Path, X: pd.DataFrame) -> Path:
    """An MLflow model directory with a signature, saved with the flavor that fits the model.

    xgboost / lightgbm models (sklearn wrappers or raw Boosters) get their native flavor; requirements are
    pinned to the running versions, so MLflow does not spend seconds inferring them.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    module = type(model).__module__.split(".")[0]
    if module in ("xgboost", "lightgbm"):
        return _save_native_flavor(model, path, X, module)
    sig = infer_signature(X, model.predict(X))
    mlflow.sklearn.save_model(
        model, str(path), signature=sig, pip_requirements=["scikit-learn"], skops_trusted_types=SKOPS_TRUSTED
    )
    return path


def _save_native_flavor(model: Any, path: Path, X: pd.DataFrame, module: str) -> Path:
    import mlflow.lightgbm
    import mlflow.xgboost
    from mlflow.models import infer_signature

    raw = module + ".core" == type(model).__module__ or type(model).__module__ == "lightgbm.basic"
    if raw and module == "xgboost":
        import xgboost

        output = model.predict(xgboost.DMatrix(X))
    else:
        output = model.predict(X)
    import sklearn

    flavor = mlflow.xgboost if module == "xgboost" else mlflow.lightgbm
    version = __import__(module).__version__
    flavor.save_model(
        model,
        str(path),
        signature=infer_signature(X, output),
        pip_requirements=[f"{module}=={version}", f"scikit-learn=={sklearn.__version__}"],
    )
    return path


def save_labels_pyfunc(model: Any, path: Path, X: pd.DataFrame, **save_kwargs: Any) -> Path:
    """A python_function model that returns class labels only (no probabilities), like many custom pyfuncs."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    class LabelsOnlyModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def __init__(self, estimator: Any) -> None:
            self.estimator = estimator

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
            return np.asarray(self.estimator.predict(model_input))

    mlflow.pyfunc.save_model(
        str(path),
        python_model=LabelsOnlyModel(model),
        signature=infer_signature(X, model.predict(X)),
        pip_requirements=["scikit-learn"],
        **save_kwargs,
    )
    return path


def log_registered(model: Any, X: pd.DataFrame, name: str, tracking_uri: str, **params: Any) -> str:
    """Log `model` in a run with `params` and register it under `name`; returns the new version."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    from mlflow.tracking._model_registry import utils as registry_utils

    previous = mlflow.get_tracking_uri()
    previous_registry = registry_utils._registry_uri  # None when unset; the public getter falls back
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
        mv = (
            client.create_model_version(name, info.model_uri, run_id=run.info.run_id, model_id=info.model_id)
            if _ensure(client, name)
            else None
        )
    finally:
        mlflow.set_tracking_uri(previous)
        mlflow.set_registry_uri(previous_registry)
    assert mv is not None
    return str(mv.version)


def _ensure(client: Any, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name)
    return True
