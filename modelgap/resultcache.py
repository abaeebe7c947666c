"""A disk cache of comparison results, so a restarted app (or one that `make demo` prepared) opens at once.

One file per comparison under `.modelgap/cache/` (`MODELGAP_CACHE_DIR` moves it), named by the request's key
(`modelgap.resultkeys`: sources, their fingerprints, options, code version); a changed model or data file
misses. The training files the data section found by lineage are checked again on every read.

Results are pickles (`modelgap.storedmodels`: the models' prediction functions and estimators apart, unpickled
only when a view uses them, so the Overview is drawn without importing the model libraries), and unpickling
runs code: every file is signed (HMAC-SHA256) with a random key kept in the
cache folder with mode 0600, and a file whose signature does not match is never unpickled. Only requests with a
key are stored (models from trusted origins; never an upload or an endpoint), and a payload holding a
configured secret or a URL with a password is not stored. A corrupt file, or one written by another version, is
ignored and rewritten; an unwritable folder or a full disk turns the cache off for the process with one log
line. At most `MAX_ENTRIES` files and `MAX_BYTES` in all are kept, the least recently used removed first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgap import storedmodels
from modelgap.resultkeys import code_version, path_fingerprint, request_key

if TYPE_CHECKING:
    from modelgap.comparison import Comparison
    from modelgap.request import ComparisonRequest

__all__ = [
    "CACHE_DIR_ENV",
    "ResultCache",
    "cache_dir",
    "default_cache",
    "forget_result",
    "load_result",
    "save_result",
]

LOG = logging.getLogger("modelgap.cache")
CACHE_DIR_ENV = "MODELGAP_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".modelgap" / "cache"
MAX_ENTRIES = 24
MAX_BYTES = 512 * 1024 * 1024
MAGIC = b"MODELGAP-RESULT\n"
SUFFIX = ".result"
KEY_FILE = "signing.key"
KEY_BYTES = 32
SIG_BYTES = 32  # HMAC-SHA256
_EXTRA_SECRETS = ("MLFLOW_TRACKING_USERNAME", "MODELGAP_ENDPOINT_USERNAME", "AWS_SECRET_ACCESS_KEY")
_USERINFO = re.compile(rb"(?i)\b[a-z][a-z0-9+.-]*://[^/\s@'\"<>:]+:[^/\s@'\"<>]+@")


def cache_dir() -> Path:
    """Where results are kept: MODELGAP_CACHE_DIR, else .modelgap/cache next to the demo workspace."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).expanduser().absolute() if configured else DEFAULT_CACHE_DIR


def _training_files(comparison: Comparison) -> dict[str, str]:
    """The training files the data section read (found by lineage, not named in the request): checked on read."""
    out: dict[str, str] = {}
    lineage = getattr(comparison.sections.get("data"), "lineage", None) or {}
    for side in lineage.values():
        for ref in getattr(side, "datasets", []):
            for path in (getattr(ref, "path", None), getattr(ref, "readable_path", None)):
                if path and "://" not in str(path):
                    out[str(path)] = path_fingerprint(path)
    return out


# ------------------------------------------------------------------ the cache


class ResultCache:
    """Signed comparison results in one folder; every failure means "not cached", never an exception."""

    def __init__(self, directory: Path | str, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.directory = Path(directory)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.disabled: str | None = None  # why the cache is off for this process (logged once)
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _off(self, what: str, exc: OSError | str) -> None:
        if self.disabled is None:
            reason = exc if isinstance(exc, str) else (exc.strerror or type(exc).__name__)
            self.disabled = f"{what}: {reason}"
            LOG.warning("Result cache off (%s, %s); comparisons are computed afresh.", self.directory, self.disabled)

    def _signing_key(self) -> bytes | None:
        """The folder's random key (created 0600); None, and the cache off, when it is unsafe or unwritable."""
        if self._key is not None or self.disabled:
            return self._key
        path = self.directory / KEY_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                with os.fdopen(fd, "rb") as f:
                    st = os.fstat(f.fileno())
                    if st.st_mode & 0o077 or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
                        self._off("signing key", f"{path} is readable by others or not ours")
                        return None
                    key = f.read(KEY_BYTES + 1)
                if len(key) == KEY_BYTES:
                    self._key = key
                    return key
                if not key and time.time() - st.st_mtime < 2:
                    time.sleep(0.05)  # another process has just created it and is writing it
                    return self._signing_key()
                path.unlink()  # a damaged key: every file signed with it is refused; start again
                return self._signing_key()
            key = secrets.token_bytes(KEY_BYTES)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
        except OSError as exc:
            self._off("cannot write", exc)
            return None
        self._key = key
        return key

    def _file(self, key: str) -> Path:
        return self.directory / f"{key[:40]}{SUFFIX}"

    def get(self, key: str) -> Comparison | None:
        """The stored comparison for `key` if a file signed with this folder's key holds it; else None."""
        from modelgap.comparison import Comparison

        path = self._file(key)
        if self.disabled or not path.is_file():
            return None
        signing = self._signing_key()
        if signing is None:
            return None
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        header, payload = self._verified(blob, signing)
        if header is None or payload is None:
            LOG.warning("Ignored result file %s: not signed by this cache (or damaged); it will be rewritten.", path)
            self._drop(path)
            return None
        if header.get("key") != key or header.get("code") != code_version():
            return None  # another version's file: rewritten on the next store
        depends = header.get("depends") or {}
        if any(path_fingerprint(p) != fp for p, fp in depends.items()):
            return None  # a training file the data section read has changed
        try:
            value = storedmodels.loads(payload)  # signed with this folder's own key (checked above)
        except Exception:  # noqa: BLE001 - a damaged or incompatible pickle: ignored and rewritten
            LOG.warning("Ignored result file %s: it could not be read; it will be rewritten.", path)
            self._drop(path)
            return None
        if not isinstance(value, Comparison):
            self._drop(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return value

    @staticmethod
    def _verified(blob: bytes, signing: bytes) -> tuple[dict[str, Any] | None, bytes | None]:
        """(header, payload) when the magic and the signature match, else (None, None); nothing unpickled."""
        start = len(MAGIC) + SIG_BYTES + 4
        if len(blob) < start or not blob.startswith(MAGIC):
            return None, None
        signature = blob[len(MAGIC) : len(MAGIC) + SIG_BYTES]
        body = blob[len(MAGIC) + SIG_BYTES :]
        if not hmac.compare_digest(signature, hmac.new(signing, body, hashlib.sha256).digest()):
            return None, None
        size = int.from_bytes(blob[start - 4 : start], "big")
        try:
            header = json.loads(blob[start : start + size])
        except ValueError:
            return None, None
        return (header, blob[start + size :]) if isinstance(header, dict) else (None, None)

    @staticmethod
    def _drop(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()

    def drop(self, key: str) -> None:
        """Forget the result stored under `key` (the app's Reload)."""
        self._drop(self._file(key))

    def put(self, key: str, comparison: Comparison) -> bool:
        """Store `comparison` under `key` (signed); False when it was not stored (and why is logged once)."""
        if self.disabled or getattr(comparison, "data", None) is not None:  # a caller's frame (an upload)
            return False
        payload = _payload(comparison)
        if payload is None or len(payload) > self.max_bytes:
            return False
        signing = self._signing_key()
        if signing is None:
            return False
        header = json.dumps({"key": key, "code": code_version(), "depends": _training_files(comparison)}).encode()
        body = len(header).to_bytes(4, "big") + header + payload
        blob = MAGIC + hmac.new(signing, body, hashlib.sha256).digest() + body
        with self._lock:
            tmp: str | None = None
            try:
                fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=SUFFIX)
                with os.fdopen(fd, "wb") as f:
                    f.write(blob)
                Path(tmp).replace(self._file(key))
                tmp = None
            except OSError as exc:
                self._off("cannot write", exc)
                return False
            finally:
                if tmp is not None:
                    self._drop(Path(tmp))
            self._evict()
        return True

    def _evict(self) -> None:
        """Keep the most recently used files within max_entries and max_bytes; leftovers of crashed writes go."""
        now = time.time()
        files = []
        for path in self.directory.iterdir():
            try:
                st = path.stat()
            except OSError:
                continue
            if path.name.startswith(".tmp-") and now - st.st_mtime > 3600:
                self._drop(path)
            elif path.suffix == SUFFIX and not path.name.startswith(".tmp-"):
                files.append((st.st_mtime, st.st_size, path))
        total = 0
        for i, (_mtime, size, path) in enumerate(sorted(files, key=lambda f: f[0], reverse=True)):
            total += size
            if i >= self.max_entries or total > self.max_bytes:
                self._drop(path)


def _payload(comparison: Comparison) -> bytes | None:
    """The pickled comparison (its trust policy left out), or None when it cannot be pickled or holds a
    credential: a configured secret's value, or a URL with a user and password."""
    try:
        import cloudpickle  # the models' predict functions are closures: plain pickle cannot store them
    except ImportError:  # pragma: no cover - a dependency of mlflow
        return None
    from modelgap.redact import SECRET_ENVS

    stored = dataclasses.replace(comparison, options=dataclasses.replace(comparison.options, trust=None))
    try:
        payload = storedmodels.dumps(stored, cloudpickle.CloudPickler)  # models apart: read when first used
    except Exception as exc:  # noqa: BLE001 - something unpicklable (a lock, a connection): not cached
        LOG.info("Comparison not cached: it cannot be pickled (%s).", type(exc).__name__)
        return None
    for name in (*SECRET_ENVS, *_EXTRA_SECRETS):
        value = os.environ.get(name)
        if value and len(value) >= 4 and value.encode() in payload:
            LOG.info("Comparison not cached: it holds the value of %s.", name)
            return None
    if _USERINFO.search(payload):
        LOG.info("Comparison not cached: it holds a URL with credentials.")
        return None
    return payload


_DEFAULTS: dict[Path, ResultCache] = {}
_DEFAULTS_LOCK = threading.Lock()


def default_cache() -> ResultCache:
    """The process's cache for `cache_dir()` (one object per folder, so "off" is said once)."""
    directory = cache_dir()
    with _DEFAULTS_LOCK:
        if directory not in _DEFAULTS:
            _DEFAULTS[directory] = ResultCache(directory)
        return _DEFAULTS[directory]


def _key(request: ComparisonRequest, private: Iterable[Path]) -> str | None:
    try:
        return request_key(request, private=private)
    except (OSError, ValueError, RuntimeError) as exc:  # an odd path (a symlink loop): not cached, never a crash
        LOG.info("Comparison not cached: %s", type(exc).__name__)
        return None


def load_result(
    request: ComparisonRequest, *, private: Iterable[Path] = (), cache: ResultCache | None = None
) -> tuple[str | None, Comparison | None]:
    """(key, stored comparison or None); the key is None when `request` must not be cached (`request_key`).
    A stored comparison gets the caller's trust policy back (it is never stored)."""
    key = _key(request, private)
    if key is None:
        return None, None
    found = (cache or default_cache()).get(key)
    if found is None:
        return key, None
    return key, dataclasses.replace(found, options=dataclasses.replace(found.options, trust=request.trust))


def save_result(
    key: str | None,
    request: ComparisonRequest,
    comparison: Comparison,
    *,
    private: Iterable[Path] = (),
    cache: ResultCache | None = None,
) -> bool:
    """Store `comparison` under `key` unless a source changed while it was computed (the key is re-derived)."""
    if key is None or _key(request, private) != key:
        return False
    return (cache or default_cache()).put(key, comparison)


def forget_result(
    request: ComparisonRequest, *, private: Iterable[Path] = (), cache: ResultCache | None = None
) -> None:
    """Remove the stored result of `request`, if any: the next look computes it from its sources again."""
    key = _key(request, private)
    if key is not None:
        (cache or default_cache()).drop(key)
