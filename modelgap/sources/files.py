"""Local artifacts: MLflow model directories, skops files and (only where allowed) pickles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelgap.errors import SourceError, UntrustedModelError
from modelgap.model import ModelMetadata
from modelgap.sources.environment import running_python, running_versions
from modelgap.sources.hashing import sha256_of
from modelgap.sources.native import capture_version_warnings, from_native
from modelgap.sources.origins import ALLOWED_DIRS_ENV, Trust
from modelgap.sources.trust import trusted_types_for
from modelgap.values import one_line

LFS_POINTER_PREFIX = b"version https://git-lfs"
PICKLE_SUFFIXES = {".joblib", ".pkl", ".pickle"}


def check_readable_file(path: Path) -> None:
    """Fail early, naming the file, for the artifacts users most often get wrong."""
    if not path.exists():
        raise SourceError(
            f"No model file or directory at {path}.", "Check the path (relative to the working directory)."
        )
    if path.is_dir():
        return
    size = path.stat().st_size
    if size == 0:
        raise SourceError(f"{path} is empty (0 bytes).", "Re-save or re-download the model.")
    with path.open("rb") as fh:
        head = fh.read(200)
    if head.startswith(LFS_POINTER_PREFIX):
        raise SourceError(
            f"{path} is a Git LFS pointer, not the model itself.",
            "Run `git lfs pull` (or `git lfs fetch` for that revision) to get the real file.",
        )


def load_local(path: Path, source: str, *, may_run_code: bool, trust: Trust | None = None) -> Any:
    """Load a local artifact. `may_run_code`: its origin is one the operator (or the CLI's user) allowed."""
    from modelgap.sources.mlflow_dir import load_mlflow_dir

    check_readable_file(path)
    if path.is_dir():
        if (path / "MLmodel").is_file():
            return load_mlflow_dir(path, source, may_run_code=may_run_code, trust=trust)
        raise SourceError(
            f"{path} is a directory without an MLmodel file.",
            "Point at an MLflow model directory, a .skops file or a .joblib/.pkl file.",
        )
    suffix = path.suffix.lower()
    if suffix == ".skops":
        obj, metadata = _load_skops(path)
    elif suffix in PICKLE_SUFFIXES:
        obj, metadata = _load_pickle(path, source, may_run_code=may_run_code, trust=trust)
    else:
        raise SourceError(
            f"{path} has an unknown model format ({suffix or 'no extension'}).",
            "Use an MLflow model directory, a .skops file or a .joblib/.pkl file.",
        )
    metadata.sha256 = sha256_of(path)
    metadata.location = str(path)
    metadata.library_versions = running_versions()
    metadata.python_version = running_python()
    metadata.warnings.append("Library versions are those of the running environment: plain files record none.")
    return from_native(obj, source, metadata)


def _load_skops(path: Path) -> tuple[Any, ModelMetadata]:
    import skops.io as sio

    trusted = trusted_types_for(path)
    metadata = ModelMetadata(flavor="skops")
    try:
        with capture_version_warnings(metadata):
            obj = sio.load(path, trusted=trusted)
    except UntrustedModelError:
        raise
    except Exception as exc:
        raise SourceError(
            f"{path} could not be loaded as a skops file ({type(exc).__name__}: {exc}).",
            "The file is truncated or not a skops file; re-save it with skops.io.dump.",
        ) from exc
    return obj, metadata


def _load_pickle(path: Path, source: str, *, may_run_code: bool, trust: Trust | None) -> tuple[Any, ModelMetadata]:
    if not may_run_code:
        raise UntrustedModelError(
            f"{path} is a pickle/joblib file, and loading one runs any code it contains; such files load only "
            "from folders the operator allowed.",
            f"Use a .skops file or an MLflow model saved with skops, or ask the operator to allow its folder "
            f"({ALLOWED_DIRS_ENV}).",
        )
    if trust is not None:
        trust.tell(
            f"{source} is a pickle/joblib file: loading it runs any code it contains; load only files you trust."
        )
    import joblib

    metadata = ModelMetadata(flavor="joblib" if path.suffix.lower() == ".joblib" else "pickle", runs_code=True)
    try:
        with capture_version_warnings(metadata):
            obj = joblib.load(path)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise SourceError(
            f"{path} needs code that is not installed here ({exc}).",
            "Install the library the model was saved with, or save it as an MLflow model.",
        ) from exc
    except Exception as exc:
        raise SourceError(
            f"{path} could not be unpickled ({type(exc).__name__}: {one_line(exc)}).",
            "The file is truncated or not a pickle/joblib file; re-save the model.",
        ) from exc
    return obj, metadata
