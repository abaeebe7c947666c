"""DVC-tracked datasets next to a model: read the `.dvc` files' recorded outputs (md5 and path); no DVC install.

Looked for in the model's directory (the model directory itself for an MLflow model, the file's folder
otherwise) and its parent. For a `git:<rev>:<path>` model the `.dvc` files are read as they were at that
revision. A recorded file is compared only when its bytes can be found with the recorded MD5: the file in the
working tree when it still matches, else the DVC cache of the repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from modelgap.data.fingerprint import file_md5
from modelgap.data.refs import DatasetRef
from modelgap.model import LoadedModel

GIT_TIMEOUT_S = 10.0


def dvc_refs(model: LoadedModel) -> tuple[list[DatasetRef], list[str]]:
    """(datasets recorded by .dvc files next to the model, notes). Local and git models only."""
    source = model.source.strip()
    if source.startswith("git:"):
        return _git_refs(model, source)
    if "://" in source or source.startswith(("runs:/", "models:/")):
        return [], []
    path = Path(source).expanduser()
    if not path.exists():
        return [], []
    path = path.resolve()
    folder = path if path.is_dir() else path.parent
    refs: list[DatasetRef] = []
    notes: list[str] = []
    for directory in dict.fromkeys((folder, folder.parent)):
        for dvc_file in sorted(directory.glob("*.dvc")):
            try:
                text = dvc_file.read_text()
            except OSError as exc:
                notes.append(f"Could not read {dvc_file} ({exc.strerror}).")
                continue
            refs += _outs(text, dvc_file.name, base=dvc_file.parent, model_path=path, notes=notes)
    return refs, notes


def _outs(text: str, name: str, *, base: Path, model_path: Path, notes: list[str]) -> list[DatasetRef]:
    """DatasetRefs for the outputs one .dvc file records; `base` is its folder in the working tree."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        notes.append(f"{name} is not valid YAML ({type(exc).__name__}); ignored.")
        return []
    outs = doc.get("outs") if isinstance(doc, dict) else None
    if not isinstance(outs, list):
        notes.append(f"{name} records no outputs (outs:); ignored.")
        return []
    refs = []
    for out in outs:
        if not isinstance(out, dict) or not isinstance(out.get("path"), str):
            continue
        target = (base / out["path"]).resolve()
        if target == model_path or target in model_path.parents or model_path in target.parents:
            continue  # the model itself (or its folder) tracked by DVC, not a dataset
        refs.append(_ref(out, target, name))
    return refs


def _ref(out: dict[str, Any], target: Path, dvc_name: str) -> DatasetRef:
    md5 = out.get("md5") or (out.get("etag") if out.get("hash") == "md5" else None)
    ref = DatasetRef(
        origin="dvc",
        name=str(out["path"]),
        md5=str(md5) if md5 else None,
        source_type="dvc",
        uri=f"{dvc_name}: {out['path']}",
        path=str(target),
    )
    if isinstance(out.get("size"), int):
        ref.profile = {"size_bytes": out["size"]}
    if ref.md5 is None:
        ref.notes.append(f"{dvc_name} records no md5 for {out['path']}: its content cannot be identified.")
        return ref
    if ref.md5.endswith(".dir"):
        ref.notes.append(f"{out['path']} is a DVC-tracked folder: its files are not compared.")
        return ref
    if target.is_file():
        if file_md5(target) == ref.md5:
            ref.readable_path = str(target)
            return ref
        ref.notes.append(
            f"The file at {target} is not the version {dvc_name} records (md5 differs); `dvc checkout` restores it."
        )
    cached = _cache_entry(target, ref.md5)
    if cached is not None:
        ref.readable_path = str(cached)
        ref.notes.append(f"Rows read from the DVC cache ({cached}).")
    elif not target.exists():
        ref.notes.append(f"{target} is not on this machine (`dvc pull` fetches it): its rows cannot be compared.")
    return ref


def _cache_entry(target: Path, md5: str) -> Path | None:
    """The DVC cache file for `md5` in the repository around `target` (DVC 3 and DVC 2 layouts)."""
    for folder in (target.parent, *target.parent.parents):
        cache = folder / ".dvc" / "cache"
        if cache.is_dir():
            for entry in (cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]):
                if entry.is_file():
                    return entry
            return None
    return None


# ---------------------------------------------------------------- git:<rev>:<path>


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_root(model: LoadedModel) -> Path | None:
    """The repository the git loader read the model from, else the one around the cwd (or MODELGAP_GIT_REPO)."""
    recorded = model.metadata.git.get("repository")
    if isinstance(recorded, str) and Path(recorded).is_dir():
        return Path(recorded)
    from modelgap.errors import SourceError
    from modelgap.sources.git import repo_root

    try:
        return repo_root()
    except SourceError:
        return None


def _git_refs(model: LoadedModel, source: str) -> tuple[list[DatasetRef], list[str]]:
    parts = source[len("git:") :].split(":", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return [], []
    # the loader records the exact commit and the path from the repository root: prefer them to the source text
    rev = str(model.metadata.git.get("sha") or parts[0])
    rel = str(model.metadata.git.get("path") or parts[1]).strip("/")
    root = _git_root(model)
    if root is None:
        return [], ["The git repository of the model was not found: .dvc files not read."]
    kind = _git(root, "cat-file", "-t", f"{rev}:{rel}")
    if kind is None:
        return [], [f"{rel} does not exist at git revision {rev}: .dvc files not read."]
    model_rel = PurePosixPath(rel)
    folder = model_rel if kind.strip() == "tree" else model_rel.parent
    refs: list[DatasetRef] = []
    notes: list[str] = []
    folders = [folder] if str(folder) == "." else [folder, folder.parent]
    for directory in folders:
        prefix = "" if str(directory) == "." else f"{directory}/"
        listing = (
            _git(root, "ls-tree", "--name-only", rev, "--", prefix)
            if prefix
            else _git(root, "ls-tree", "--name-only", rev)
        )
        for entry in sorted((listing or "").splitlines()):
            if not entry.endswith(".dvc"):
                continue
            text = _git(root, "show", f"{rev}:{entry}")
            if text is None:
                continue
            base = root / PurePosixPath(entry).parent
            found = _outs(text, f"{entry}@{rev}", base=base, model_path=(root / model_rel).resolve(), notes=notes)
            refs += found
    return refs, notes
