"""SHA-256 of an artifact: same hash means byte-identical model."""

from __future__ import annotations

import hashlib
from pathlib import Path

# MLmodel records when and by which run a model was logged, not what the model is; leaving it out
# lets the same model reached through two routes (a local copy, the registry) hash the same.
_IGNORED_IN_DIRS = {"MLmodel"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        _update_with_file(digest, path)
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel in _IGNORED_IN_DIRS:
            continue
        digest.update(rel.encode() + b"\0")
        _update_with_file(digest, file)
    return digest.hexdigest()


def _update_with_file(digest: "hashlib._Hash", file: Path) -> None:
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
