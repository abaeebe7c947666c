"""How the two models' training data relate, and what their schemas say.

Relation, first rule that applies:
- "unknown": a model's training data is not known.
- "same_data": a fingerprint both sides have is equal (MLflow digest, or MD5 of the file's bytes).
- "different_snapshots": fingerprints differ, and the two come from the same source: the same recorded
  name or path, or names that agree once dates, versions and numbers are taken out ("sales-2024-q1" and
  "sales-2024-q3", "train_v2.csv" and "train_v3.csv" in the same folder).
- "unrelated": fingerprints differ and nothing ties the sources together.
- "unknown" also when no fingerprint can be compared (e.g. one side has only a name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import pandas as pd

from modelgap.data.refs import DatasetRef

RELATIONS = ("same_data", "different_snapshots", "unrelated", "unknown")
RELATION_WORDS = {
    "same_data": "same data",
    "different_snapshots": "different snapshots of the same source",
    "unrelated": "unrelated data",
    "unknown": "unknown",
}
_VOLATILE = re.compile(
    r"(\d{4}[-_]?(q[1-4]|h[12]|w\d{1,2}|\d{2}([-_]?\d{2})?))|(\bv?\d+(\.\d+)*\b)|\d+|snapshot|latest",
    re.IGNORECASE,
)


@dataclass
class Relation:
    kind: str
    reason: str

    @property
    def words(self) -> str:
        return RELATION_WORDS[self.kind]


def family(text: str | None) -> str | None:
    """A name with dates, quarters, versions and numbers taken out: what snapshots of one source share."""
    if not text:
        return None
    stem = PurePath(text).name
    for suffix in (".csv", ".parquet", ".pq", ".tsv", ".txt", ".gz", ".zip"):
        stem = stem.removesuffix(suffix)
    key = re.sub(r"[^a-z]+", "-", _VOLATILE.sub("", stem.lower())).strip("-")
    return key or None


def _folder(ref: DatasetRef) -> str | None:
    where = ref.path or ref.uri
    return str(PurePath(where).parent) if where else None


def classify_relation(repo: DatasetRef | None, deployed: DatasetRef | None) -> Relation:
    if repo is None or deployed is None:
        which = " and ".join(s for s, r in (("repo", repo), ("deployed", deployed)) if r is None)
        return Relation("unknown", f"The training data of the {which} model is not known.")
    a, b = repo.fingerprints(), deployed.fingerprints()
    shared = sorted(set(a) & set(b))
    for kind in shared:
        if a[kind] == b[kind]:
            what = "MLflow dataset digest" if kind == "digest" else "file MD5"
            return Relation("same_data", f"Both training sets have the same {what} ({a[kind]}).")
    if not shared:
        return Relation("unknown", "The two training sets have no fingerprint in common to compare (digest or MD5).")
    kind = shared[0]
    differ = f"their {'digests' if kind == 'digest' else 'MD5s'} differ ({a[kind]} vs {b[kind]})"
    if repo.name and repo.name == deployed.name:
        return Relation("different_snapshots", f"Both are named {repo.name!r} but {differ}.")
    if (repo.path or repo.uri) and (repo.path or repo.uri) == (deployed.path or deployed.uri):
        return Relation("different_snapshots", f"Both come from {repo.path or repo.uri} but {differ}.")
    for label, x, y in (
        ("names", family(repo.name), family(deployed.name)),
        ("files", family(repo.path or repo.uri), family(deployed.path or deployed.uri)),
    ):
        same_folder = label == "names" or _folder(repo) == _folder(deployed)
        if x and x == y and same_folder:
            return Relation(
                "different_snapshots",
                f"The {label} differ only by a date or version ({repo.label} vs {deployed.label}) and {differ}.",
            )
    return Relation("unrelated", f"Different sources ({repo.label} vs {deployed.label}) and {differ}.")


# ---------------------------------------------------------------- schemas

_MLFLOW_KINDS = {
    "long": "number",
    "integer": "number",
    "double": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "datetime": "datetime",
    "binary": "binary",
}


def frame_schema(frame: pd.DataFrame) -> dict[str, str]:
    """Column -> coarse kind (number, string, boolean, datetime) of a frame that was read."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            kind = "boolean"
        elif pd.api.types.is_numeric_dtype(s):
            kind = "number"
        elif pd.api.types.is_datetime64_any_dtype(s):
            kind = "datetime"
        else:
            kind = "string"
        out[str(col)] = kind
    return out


def ref_schema(ref: DatasetRef | None, frame: pd.DataFrame | None) -> tuple[dict[str, str] | None, str | None]:
    """(column -> kind, basis): from the rows when they were read, else from the MLflow schema."""
    if frame is not None:
        return frame_schema(frame), "data"
    if ref is not None and ref.schema:
        return {c["name"]: _MLFLOW_KINDS.get(c["type"], c["type"]) for c in ref.schema}, "mlflow schema"
    return None, None


@dataclass
class SchemaComparison:
    known: bool
    basis: dict[str, str | None] = field(default_factory=dict)
    only_in_repo: list[str] = field(default_factory=list)
    only_in_deployed: list[str] = field(default_factory=list)
    kind_changes: list[dict[str, str]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.known and not (self.only_in_repo or self.only_in_deployed or self.kind_changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "known": self.known,
            "identical": self.identical,
            "basis": dict(self.basis),
            "only_in_repo": list(self.only_in_repo),
            "only_in_deployed": list(self.only_in_deployed),
            "kind_changes": list(self.kind_changes),
        }


def compare_schemas(
    repo: tuple[dict[str, str] | None, str | None], deployed: tuple[dict[str, str] | None, str | None]
) -> SchemaComparison:
    """Columns only on one side and columns whose kind changed (number / string / boolean / datetime)."""
    (a, basis_a), (b, basis_b) = repo, deployed
    if a is None or b is None:
        return SchemaComparison(known=False, basis={"repo": basis_a, "deployed": basis_b})
    return SchemaComparison(
        known=True,
        basis={"repo": basis_a, "deployed": basis_b},
        only_in_repo=[c for c in a if c not in b],
        only_in_deployed=[c for c in b if c not in a],
        kind_changes=[{"column": c, "repo": a[c], "deployed": b[c]} for c in a if c in b and a[c] != b[c]],
    )
