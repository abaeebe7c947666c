"""SHA-256 of an artifact: same hash means the model's files are byte-identical.

A plain file is hashed as it is. An MLflow directory is hashed file by file, with two exceptions that
record where and when a model was logged, not what it is, so the same model reached through two routes
(a local copy, `runs:/`, `models:/name@alias`) hashes the same:
- `registered_model_meta`, which MLflow writes when it downloads a registered version;
- in `MLmodel`, the keys in `VOLATILE_MLMODEL_KEYS`; the flavors, signature and the rest are hashed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

IGNORED_IN_DIRS = frozenset({"registered_model_meta"})
VOLATILE_MLMODEL_KEYS = frozenset({"artifact_path", "model_id", "model_uuid", "run_id", "utc_time_created"})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        _update_with_file(digest, path)
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel in IGNORED_IN_DIRS:
            continue
        digest.update(rel.encode() + b"\0")
        if rel == "MLmodel":
            digest.update(_stable_mlmodel(file))
        else:
            _update_with_file(digest, file)
    return digest.hexdigest()


def _stable_mlmodel(file: Path) -> bytes:
    """MLmodel without the keys that change every time the same model is logged; raw bytes if unparsable."""
    raw = file.read_bytes()
    try:
        data: Any = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if not isinstance(data, dict):
        return raw
    stable = {k: v for k, v in data.items() if k not in VOLATILE_MLMODEL_KEYS}
    return json.dumps(stable, sort_keys=True, default=str).encode()


def _update_with_file(digest: hashlib._Hash, file: Path) -> None:
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
