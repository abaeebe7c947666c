"""Source strings, parsed in one place: which form a model source has, and its parts.

`parse_source(text)` gives a `SourceRef` (kind, the stripped text, and the parts of a run, registry or git
source) or raises a SourceError that names the form to use. `load_model` dispatches on it, and the app's
pickers pre-fill their widgets from it, so both read a source string the same way. Nothing here touches a
file, a registry or the network: a reference is checked for form only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from modelgap.errors import SourceError

__all__ = [
    "GitRevisionSource",
    "ModelsUri",
    "RunUri",
    "SourceKind",
    "SourceRef",
    "parse_git_source",
    "parse_models_uri",
    "parse_run_uri",
    "parse_source",
    "source_kind",
]

SourceKind = Literal["local", "run", "registry", "endpoint", "git"]

FORMS_HINT = "Use a path, runs:/<run>/<path>, models:/<name>@<alias>, http(s)://host/invocations or git:<rev>:<path>."
ENDPOINT_HINT = "Use http(s)://host:port/invocations."
_RUN_URI = re.compile(r"runs:/([0-9a-zA-Z]+)/(.+)")
_LOGGED_MODEL = re.compile(r"m-[0-9a-f]+")
_STAGES = {"none", "staging", "production", "archived", "latest"}


@dataclass(frozen=True)
class RunUri:
    """`runs:/<run_id>/<artifact_path>`."""

    run_id: str
    artifact_path: str


@dataclass(frozen=True)
class ModelsUri:
    """`models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/<stage>` or `models:/m-<id>`."""

    name: str
    version: str | None = None
    alias: str | None = None
    stage: str | None = None
    logged_model_id: str | None = None

    @property
    def reference(self) -> str:
        """What follows the name: `@alias`, the version number or the stage ("" for a logged model)."""
        return f"@{self.alias}" if self.alias else (self.version or self.stage or "")


@dataclass(frozen=True)
class GitRevisionSource:
    """`git:<rev>:<path>`: a model file or MLflow model folder as it was at a revision."""

    rev: str
    path: str


@dataclass(frozen=True)
class SourceRef:
    """A source string's form and parts. `text` is the stripped string (an endpoint's URL, a local path)."""

    kind: SourceKind
    text: str
    run: RunUri | None = None  # kind "run"
    registry: ModelsUri | None = None  # kind "registry"
    git: GitRevisionSource | None = None  # kind "git"


def source_kind(source: str) -> str:
    """Which form a source string has, by its prefix only: local, run, registry, endpoint, git or unknown
    (another scheme://). Never raises; `parse_source` also checks the parts."""
    s = source.strip()
    if s.startswith("runs:/"):
        return "run"
    if s.startswith("models:/"):
        return "registry"
    if s.startswith(("http://", "https://")):
        return "endpoint"
    if s.startswith("git:"):
        return "git"
    if "://" in s:
        return "unknown"
    return "local"


def parse_source(source: str) -> SourceRef:
    """The form and parts of `source`; SourceError for an empty string, an unknown scheme or malformed parts."""
    text = (source or "").strip()
    if not text:
        raise SourceError(
            "The model source is empty.", "Give a path, runs:/..., models:/..., a URL or git:<rev>:<path>."
        )
    kind = source_kind(text)
    if kind == "run":
        return SourceRef("run", text, run=parse_run_uri(text))
    if kind == "registry":
        return SourceRef("registry", text, registry=parse_models_uri(text))
    if kind == "git":
        return SourceRef("git", text, git=parse_git_source(text))
    if kind == "endpoint":
        _check_endpoint(text)
        return SourceRef("endpoint", text)
    if kind == "unknown":
        raise SourceError(f"Unknown model source form {text!r}.", FORMS_HINT)
    return SourceRef("local", text)


def parse_run_uri(source: str) -> RunUri:
    m = _RUN_URI.fullmatch(source.strip())
    if m is None:
        raise SourceError(f"Cannot parse run URI {source!r}.", "Use runs:/<run_id>/<artifact path>.")
    return RunUri(run_id=m.group(1), artifact_path=m.group(2))


def parse_models_uri(source: str) -> ModelsUri:
    body = source.strip()[len("models:/") :].strip("/")
    if _LOGGED_MODEL.fullmatch(body):
        return ModelsUri(name="", logged_model_id=body)
    if "@" in body:
        name, _, alias = body.partition("@")
        if name and alias and "/" not in alias:
            return ModelsUri(name=name, alias=alias)
    elif "/" in body:
        name, _, ref = body.rpartition("/")
        if name and ref.isdigit():
            return ModelsUri(name=name, version=ref)
        if name and ref.lower() in _STAGES:
            return ModelsUri(name=name, stage=ref)
    raise SourceError(
        f"Cannot parse model URI {source!r}.",
        "Use models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage> or models:/m-<id>.",
    )


def parse_git_source(source: str) -> GitRevisionSource:
    body = source.strip()[len("git:") :]
    rev, sep, path = body.partition(":")
    path = path.strip().lstrip("/")
    if not sep or not rev.strip() or not path:
        raise SourceError(
            f"Cannot parse git source {source!r}.", "Use git:<revision>:<path>, e.g. git:HEAD~1:model.skops."
        )
    rev = rev.strip()
    if rev.startswith("-"):
        raise SourceError(f"{rev!r} is not a git revision.", "Use a branch, tag, SHA or HEAD~N.")
    return GitRevisionSource(rev, str(PurePosixPath(path)))


def _check_endpoint(url: str) -> None:
    """An endpoint URL needs a host (and a numeric port if it names one); the server is asked nothing here."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises ValueError for a port that is not a number
    except ValueError as err:
        raise SourceError(f"Cannot parse endpoint URL {url!r} ({err}).", ENDPOINT_HINT) from err
    if not host:
        raise SourceError(f"The endpoint URL {url!r} names no host.", ENDPOINT_HINT)
