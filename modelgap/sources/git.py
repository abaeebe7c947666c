"""`git:<rev>:<path>` sources: a model file or MLflow model directory as it was at a revision.

Read with git's plumbing (`rev-parse`, `cat-file`, `ls-tree`, `log`) into a private temp folder: the
working tree, the index and HEAD are never touched. The repository is the one holding the current
directory, or MODELGAP_GIT_REPO, or `repo_dir`. `list_revisions` feeds the app's revision picker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from modelgap.errors import SourceError
from modelgap.model import LoadedModel
from modelgap.sources.files import LFS_POINTER_PREFIX, check_readable_file
from modelgap.sources.origins import Trust
from modelgap.sources.refs import GitRevisionSource, parse_git_source
from modelgap.values import one_line

__all__ = ["GitRevisionSource", "RevisionInfo", "list_revisions", "load_git", "parse_git_source"]

REPO_ENV = "MODELGAP_GIT_REPO"
GIT_TIMEOUT_S = 60.0
_FIELD, _RECORD = "\x1f", "\x1e"
_LOG_FORMAT = _FIELD.join(["%H", "%h", "%an", "%ae", "%aI", "%s", "%D"]) + _RECORD
_ROOT: Path | None = None


@dataclass(frozen=True)
class RevisionInfo:
    """One commit that changed a path: enough for a picker's label and for the metadata."""

    sha: str
    short_sha: str
    author: str
    email: str
    date: str  # ISO 8601, the author date
    subject: str
    refs: str = ""  # branch and tag names pointing at it ("HEAD -> main, tag: v1")

    def source_for(self, path: str) -> str:
        return f"git:{self.short_sha}:{path}"

    @property
    def label(self) -> str:
        refs = f" ({self.refs})" if self.refs else ""
        return f"{self.short_sha} {self.date[:10]} {self.subject}{refs}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_git(
    source: str, *, tracking_uri: str | None = None, trust: Trust | None = None, repo_dir: str | Path | None = None
) -> LoadedModel:
    """Load the model at `git:<rev>:<path>`; metadata.git records the revision. `tracking_uri` is not used."""
    from modelgap.sources.files import load_local

    spec = parse_git_source(source)
    root = repo_root(repo_dir)
    info = _revision(root, spec.rev)
    path = _resolve_path(root, info.sha, spec)
    where = f"at revision {spec.rev} ({info.short_sha})"
    label = f"{path} {where}"
    kind = _object_type(root, f"{info.sha}:{path}")
    dst = Path(tempfile.mkdtemp(prefix="git-", dir=_export_root()))
    local = dst / PurePosixPath(path).name
    if kind == "blob":
        local.write_bytes(_git_bytes(root, "cat-file", "blob", f"{info.sha}:{path}"))
    elif kind == "tree":
        _export_tree(root, info.sha, path, local, where)
    else:
        raise SourceError(f"{label} is a {kind}, not a model file or directory.", "Point at a file or a directory.")
    try:
        check_readable_file(local)
    except SourceError as err:
        raise _relabel(err, local, label, info.sha, path) from err
    try:
        # The file comes from the repository's history: it may run code when the repository's folder may.
        trust = trust or Trust.cli()
        model: LoadedModel = load_local(local, source, may_run_code=trust.local_may_run_code(root), trust=trust)
    except SourceError as err:
        raise _relabel(err, local, label, info.sha, path) from err
    model.metadata.location = f"git:{info.sha}:{path}"
    model.metadata.git = {
        "revision": spec.rev,
        "sha": info.sha,
        "short_sha": info.short_sha,
        "author": info.author,
        "author_email": info.email,
        "date": info.date,
        "message": info.subject,
        "refs": info.refs,
        "path": path,
        "repository": str(root),
    }
    return model


def list_revisions(path: str, repo_dir: str | Path | None = None, limit: int = 50) -> list[RevisionInfo]:
    """The commits that changed `path` (file or directory), newest first, at most `limit`."""
    root = repo_root(repo_dir)
    rel = str(PurePosixPath(path.strip().lstrip("/")))
    out = _git_text(root, "log", f"-n{max(1, int(limit))}", f"--format={_LOG_FORMAT}", "HEAD", "--", rel)
    return [_revision_info(rec) for rec in out.split(_RECORD) if rec.strip()]


def repo_root(repo_dir: str | Path | None = None) -> Path:
    """The top folder of the git repository holding `repo_dir` (else MODELGAP_GIT_REPO, else the cwd)."""
    start = Path(repo_dir or os.environ.get(REPO_ENV) or Path.cwd()).expanduser()
    if not start.is_dir():
        raise SourceError(f"{start} is not a folder, so it holds no git repository.", f"Check {REPO_ENV} or the path.")
    try:
        top = _run(start, "rev-parse", "--show-toplevel")
    except SourceError as err:
        raise SourceError(
            f"{start} is not inside a git repository, so git:<rev>:<path> cannot be read ({err.problem})",
            f"Run modelgap from your repository, or set {REPO_ENV} to it.",
        ) from err
    return Path(top.stdout.decode().strip())


def _revision(root: Path, rev: str) -> RevisionInfo:
    found = _run(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if found.returncode != 0:
        shallow = _run(root, "rev-parse", "--is-shallow-repository", check=False).stdout.decode().strip() == "true"
        raise SourceError(
            f"Unknown git revision {rev!r} in {root}.",
            "This is a shallow clone: run `git fetch --unshallow`."
            if shallow
            else "Use a branch, tag, SHA or HEAD~N (`git log --oneline` lists them).",
        )
    sha = found.stdout.decode().strip()
    return _revision_info(_git_text(root, "show", "-s", f"--format={_LOG_FORMAT}", sha))


def _revision_info(record: str) -> RevisionInfo:
    parts = record.strip("\n" + _RECORD).split(_FIELD)
    parts += [""] * (7 - len(parts))
    return RevisionInfo(*[p.strip() for p in parts[:7]])


def _resolve_path(root: Path, sha: str, spec: GitRevisionSource) -> str:
    """The path from the repository root; a path relative to the current subfolder works too."""
    if _object_type(root, f"{sha}:{spec.path}") != "missing":
        return spec.path
    try:
        prefix = _run(Path.cwd(), "rev-parse", "--show-prefix", check=False).stdout.decode().strip()
        in_same_repo = Path(_run(Path.cwd(), "rev-parse", "--show-toplevel").stdout.decode().strip()) == root
    except SourceError:
        prefix, in_same_repo = "", False
    if prefix and in_same_repo:
        candidate = str(PurePosixPath(prefix) / spec.path)
        if _object_type(root, f"{sha}:{candidate}") != "missing":
            return candidate
    raise SourceError(
        f"No {spec.path} at revision {spec.rev} ({sha[:10]}) of {root}.",
        f"Paths are relative to the repository root; `git log --oneline -- {spec.path}` lists revisions that have it.",
    )


def _object_type(root: Path, spec: str) -> str:
    result = _run(root, "cat-file", "-t", spec, check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else "missing"


def _export_tree(root: Path, sha: str, path: str, dst: Path, where: str) -> None:
    """Write every file under `path` at `sha` into `dst` (symlinks and submodules are skipped)."""
    listing = _git_bytes(root, "ls-tree", "-r", "-z", "--full-tree", sha, "--", path)
    entries: list[tuple[str, str]] = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        meta, _, raw_name = item.partition(b"\t")
        mode, kind, obj = meta.decode().split()
        if kind == "blob" and mode != "120000":
            entries.append((obj, raw_name.decode("utf-8", errors="surrogateescape")))
    if not entries:
        raise SourceError(
            f"{path} {where} is an empty directory.", "Point at a model file or an MLflow model directory."
        )
    dst.mkdir(parents=True, exist_ok=True)
    base = PurePosixPath(path)
    for obj, name in entries:
        rel = PurePosixPath(name).relative_to(base)
        target = dst.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _git_bytes(root, "cat-file", "blob", obj)
        if data.startswith(LFS_POINTER_PREFIX):
            raise SourceError(
                f"{name} {where} is a Git LFS pointer, not the file itself.",
                _lfs_hint(sha, name),
            )
        target.write_bytes(data)


def _relabel(err: SourceError, local: Path, label: str, sha: str, path: str) -> SourceError:
    """The same error, naming the revision and path instead of our temp copy."""
    problem = err.problem.replace(str(local), label)
    return type(err)(problem, _lfs_hint(sha, path) if "LFS" in problem else err.hint)


def _lfs_hint(sha: str, path: str) -> str:
    name = PurePosixPath(path).name
    return (
        f"The file was committed through Git LFS: install git-lfs, run `git lfs fetch origin {sha[:10]}`, then "
        f"`git show {sha[:10]}:{path} | git lfs smudge > {name}` and load that copy."
    )


def _export_root() -> Path:
    """One temp folder per process, removed at exit: nothing is written inside the repository."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="modelgap-git-"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return _ROOT


def _git_text(root: Path, *args: str) -> str:
    return _run(root, *args).stdout.decode("utf-8", errors="replace")


def _git_bytes(root: Path, *args: str) -> bytes:
    return _run(root, *args).stdout


def _run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run a read-only git command. GIT_OPTIONAL_LOCKS=0: not even the index's stat cache is refreshed."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, env=env, timeout=GIT_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise SourceError("git is not installed, so git:<rev>:<path> cannot be read.", "Install git.") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"`git {args[0]}` took longer than {GIT_TIMEOUT_S:.0f} s.", "Check the repository.") from exc
    if check and result.returncode != 0:
        said = one_line(result.stderr.decode("utf-8", errors="replace"))
        raise SourceError(f"`git {args[0]}` failed: {said or 'no message'}.", "Check the repository and revision.")
    return result
