"""Who may choose what: the operator's lists, and which origins may supply a model whose loading runs code.

Models are code. A pickle, a `loader_module`, a flavor's `code/` folder or an imported `model_class` runs
when the model loads, so such a model loads only from an origin the operator allowed (`Trust`). The CLI
trusts what its user names (their own files and registries) and says once on stderr that a source runs
code; the app trusts only the operator's folders (`MODELGAP_ALLOWED_DIRS`, never the upload folder) and
registries (`MODELGAP_TRUSTED_TRACKING_URIS`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "ALLOWED_DIRS_ENV",
    "ALLOWED_ENDPOINTS_ENV",
    "TRUSTED_TRACKING_URIS_ENV",
    "Trust",
    "endpoint_allowed",
    "env_list",
    "is_below",
    "same_tracking_uri",
    "tracking_uri_allowed",
]

ALLOWED_DIRS_ENV = "MODELGAP_ALLOWED_DIRS"
TRUSTED_TRACKING_URIS_ENV = "MODELGAP_TRUSTED_TRACKING_URIS"
ALLOWED_ENDPOINTS_ENV = "MODELGAP_ALLOWED_ENDPOINTS"


def env_list(name: str) -> list[str]:
    """A list setting: entries separated by commas, semicolons or white space (URIs hold colons)."""
    return [item for item in re.split(r"[,;\s]+", os.environ.get(name, "")) if item]


def is_below(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _normal_uri(uri: str) -> str:
    """One spelling per tracking store: sqlite/file paths resolved, URLs without userinfo or trailing slash."""
    text = uri.strip()
    parts = urlsplit(text)
    if parts.scheme == "sqlite" and "sqlite:///" in text:
        return "sqlite:///" + str(Path(text.split("sqlite:///", 1)[1]).expanduser().resolve())
    if parts.scheme == "file":
        return "file://" + str(Path(parts.path).expanduser().resolve())
    if parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.scheme}://{host}:{port}{parts.path.rstrip('/')}"
    if not parts.scheme:
        return "file://" + str(Path(text).expanduser().resolve())
    return text.rstrip("/")


def same_tracking_uri(a: str, b: str) -> bool:
    return _normal_uri(a) == _normal_uri(b)


def tracking_uri_allowed(uri: str, allowed: Iterable[str]) -> bool:
    """Is `uri` one of `allowed` (compared after normalising paths, hosts and default ports)?"""
    want = _normal_uri(uri)
    return any(_normal_uri(a) == want for a in allowed if a)


def _endpoint_parts(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url.strip())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def endpoint_allowed(url: str, allowed: Iterable[str]) -> bool:
    """Is the endpoint `url` listed? An entry without a path allows every path on its scheme, host and port."""
    try:
        scheme, host, port, path = _endpoint_parts(url)
    except ValueError:
        return False
    for entry in allowed:
        try:
            e_scheme, e_host, e_port, e_path = _endpoint_parts(entry)
        except ValueError:
            continue
        if (scheme, host, port) != (e_scheme, e_host, e_port):
            continue
        if not e_path or e_path == path:
            return True
    return False


@dataclass(frozen=True)
class Trust:
    """Which origins may supply a model whose loading runs code.

    `code_dirs` None means any local path (the CLI user's own files); `code_registries` None means any
    tracking store the user names. `never_dirs` (the app's upload folders) are never trusted, even when
    they lie below a trusted folder. `notice` is told, once per source, that a trusted source runs code.
    """

    code_dirs: tuple[Path, ...] | None = None
    never_dirs: tuple[Path, ...] = ()
    code_registries: tuple[str, ...] | None = None
    notice: Callable[[str], None] | None = field(default=None, compare=False)

    @classmethod
    def cli(cls, notice: Callable[[str], None] | None = None) -> Trust:
        """The CLI: its user names their own files and registries."""
        return cls(notice=notice)

    @classmethod
    def nothing(cls) -> Trust:
        """No origin may run code: only the safe data formats load (skops, xgboost json/ubj, lightgbm text)."""
        return cls(code_dirs=(), code_registries=())

    def key(self) -> str:
        """A small string naming this policy (for cache keys)."""
        dirs = "*" if self.code_dirs is None else os.pathsep.join(map(str, self.code_dirs))
        regs = "*" if self.code_registries is None else " ".join(self.code_registries)
        return f"{dirs}|{os.pathsep.join(map(str, self.never_dirs))}|{regs}"

    def local_may_run_code(self, path: Path) -> bool:
        resolved = Path(path).expanduser().resolve()
        if any(is_below(resolved, Path(d).resolve()) for d in self.never_dirs):
            return False
        if self.code_dirs is None:
            return True
        return any(is_below(resolved, Path(d).resolve()) for d in self.code_dirs)

    def registry_may_run_code(self, uri: str) -> bool:
        if self.code_registries is None:
            return True
        return tracking_uri_allowed(uri, self.code_registries)

    def tell(self, message: str) -> None:
        if self.notice is not None:
            self.notice(message)
