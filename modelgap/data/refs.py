"""What is known of one dataset behind a model (`DatasetRef`) and of all of them (`ModelLineage`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DatasetRef:
    """One dataset a model was trained or evaluated on, as far as its source records it.

    `origin` says who told us: "mlflow" (a dataset input of the model's run), "dvc" (a `.dvc` file next to the
    model) or "user" (a path named in the options). `digest` is MLflow's dataset digest (as recorded, or
    computed from the file when it was read), `md5` the MD5 of the file's bytes (DVC's hash, or computed).
    `path` is a local file the source points at; `readable_path` the file whose rows can be compared (the same
    path, or a DVC cache entry), None when the rows cannot be reached from here.
    """

    origin: str
    name: str | None = None
    context: str | None = None
    digest: str | None = None
    md5: str | None = None
    source_type: str | None = None
    uri: str | None = None
    path: str | None = None
    readable_path: str | None = None
    schema: list[dict[str, str]] | None = None  # [{name, type}]
    profile: dict[str, Any] | None = None
    n_rows: int | None = None
    computed_digest: str | None = None  # MLflow-style digest of the file as read now
    notes: list[str] = field(default_factory=list)

    @property
    def is_training(self) -> bool:
        return self.context is not None and "train" in self.context.lower()

    @property
    def label(self) -> str:
        return self.name or self.path or self.uri or "(unnamed dataset)"

    def fingerprints(self) -> dict[str, str]:
        """Comparable identities: MLflow digest (recorded first, else computed) and file MD5."""
        out: dict[str, str] = {}
        digest = self.digest or self.computed_digest
        if digest:
            out["digest"] = digest
        if self.md5:
            out["md5"] = self.md5
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "name": self.name,
            "context": self.context,
            "digest": self.digest,
            "computed_digest": self.computed_digest,
            "md5": self.md5,
            "source_type": self.source_type,
            "uri": self.uri,
            "path": self.path,
            "readable": self.readable_path is not None,
            "readable_path": self.readable_path,
            "schema": self.schema,
            "profile": self.profile,
            "n_rows": self.n_rows,
            "notes": list(self.notes),
        }


@dataclass
class ModelLineage:
    """The datasets behind one model, and what could not be found out."""

    side: str  # repo | deployed
    model_source: str
    datasets: list[DatasetRef] = field(default_factory=list)
    run_id: str | None = None
    tracking_uri: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def training(self) -> DatasetRef | None:
        """The training set: a user-named path first, then a dataset whose context says training, then the
        only dataset without a context (a `.dvc` file records none), preferring one whose name says "train"."""
        users = [d for d in self.datasets if d.origin == "user"]
        if users:
            return users[0]
        training = [d for d in self.datasets if d.is_training]
        if training:
            return training[0]
        unlabeled = [d for d in self.datasets if d.context is None]
        named = [d for d in unlabeled if "train" in d.label.lower()]
        if named:
            return named[0]
        return unlabeled[0] if len(unlabeled) == 1 else None

    @property
    def known(self) -> bool:
        return self.training is not None

    def to_dict(self) -> dict[str, Any]:
        training = self.training
        return {
            "model": self.model_source,
            "known": self.known,
            "run_id": self.run_id,
            "tracking_uri": self.tracking_uri,
            "training": training.to_dict() if training is not None else None,
            "datasets": [d.to_dict() for d in self.datasets],
            "notes": list(self.notes),
        }
