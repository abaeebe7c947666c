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
from modelgap.redact import redact_uri
from modelgap.sources.origins import (
    ALLOWED_DIRS_ENV,
    ALLOWED_ENDPOINTS_ENV,
    TRUSTED_TRACKING_URIS_ENV,
    Trust,
    endpoint_allowed,
    env_list,
    tracking_uri_allowed,
)

APP_ROOT = Path(__file__).resolve().parent.parent  # the repository the app runs from
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
    """One folder per server process for uploads, removed at exit. Each session has its own folder inside
    (`components.uploads`); the root is never one of the allowed server folders."""
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
    """Every server folder a path typed or linked may be in: the operator's and the demo workspace.

    Never the upload folder: an upload is reachable only from the session that made it.
    """
    dirs = [d for d in (*operator_dirs(), demo_dir().resolve()) if not (_UPLOAD_ROOT and _is_below(d, _UPLOAD_ROOT))]
    return list(dict.fromkeys(dirs))


def trusted_tracking_uris() -> list[str]:
    """The tracking stores the app offers: MODELGAP_TRUSTED_TRACKING_URIS, MLFLOW_TRACKING_URI, the demo's."""
    uris = env_list(TRUSTED_TRACKING_URIS_ENV)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        uris.append(env)
    from modelgap.demo import load_demo

    workspace = load_demo(demo_dir())
    if workspace is not None:
        uris.append(workspace.tracking_uri)
    return list(dict.fromkeys(uris))


def allowed_endpoints() -> list[str]:
    """The scoring endpoints the app may call: MODELGAP_ALLOWED_ENDPOINTS (none by default)."""
    return env_list(ALLOWED_ENDPOINTS_ENV)


def app_trust() -> Trust:
    """Which origins may supply code-bearing models in the app: the operator's folders (never the uploads,
    unless the operator turned pickle uploads on) and the offered tracking stores."""
    uploads = upload_root()
    registries = tuple(trusted_tracking_uris())
    if pickle_uploads_allowed():
        return Trust(code_dirs=(*allowed_dirs(), uploads), code_registries=registries)
    return Trust(code_dirs=tuple(allowed_dirs()), never_dirs=(uploads,), code_registries=registries)


def check_endpoint_url(url: str) -> None:
    """An endpoint typed or linked in the browser must be one the operator listed."""
    allowed = allowed_endpoints()
    if endpoint_allowed(url, allowed):
        return
    listed = ", ".join(allowed) if allowed else "none are configured"
    raise SourceError(
        f"The scoring endpoint {redact_uri(url)} is not one this server may call ({listed}).",
        f"Pick a listed endpoint, or ask the operator to add it to {ALLOWED_ENDPOINTS_ENV}.",
    )


def _is_below(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_allowed_path(path: str | Path, what: str = "Path") -> Path:
    """The resolved path (symlinks followed) if it is below an allowed folder, else a SourceError.

    Uploads are refused here even when an allowed folder holds the upload folder: only the session that made
    an upload may use it (`components.uploads.check_path`).
    """
    resolved = Path(path).expanduser().resolve()
    if is_upload(resolved):
        raise SourceError(
            f"{what} is a file uploaded to this server: uploads are private to the session that made them.",
            "Upload the file again in this session, or pick a file on the server.",
        )
    if any(_is_below(resolved, root) for root in allowed_dirs()):
        return resolved
    shown = ", ".join(str(d) for d in operator_dirs())
    raise SourceError(
        f"{what} {path} is outside the folders this server allows ({shown}).",
        f"Pick a file below them, upload it instead, or ask the operator to add its folder to {ALLOWED_DIRS_ENV}.",
    )


def check_tracking_uri(uri: str | None) -> None:
    """A tracking store typed or linked in the browser must be one the operator offers; a file-based one
    (sqlite:///, file:, a bare path) must also lie in an allowed folder."""
    if not uri:
        return
    offered = trusted_tracking_uris()
    if not tracking_uri_allowed(uri, offered):
        raise SourceError(
            f"The tracking URI {redact_uri(uri)} is not one this server offers "
            f"({', '.join(redact_uri(u) for u in offered) or 'none are configured'}).",
            f"Pick an offered registry, or ask the operator to add it to {TRUSTED_TRACKING_URIS_ENV}.",
        )
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
