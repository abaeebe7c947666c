"""What the operator of a shared server decides: allowed folders, pickle uploads, the demo's location.

Read from the environment on every call (cheap), so a test or an operator can change them without a restart.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

from modelgap.errors import SourceError

APP_ROOT = Path(__file__).resolve().parent.parent  # the repository the app runs from
ALLOWED_DIRS_ENV = "MODELGAP_ALLOWED_DIRS"
PICKLE_UPLOADS_ENV = "MODELGAP_ALLOW_PICKLE_UPLOADS"
DEMO_DIR_ENV = "MODELGAP_DEMO_DIR"
ENGINE_ENV = "MODELGAP_ENGINE"

_UPLOAD_ROOT: Path | None = None
_UPLOAD_LOCK = threading.Lock()


def demo_dir() -> Path:
    """Where the demo workspace lives: MODELGAP_DEMO_DIR, else the core's default (.modelgap/demo)."""
    from modelgap.demo import DEFAULT_DEMO_DIR

    configured = os.environ.get(DEMO_DIR_ENV)
    return Path(configured).expanduser().absolute() if configured else DEFAULT_DEMO_DIR


def compute_engine() -> str:
    """The comparison engine the operator chose: MODELGAP_ENGINE (pandas or spark; default pandas)."""
    from modelgap.spark import check_engine

    return check_engine(os.environ.get(ENGINE_ENV, "pandas"))


def pickle_uploads_allowed() -> bool:
    """Pickle/joblib uploads run code when loaded: only when the operator turned them on."""
    return os.environ.get(PICKLE_UPLOADS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def upload_root() -> Path:
    """One private folder per server process for uploads (named by content hash), removed at exit."""
    global _UPLOAD_ROOT
    with _UPLOAD_LOCK:
        if _UPLOAD_ROOT is None:
            _UPLOAD_ROOT = Path(tempfile.mkdtemp(prefix="modelgap-uploads-")).resolve()
            atexit.register(shutil.rmtree, _UPLOAD_ROOT, True)
        return _UPLOAD_ROOT


def is_upload(path: str | Path) -> bool:
    root = _UPLOAD_ROOT
    return root is not None and _is_below(Path(path).expanduser().resolve(), root)


def operator_dirs() -> list[Path]:
    """The folders listed in MODELGAP_ALLOWED_DIRS (os.pathsep-separated), else the app's repository."""
    raw = os.environ.get(ALLOWED_DIRS_ENV, "")
    dirs = [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]
    return dirs or [APP_ROOT]


def allowed_dirs() -> list[Path]:
    """Every folder a server-side path may be in: the operator's, the demo workspace and this process's uploads."""
    dirs = [*operator_dirs(), demo_dir().resolve()]
    if _UPLOAD_ROOT is not None:
        dirs.append(_UPLOAD_ROOT)
    return list(dict.fromkeys(dirs))


def _is_below(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_allowed_path(path: str | Path, what: str = "Path") -> Path:
    """The resolved path (symlinks followed) if it is below an allowed folder, else a SourceError."""
    resolved = Path(path).expanduser().resolve()
    if any(_is_below(resolved, root) for root in allowed_dirs()):
        return resolved
    shown = ", ".join(str(d) for d in operator_dirs())
    raise SourceError(
        f"{what} {path} is outside the folders this server allows ({shown}).",
        f"Pick a file below them, upload it instead, or ask the operator to add its folder to {ALLOWED_DIRS_ENV}.",
    )


def check_tracking_uri(uri: str | None) -> None:
    """A file-based tracking store (sqlite:///, file:, a bare path) must be in an allowed folder too."""
    if not uri:
        return
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        if "sqlite:///" not in uri:
            raise SourceError(f"Tracking URI {uri} has no database path.", "Use sqlite:////absolute/path/mlflow.db.")
        check_allowed_path(uri.split("sqlite:///", 1)[1], "Tracking database")
    elif parsed.scheme == "file":
        check_allowed_path(parsed.path, "Tracking store")
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        check_allowed_path(uri, "Tracking store")


def default_tracking_uri() -> str | None:
    """MLFLOW_TRACKING_URI when set, else the demo workspace's store, else None."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    from modelgap.demo import load_demo

    workspace = load_demo(demo_dir())
    return workspace.tracking_uri if workspace else None
