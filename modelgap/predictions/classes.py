"""Can the two models be compared, and how do their classes line up?

Refuses a classifier against a regressor and classifiers with different class sets; matches classes by value
when only their representation differs ([0, 1] vs ["0", "1"], [False, True] vs [0, 1]) and aligns probability
columns to one common class order (the repo model's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelgap.errors import IncompatibleModelsError
from modelgap.model import LoadedModel, Task


def plain(value: Any) -> Any:
    """numpy scalars as Python scalars, so that 1 == np.int64(1) and labels print cleanly."""
    return value.item() if isinstance(value, np.generic) else value


def norm_key(value: Any) -> str:
    """A representation-free key: True/1/1.0/"1"/"true" -> "1"; "b" -> "b"; NaN/None -> "nan"."""
    value = plain(value)
    if value is None:
        return "nan"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        f = float(value)
        if math.isnan(f):
            return "nan"
        return str(int(f)) if f.is_integer() else repr(f)
    text = str(value).strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return "1" if lowered == "true" else "0"
    try:
        return norm_key(float(text))
    except ValueError:
        return text


def _typed(values: list[Any]) -> set[tuple[str, Any]]:
    """Labels with their kind, so that True and 1 (equal in Python) count as different representations."""
    kinds = {bool: "bool", int: "number", float: "number"}
    return {(kinds.get(type(v), type(v).__name__), v) for v in values}


def _shown(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values)


@dataclass
class ClassAlignment:
    """The pair's common task and class order, and how each side's classes map onto it.

    `classes` is the common order (the repo model's labels); `repo_values` / `deployed_values` are each side's
    own labels in that order; `repo_columns` / `deployed_columns` index each side's probability columns (in the
    order of its `LoadedModel.classes`) for every common class, None when the side gives no usable probabilities.
    `open` means a side did not declare its classes: its labels are matched by value as they come.
    """

    task: Task
    classes: list[Any] = field(default_factory=list)
    repo_values: list[Any] = field(default_factory=list)
    deployed_values: list[Any] = field(default_factory=list)
    repo_columns: list[int] | None = None
    deployed_columns: list[int] | None = None
    matched: list[dict[str, Any]] = field(default_factory=list)  # [{repo, deployed}] matched by value
    open: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def uses_probabilities(self) -> bool:
        return self.repo_columns is not None and self.deployed_columns is not None


def align_classes(repo: LoadedModel, deployed: LoadedModel) -> ClassAlignment:
    """The common task and class order of a pair, or IncompatibleModelsError saying why there is none."""
    if repo.is_classifier != deployed.is_classifier:
        r_kind, d_kind = (f"a {m.task} classifier" if m.is_classifier else "a regressor" for m in (repo, deployed))
        raise IncompatibleModelsError(
            f"The repo model is {r_kind} and the deployed model is {d_kind}: their predictions cannot be compared.",
            "Compare two classifiers or two regressors.",
        )
    if not repo.is_classifier:
        return ClassAlignment(task="regression")
    rc = [plain(c) for c in repo.classes]
    dc = [plain(c) for c in deployed.classes]
    if not rc or not dc:
        return _open_alignment(repo, deployed, rc, dc)
    if _typed(rc) == _typed(dc) and len(rc) == len(dc):  # same labels of the same types (True is not 1 here)
        alignment = ClassAlignment(task=repo.task, classes=rc, repo_values=rc, deployed_values=rc)
        if rc != dc:
            alignment.notes.append(
                f"The models list their classes in different orders ({_shown(rc)} vs {_shown(dc)}); "
                "probabilities were aligned by class."
            )
        dcols = [dc.index(c) for c in rc]
    else:
        rk, dk = [norm_key(c) for c in rc], [norm_key(c) for c in dc]
        if len(set(rk)) != len(rk) or len(set(dk)) != len(dk) or set(rk) != set(dk):
            only_r = [c for c, k in zip(rc, rk, strict=True) if k not in dk]
            only_d = [c for c, k in zip(dc, dk, strict=True) if k not in rk]
            parts = []
            if only_r:
                parts.append(f"only the repo model has {_shown(only_r)}")
            if only_d:
                parts.append(f"only the deployed model has {_shown(only_d)}")
            detail = "; ".join(parts) or f"{_shown(rc)} vs {_shown(dc)} cannot be matched one to one"
            raise IncompatibleModelsError(
                f"The two classifiers predict different classes ({detail}).",
                "Compare models trained on the same label set, or map the labels before logging the models.",
            )
        dvalues = [dc[dk.index(k)] for k in rk]
        alignment = ClassAlignment(task=repo.task, classes=rc, repo_values=rc, deployed_values=dvalues)
        alignment.matched = [{"repo": r, "deployed": d} for r, d in zip(rc, dvalues, strict=True) if repr(r) != repr(d)]
        pairs = ", ".join(f"{m['repo']!r} = {m['deployed']!r}" for m in alignment.matched)
        alignment.notes.append(f"Classes matched by value (repo = deployed): {pairs}.")
        dcols = [dc.index(v) for v in dvalues]
    alignment.repo_columns = list(range(len(rc))) if repo.has_proba else None
    alignment.deployed_columns = dcols if deployed.has_proba else None
    _label_only_notes(alignment)
    return alignment


def _open_alignment(repo: LoadedModel, deployed: LoadedModel, rc: list[Any], dc: list[Any]) -> ClassAlignment:
    """A side that does not declare its classes (a labels-only pyfunc): match its labels by value as they come."""
    known = rc or dc
    task: Task = repo.task if rc or not dc else deployed.task
    alignment = ClassAlignment(task=task, classes=list(known), repo_values=list(known), deployed_values=list(known))
    alignment.open = True
    silent = [side for side, c in (("repo", rc), ("deployed", dc)) if not c]
    alignment.notes.append(
        f"The {' and '.join(silent)} model{'s do' if len(silent) == 2 else ' does'} not declare its classes: "
        "labels were matched by value as they were predicted."
    )
    alignment.repo_columns = list(range(len(rc))) if rc and repo.has_proba else None
    alignment.deployed_columns = list(range(len(dc))) if dc and deployed.has_proba else None
    _label_only_notes(alignment)
    return alignment


def _label_only_notes(alignment: ClassAlignment) -> None:
    sides = (("repo", alignment.repo_columns), ("deployed", alignment.deployed_columns))
    silent = [side for side, cols in sides if cols is None]
    if silent:
        who = " and ".join(silent)
        alignment.notes.append(
            f"The {who} model gives labels only, no probabilities: labels were compared, and a row's "
            "abs diff is 1 when the labels differ, else 0."
        )


class CodeBook:
    """Common integer codes for class labels of both sides (and of the target column).

    Each side encodes through its own label values first (exact match), then by `norm_key`; in an open alignment
    labels never seen before become new classes.
    """

    def __init__(self, alignment: ClassAlignment) -> None:
        self.classes: list[Any] = list(alignment.classes)
        self.keys: dict[str, int] = {}
        for i, c in enumerate(self.classes):
            self.keys.setdefault(norm_key(c), i)
        self.side_values = {"repo": list(alignment.repo_values), "deployed": list(alignment.deployed_values)}
        self.added: list[Any] = []

    def encode(self, labels: Any, side: str, *, grow: bool = True) -> np.ndarray:
        """int32 codes for `labels`; unknown labels get a new class (grow) or -1."""
        values = np.asarray(labels).reshape(-1)
        known = self.side_values.get(side) or self.classes
        try:  # an index lookup, not pd.Categorical: pandas 4 refuses values outside a Categorical's categories
            index = pd.Index(known)
            if not index.is_unique:
                raise ValueError("duplicate classes")
            codes = np.asarray(index.get_indexer(values), dtype=np.int32)
        except (TypeError, ValueError):  # unhashable, mixed or repeated labels: fall back to keys below
            codes = np.full(len(values), -1, dtype=np.int32)
        missing = np.flatnonzero(codes < 0)
        if len(missing):
            lookup: dict[str, int] = {}
            for i in missing:
                key = norm_key(values[i])
                if key not in lookup:
                    code = self.keys.get(key)
                    if code is None and grow and key != "nan":
                        code = len(self.classes)
                        self.classes.append(plain(values[i]))
                        self.keys[key] = code
                        self.added.append(plain(values[i]))
                    lookup[key] = -1 if code is None else code
                codes[i] = lookup[key]
        return codes
