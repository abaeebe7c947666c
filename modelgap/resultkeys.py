"""Keys of the result cache (`modelgap.resultcache`): what a comparison's result depends on, as one hash.

The key covers the request's sources and options, the sources' fingerprints (size and mtime of local model files
and folders, of the `.dvc` records next to them, of the data and policy files, and of a sqlite registry's
database, so an edited model or data file, a re-registered version or a moved alias misses) and the code version
(modelgap's own sources by content, Python's and the model libraries' versions). A request that must not be
cached has no key: a model from an origin the caller does not trust, a private upload, a scoring endpoint (live,
and it carries credentials), a git revision (it may move), data that is not a local file, a registry other than
a sqlite file (where an alias points is not known without asking the server).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from modelgap.request import ComparisonRequest

__all__ = ["FORMAT", "code_version", "path_fingerprint", "request_key"]

FORMAT = 2  # the cache's file layout and key recipe; a new one is a new number (2: models stored apart)
MAX_FINGERPRINT_FILES = 2000
_LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "xgboost", "lightgbm", "shap", "mlflow", "cloudpickle")


def path_fingerprint(path: str | Path) -> str:
    """size/mtime of a file, or of every file of a folder (the first 2000, in order): "missing", "unreadable"."""
    p = Path(path).expanduser()
    try:
        if p.is_file():
            st = p.stat()
            return f"{st.st_size}:{st.st_mtime_ns}"
        if p.is_dir():
            digest = hashlib.sha256()
            for i, file in enumerate(sorted(f for f in p.rglob("*") if f.is_file())):
                if i >= MAX_FINGERPRINT_FILES:
                    break
                st = file.stat()
                digest.update(f"{file.relative_to(p)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
            return digest.hexdigest()[:16]
    except OSError:
        return "unreadable"
    return "missing"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """modelgap's own sources (by content), Python's version and the libraries a pickled result depends on."""
    from importlib import metadata

    digest = hashlib.sha256(f"format={FORMAT};python={sys.version}".encode())
    root = Path(__file__).resolve().parent
    for file in sorted(root.rglob("*.py")):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none;".encode())
    return digest.hexdigest()[:24]


def _canonical(value: Any) -> Any:
    """A JSON-able form of options (dataclasses, dicts, paths); the trust policy and callables left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _canonical(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "trust" and not callable(getattr(value, f.name))
        }
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_canonical(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    return f"{type(value).__name__}:{value}"


def _is_private(path: Path, private: Iterable[Path]) -> bool:
    resolved = path.expanduser().resolve()
    return any(resolved == Path(d).resolve() or Path(d).resolve() in resolved.parents for d in private)


def _registry_identity(uri: str) -> str | None:
    """A sqlite registry's database file (any write moves it: a new version, a moved alias); None for other
    stores, whose answer is not known without asking them."""
    if urlsplit(uri).scheme != "sqlite" or "sqlite:///" not in uri:
        return None
    db = Path(uri.split("sqlite:///", 1)[1]).expanduser()
    if not db.is_file():
        return None
    extra = [path_fingerprint(Path(f"{db}{s}")) for s in ("-wal", "-journal")]
    return f"{db.resolve()}:{path_fingerprint(db)}:{':'.join(extra)}"


def _model_identity(request: ComparisonRequest, source: str, private: list[Path]) -> dict[str, str] | None:
    from modelgap.sources import source_kind
    from modelgap.sources.tracking import resolve_tracking_uri

    kind = source_kind(source)
    trust = request.trust
    if kind == "local":
        path = Path(source).expanduser()
        if not path.exists() or _is_private(path, private) or not trust.local_may_run_code(path):
            return None
        resolved = path.resolve()
        folder = resolved if resolved.is_dir() else resolved.parent
        records = sorted({*folder.glob("*.dvc"), *folder.parent.glob("*.dvc")})
        return {
            "path": str(resolved),
            "files": path_fingerprint(resolved),
            "dvc": ";".join(f"{r}:{path_fingerprint(r)}" for r in records),
        }
    if kind in ("registry", "run"):
        try:
            uri = resolve_tracking_uri(request.tracking_uri)
        except Exception:  # noqa: BLE001 - no tracking URI: the comparison fails anyway, nothing to cache
            return None
        registry = _registry_identity(uri)
        if registry is None or not trust.registry_may_run_code(uri):
            return None
        return {"source": source, "registry": registry}
    return None  # an endpoint is live and carries credentials; a git revision may move


def request_key(request: ComparisonRequest, *, private: Iterable[Path] = ()) -> str | None:
    """The cache key of `request`, or None when it must not be cached: a model from an origin `request.trust`
    does not trust, a path below `private` or the trust's never-trusted folders (a session's uploads), an
    endpoint or git source, data that is not a local file, a registry other than a sqlite file."""
    hidden = [*request.trust.never_dirs, *private]
    parts: dict[str, Any] = {"format": FORMAT, "code": code_version()}
    for side, source in (("repo", request.repo), ("deployed", request.deployed)):
        identity = _model_identity(request, source, hidden)
        if identity is None:
            return None
        parts[side] = identity
    for name in ("data_path", "repo_training_data", "deployed_training_data", "deployed_meta"):
        value = getattr(request, name)
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_file() or _is_private(path, hidden):
            return None
        parts[name] = f"{path.resolve()}:{path_fingerprint(path)}"
    options = request.resolved_options()
    parts["options"] = _canonical(options)
    policy = getattr(options, "policy_path", None) or "modelgap.toml"  # readiness reads ./modelgap.toml
    parts["policy"] = f"{Path(policy).absolute()}:{path_fingerprint(policy)}"
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
