"""The demo workspace: a local MLflow registry with a credit-risk champion, and a repo model that differs from it.

`build_demo()` makes everything the app and the CLI need to open on a realistic comparison with no set-up:
a sqlite tracking store with the registered model `credit-risk` (v1 baseline, v2 `champion`, v3 `challenger`),
a local MLflow model directory for the repo model, sample data with labels and the training sets behind both.
It is built offline from fixed seeds, in a temporary sibling directory that only becomes the workspace once
it is complete, so an interrupted build never leaves something that looks usable.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelgap.demo_data import (
    BASELINE,
    CHALLENGER,
    CHAMPION,
    TARGET,
    Snapshot,
    VersionRecipe,
    build_pipeline,
    make_credit_data,
)
from modelgap.errors import ModelgapError

if TYPE_CHECKING:
    from modelgap.request import ComparisonRequest

DEFAULT_DEMO_DIR = Path(__file__).resolve().parent.parent / ".modelgap" / "demo"
MODEL_NAME = "credit-risk"
EXPERIMENT_NAME = "credit-risk"
MARKER = ".complete"
MANIFEST_FORMAT = 1
SNAPSHOT_ROWS = 20_000  # per snapshot: the first 80% train, the rest validates
SAMPLE_ROWS = 5_000
_SNAPSHOTS: tuple[Snapshot, ...] = ("2025-q2", "2025-q4", "2026-q2")
_SEEDS: dict[str, int] = {"2025-q2": 20252, "2025-q4": 20254, "2026-q2": 20262, "sample": 20266}
REPO_TRAINING_DVC = "repo_model_training.dvc"  # next to repo_model/: DVC records what it was trained on
_OWN_NAMES = frozenset({MARKER, "mlflow.db", "mlartifacts", "data", "repo_model", "sample.csv", REPO_TRAINING_DVC})
_QUIET_LOGGERS = ("mlflow", "alembic", "sqlalchemy", "urllib3")
_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")


@dataclass(frozen=True)
class DemoWorkspace:
    """Where everything of a built demo lives; `load` it back from its `.complete` manifest."""

    directory: Path
    tracking_uri: str
    model_name: str
    repo_model_dir: Path
    sample_path: Path
    target: str
    training_path_champion: Path
    training_path_repo: Path

    @property
    def deployed_source(self) -> str:
        return f"models:/{self.model_name}@champion"

    @property
    def challenger_source(self) -> str:
        return f"models:/{self.model_name}@challenger"

    @classmethod
    def load(cls, directory: Path | str) -> DemoWorkspace | None:
        return load_demo(directory)


def load_demo(directory: Path | str = DEFAULT_DEMO_DIR) -> DemoWorkspace | None:
    """The workspace in `directory` if a build finished there (and it was not moved since), else None."""
    final = _normalise(directory)
    if final.is_symlink():  # a build in progress, or one that was interrupted
        return None
    try:
        manifest = json.loads((final / MARKER).read_text())
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("directory") != str(final):
            return None  # the store records absolute artifact paths: a moved workspace is a broken one
        workspace = _workspace(final, manifest)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    required = (final / "mlflow.db", workspace.repo_model_dir / "MLmodel", workspace.sample_path)
    return workspace if all(p.exists() for p in required) else None


def build_demo(
    directory: Path | str = DEFAULT_DEMO_DIR,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoWorkspace:
    """Build the demo workspace in `directory`, or return the complete one already there (unless `force`).

    The build writes into a temporary sibling that `directory` points to (a symlink) while it runs, so the
    absolute paths MLflow records are the final ones; the sibling is then renamed into place. A previous
    workspace is set aside first and put back if the build fails.
    """
    final = _normalise(directory)
    if not force and (existing := load_demo(final)) is not None:
        return existing
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the workspace from the app's service user
    previous: Path | None = None
    try:
        previous = _set_aside(final)
        final.symlink_to(staging, target_is_directory=True)
        with _quiet():
            manifest = _populate(final, staging, say)
        manifest["built_seconds"] = round(time.perf_counter() - started, 1)
        (staging / MARKER).write_text(json.dumps(manifest, indent=2) + "\n")
        final.unlink()
        staging.rename(final)
    except BaseException:
        if final.is_symlink():
            final.unlink()
        shutil.rmtree(staging, ignore_errors=True)
        if previous is not None and not final.exists():
            previous.rename(final)
        raise
    finally:
        _release_engines(_sqlite_uri(staging / "mlflow.db"), _sqlite_uri(final / "mlflow.db"))
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    say(f"Demo workspace built in {time.perf_counter() - started:.1f} s")
    return _workspace(final, manifest)


def _normalise(directory: Path | str) -> Path:
    """Absolute, with the parent's symlinks resolved but not the last part (which may be our own symlink)."""
    path = Path(directory).expanduser().absolute()
    return path.parent.resolve() / path.name


def _workspace(final: Path, manifest: dict[str, Any]) -> DemoWorkspace:
    return DemoWorkspace(
        directory=final,
        tracking_uri=_sqlite_uri(final / "mlflow.db"),
        model_name=str(manifest["model_name"]),
        repo_model_dir=final / manifest["repo_model_dir"],
        sample_path=final / manifest["sample"],
        target=str(manifest["target"]),
        training_path_champion=final / manifest["training_champion"],
        training_path_repo=final / manifest["training_repo"],
    )


def _sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


def _set_aside(final: Path) -> Path | None:
    """Move what is at `final` out of the way: drop a stale build symlink, keep a real directory to restore."""
    if final.is_symlink():
        stale = final.resolve()
        final.unlink()
        if stale.name.startswith(f".{final.name}.building-"):
            shutil.rmtree(stale, ignore_errors=True)
        return None
    if not final.exists():
        return None
    if not final.is_dir() or any(child.name not in _OWN_NAMES for child in final.iterdir()):
        raise ModelgapError(
            f"{final} exists and is not a modelgap demo workspace; building there would delete it.",
            "Choose another directory for the demo (--dir), or move that one away.",
        )
    aside = final.with_name(f".{final.name}.previous-{uuid.uuid4().hex[:8]}")
    final.rename(aside)
    return aside


def _release_engines(*uris: str) -> None:
    """MLflow keeps one SQLAlchemy engine per database URI for the life of the process: drop the staging
    database's, and the final path's, whose pooled connections would still reach a replaced database.
    Stores already handed out reconnect to the file now at that path. Private MLflow API, so best effort."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    for store in (TrackingStore, RegistryStore):
        engines = getattr(store, "_engine_map", {})
        for uri in uris:
            engine = engines.pop(uri, None)
            if engine is not None:
                engine.dispose()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Mute MLflow's, alembic's and sklearn's chatter for the build only, then restore levels and filters."""
    import mlflow  # noqa: F401 - importing it configures its loggers: do that before saving their levels

    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _populate(final: Path, staging: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Write data, registry and repo model. MLflow talks to the staging path's database (a URI no MLflow
    cache has seen) while every path it records goes through `final`, which the rename makes true."""
    import mlflow
    import mlflow.sklearn
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking import MlflowClient

    from modelgap.sources.tracking import using_uri

    say("Generating the credit-risk data (fixed seeds, no download)")
    (final / "data").mkdir()
    splits = {snap: _split(make_credit_data(SNAPSHOT_ROWS, _SEEDS[snap], snap)) for snap in _SNAPSHOTS}
    train_paths = {snap: final / "data" / f"train_{snap}.csv" for snap in splits}
    for snap, (train, _val) in splits.items():
        train.to_csv(train_paths[snap], index=False)
    make_credit_data(SAMPLE_ROWS, _SEEDS["sample"], "2026-q2").to_csv(final / "sample.csv", index=False)

    uri = _sqlite_uri(staging / "mlflow.db")
    artifacts = final / "mlartifacts"
    # Creating the store ourselves puts even the Default experiment's artifacts inside the workspace.
    SqlAlchemyStore(uri, artifacts.as_uri())
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment(
        EXPERIMENT_NAME, artifact_location=(artifacts / EXPERIMENT_NAME).as_uri(), tags={"team": "risk-analytics"}
    )
    fitted: dict[str, Any] = {}
    with using_uri(uri):
        for spec in (BASELINE, CHAMPION, CHALLENGER):
            say(f"Training and registering {spec.run_name}")
            train, val = splits[spec.snapshot]
            fitted[spec.run_name] = _log_version(mlflow, spec, train, val, train_paths[spec.snapshot], experiment_id)
    client.update_registered_model(
        MODEL_NAME, "Probability that a loan applicant defaults within 12 months. Owned by risk analytics."
    )
    client.set_registered_model_tag(MODEL_NAME, "domain", "consumer-credit")
    for version, spec in enumerate((BASELINE, CHAMPION, CHALLENGER), start=1):
        client.update_model_version(MODEL_NAME, str(version), spec.description)
        for key, value in spec.tags.items():
            client.set_model_version_tag(MODEL_NAME, str(version), key, value)
    client.set_registered_model_alias(MODEL_NAME, "champion", "2")
    client.set_registered_model_alias(MODEL_NAME, "challenger", "3")

    say("Saving the repo model (the challenger as it is in the repository)")
    repo_model = fitted[CHALLENGER.run_name]
    mlflow.sklearn.save_model(repo_model, str(final / "repo_model"), **_model_kwargs(repo_model, splits["2026-q2"][0]))
    _write_dvc_record(final / REPO_TRAINING_DVC, train_paths[CHALLENGER.snapshot])
    return {
        "format": MANIFEST_FORMAT,
        "directory": str(final),
        "model_name": MODEL_NAME,
        "target": TARGET,
        "repo_model_dir": "repo_model",
        "sample": "sample.csv",
        "training_champion": train_paths[CHAMPION.snapshot].relative_to(final).as_posix(),
        "training_repo": train_paths[CHALLENGER.snapshot].relative_to(final).as_posix(),
        "training_baseline": train_paths[BASELINE.snapshot].relative_to(final).as_posix(),
        "aliases": {"champion": 2, "challenger": 3},
    }


def _write_dvc_record(dvc_file: Path, data: Path) -> None:
    """A `.dvc` file as `dvc add` writes it (md5 and size of the file's bytes, path relative to the .dvc file),
    so the repo model's training data is known from its lineage, the way a DVC-versioned project records it."""
    import yaml

    from modelgap.data.fingerprint import file_md5

    out = {
        "md5": file_md5(data),
        "size": data.stat().st_size,
        "hash": "md5",
        "path": data.relative_to(dvc_file.parent).as_posix(),
    }
    dvc_file.write_text(yaml.safe_dump({"outs": [out]}, sort_keys=False))


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows are i.i.d., so the first 80% train and the rest validate."""
    cut = int(len(df) * 0.8)
    return df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)


def _log_version(
    mlflow: Any, spec: VersionRecipe, train: pd.DataFrame, val: pd.DataFrame, train_path: Path, experiment_id: str
) -> Any:
    """Fit `spec` and log it as the next version of the registered model, in its own run."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    features = list(spec.features)
    model = build_pipeline(spec).fit(train[features], train[TARGET])
    with mlflow.start_run(experiment_id=experiment_id, run_name=spec.run_name):
        params: dict[str, Any] = {
            "estimator": "LogisticRegression" if spec.estimator == "logreg" else "GradientBoostingClassifier",
            "imputer_strategy": spec.imputer,
            "n_features": len(features),
            "features": ",".join(features),
            "training_snapshot": spec.snapshot,
            "n_train_rows": len(train),
        }
        if spec.estimator == "gbm":
            params.update(learning_rate=spec.learning_rate, n_estimators=spec.n_estimators, max_depth=3)
        mlflow.log_params(params)
        dataset = mlflow.data.from_pandas(
            train, source=str(train_path), name=f"credit-applications-{spec.snapshot}", targets=TARGET
        )
        mlflow.log_input(dataset, context="training")
        proba = model.predict_proba(val[features])[:, 1]
        mlflow.log_metrics(
            {
                "val_auc": float(roc_auc_score(val[TARGET], proba)),
                "val_accuracy": float(accuracy_score(val[TARGET], proba >= 0.5)),
            }
        )
        mlflow.set_tags({"team": "risk-analytics", "model_family": spec.estimator})
        # MLflow announces registrations on stderr with print(): keep that out of the caller's terminal.
        with contextlib.redirect_stderr(io.StringIO()):
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name=MODEL_NAME, **_model_kwargs(model, train)
            )
    return model


def _model_kwargs(model: Any, train: pd.DataFrame) -> dict[str, Any]:
    """Signature, pinned requirements (skips MLflow's slow inference) and the exact skops types to trust."""
    import skops.io as sio
    from mlflow.models import infer_signature

    X = train[list(model.feature_names_in_)].head(1000)
    return {
        "serialization_format": "skops",
        "signature": infer_signature(X, model.predict(X)),
        "input_example": None,
        "pip_requirements": [f"{name}=={importlib_metadata.version(name)}" for name in _REQUIREMENTS],
        "skops_trusted_types": list(sio.get_untrusted_types(data=sio.dumps(model))),
    }


def demo_request(workspace: DemoWorkspace, engine: str = "pandas") -> ComparisonRequest:
    """The comparison the app opens on, with the app's options (`components.compute.request_for(demo_spec())`
    gives the same cache key: tests/test_resultcache.py checks it)."""
    from modelgap.options import CompareOptions
    from modelgap.request import ComparisonRequest
    from modelgap.sources.origins import Trust

    return ComparisonRequest(
        repo=str(workspace.repo_model_dir),
        deployed=workspace.deployed_source,
        data_path=str(workspace.sample_path),
        tracking_uri=workspace.tracking_uri,
        options=CompareOptions(target=workspace.target, engine=engine),
        trust=Trust(code_dirs=(workspace.directory,), code_registries=(workspace.tracking_uri,)),
    )


def warm_cache(directory: Path | str = DEFAULT_DEMO_DIR, say: Callable[[str], None] = print) -> bool:
    """Compute the demo comparison into the result cache (`make demo`), so the app's first view opens at once;
    True when it is there. The app's engine is honoured (MODELGAP_ENGINE); nothing is done for Spark."""
    import os

    from modelgap.request import compare
    from modelgap.resultcache import cache_dir, load_result, save_result

    engine = os.environ.get("MODELGAP_ENGINE", "pandas").strip().lower() or "pandas"
    workspace = load_demo(directory)
    if workspace is None or engine != "pandas":
        return False
    request = demo_request(workspace, engine)
    key, stored = load_result(request)
    if stored is None and key is not None:
        say(f"Computing the demo comparison into {cache_dir()}")
        started = time.perf_counter()
        stored = compare(request)
        if not save_result(key, request, stored):
            return False
        say(f"Demo comparison cached in {time.perf_counter() - started:.0f} s")
    return stored is not None
