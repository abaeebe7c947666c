"""The pandas engine's per-row outputs, kept compact: per row only what cannot be recomputed, exactly.

Per streamed chunk: class codes in the smallest integer type that holds them; a binary classifier's
probabilities as one column when the other is exactly 1 minus it (as scikit-learn's binary classifiers give
them), else both; a multiclass classifier's probability matrix only when a target needs it (else its score, and
the pair's differences); regression values; the target's codes or values. The differences and scores are
recomputed chunk by chunk by the same functions that made them (measures.classification_diffs,
measures.predicted_scores), so every number equals the one stored in full before. At 20M rows a binary pair
with a target keeps 19 bytes a row (it kept 76).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from modelgap.model import Task
from modelgap.predictions.measures import BLOCK_ROWS, RowOutputs, classification_diffs, predicted_scores
from modelgap.predictions.predict import SideOutput

__all__ = ["CompactOutputs", "concat", "pack"]

_ARRAYS = (
    "repo",
    "deployed",
    "abs_diff",
    "diff",
    "repo_score",
    "deployed_score",
    "repo_proba",
    "deployed_proba",
    "target",
)


def _small(codes: np.ndarray) -> np.ndarray:
    """Integer codes in the smallest signed type that holds them (codes are -1 .. number of classes)."""
    lo, hi = (int(codes.min()), int(codes.max())) if len(codes) else (0, 0)
    for kind in (np.int8, np.int16):
        info = np.iinfo(kind)
        if info.min <= lo and hi <= info.max:
            return codes.astype(kind)
    return codes


def _own(values: np.ndarray) -> np.ndarray:
    """`values` in memory of their own: a view (a column of the probabilities, a column of a pandas block)
    would keep its whole base alive."""
    return values if values.base is None and values.flags.c_contiguous else values.copy()


def _binary(side: str, proba: np.ndarray) -> dict[str, np.ndarray]:
    """A binary side's probabilities: one column when the other is exactly 1 minus it, else both."""
    p0, p1 = proba[:, 0], proba[:, 1]
    if np.array_equal(p0, 1 - p1):
        return {f"{side}_p1": _own(p1)}
    if np.array_equal(p1, 1 - p0):
        return {f"{side}_p0": _own(p0)}
    return {f"{side}_proba": _own(proba)}


def pack(r: SideOutput, d: SideOutput, task: Task, keep_proba: bool, target: np.ndarray | None) -> dict[str, Any]:
    """One chunk's compact form (see the module docstring)."""
    chunk: dict[str, Any] = {}
    if task == "regression":
        assert r.values is not None and d.values is not None
        chunk |= {"repo": _own(r.values), "deployed": _own(d.values)}
    else:
        assert r.codes is not None and d.codes is not None
        chunk |= {"repo": _small(r.codes), "deployed": _small(d.codes), "codes_dtype": r.codes.dtype}
        both = r.proba is not None and d.proba is not None
        for side, out in (("repo", r), ("deployed", d)):
            if out.proba is None:
                continue
            if out.proba.shape[1] == 2:
                chunk |= _binary(side, out.proba)
            elif keep_proba:
                chunk[f"{side}_proba"] = _own(out.proba)
            else:  # no target: the score is all this side needs, and the pair's differences are kept below
                assert out.codes is not None
                chunk[f"{side}_score"] = predicted_scores(out.proba, out.codes)
        if both and not keep_proba and any(f"{s}_score" in chunk for s in ("repo", "deployed")):
            assert r.proba is not None and d.proba is not None
            chunk["abs_diff"], chunk["diff"] = classification_diffs(r.codes, d.codes, r.proba, d.proba)
    if target is not None:
        chunk["target"] = _own(target) if task == "regression" else _small(target)
        chunk["target_dtype"] = target.dtype
    return chunk


def _proba(chunk: dict[str, Any], side: str) -> np.ndarray | None:
    if f"{side}_proba" in chunk:
        proba: np.ndarray = chunk[f"{side}_proba"]
        return proba
    if f"{side}_p1" in chunk:
        p1 = chunk[f"{side}_p1"]
        return np.column_stack((1 - p1, p1))
    if f"{side}_p0" in chunk:
        p0 = chunk[f"{side}_p0"]
        return np.column_stack((p0, 1 - p0))
    return None


class CompactOutputs:
    """Every compared row's outputs (the `Outputs` protocol of measures.py) from compact chunks.

    The array attributes are whole-length arrays computed on demand (each call builds them anew); the
    whole-data measures use `blocks` (one chunk at a time) and `take` (chosen rows) instead."""

    def __init__(self, task: Task, classes: list[Any], compared_on: str, keep_proba: bool) -> None:
        self.task: Task = task
        self.classes = classes
        self.compared_on = compared_on
        self.keep_proba = keep_proba
        self.chunks: list[dict[str, Any]] = []
        self.starts: list[int] = [0]

    def append(self, chunk: dict[str, Any]) -> None:
        self.chunks.append(chunk)
        self.starts.append(self.starts[-1] + len(chunk["repo"]))

    @property
    def n_rows(self) -> int:
        return self.starts[-1]

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-row arrays."""
        return sum(v.nbytes for chunk in self.chunks for v in chunk.values() if isinstance(v, np.ndarray))

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    def labels(self, codes: np.ndarray) -> list[Any]:
        return self._empty().labels(codes)

    def _empty(self) -> RowOutputs:
        none = np.empty(0)
        return RowOutputs(self.task, self.classes, none, none, none, none, compared_on=self.compared_on)

    def unpack(self, chunk: dict[str, Any]) -> RowOutputs:
        """A chunk's full outputs, computed as the stream computed them."""
        target = chunk.get("target")
        if target is not None:
            target = target.astype(chunk["target_dtype"], copy=False)
        if not self.is_classification:
            r, d = chunk["repo"], chunk["deployed"]
            with np.errstate(invalid="ignore"):  # inf - inf is NaN, which no measure counts
                diff = r - d
            return RowOutputs(self.task, self.classes, r, d, np.abs(diff), diff, target=target, compared_on="values")
        rc, dc = chunk["repo"].astype(chunk["codes_dtype"]), chunk["deployed"].astype(chunk["codes_dtype"])
        rp, dp = _proba(chunk, "repo"), _proba(chunk, "deployed")
        if "abs_diff" in chunk:
            abs_diff, diff = chunk["abs_diff"], chunk["diff"]
        else:
            both = rp is not None and dp is not None
            abs_diff, diff = classification_diffs(rc, dc, rp if both else None, dp if both else None)
        rs = chunk["repo_score"] if "repo_score" in chunk else predicted_scores(rp, rc)
        ds = chunk["deployed_score"] if "deployed_score" in chunk else predicted_scores(dp, dc)
        keep = self.keep_proba
        return RowOutputs(
            self.task,
            self.classes,
            rc,
            dc,
            abs_diff,
            diff,
            rs,
            ds,
            rp if keep else None,
            dp if keep else None,
            target,
            self.compared_on,
        )

    def blocks(self, size: int = BLOCK_ROWS) -> Iterator[tuple[int, RowOutputs]]:
        """(first row, outputs) of each streamed chunk in row order (chunks are at most the stream's chunk_rows
        long, so `size` is not needed to bound them)."""
        for start, chunk in zip(self.starts, self.chunks, strict=False):
            yield start, self.unpack(chunk)

    def take(self, positions: np.ndarray) -> RowOutputs:
        """The outputs of the rows at `positions` (0-based, any order), each chunk unpacked once."""
        positions = np.asarray(positions, dtype=np.int64)
        which = np.searchsorted(np.asarray(self.starts[1:]), positions, side="right")
        order = np.argsort(which, kind="stable")
        parts: list[RowOutputs] = []
        for c in np.unique(which):
            local = positions[order][which[order] == c] - self.starts[c]
            parts.append(self.unpack(self.chunks[c]).take(local))
        joined = concat(parts) if parts else self._empty().take(np.empty(0, dtype=np.int64))
        return joined.take(np.argsort(order, kind="stable"))

    def _stored(self, name: str, dtype: str) -> np.ndarray | None:
        """A stored per-row array (codes, values or target) in its original dtype, without unpacking."""
        if not self.chunks or name not in self.chunks[0]:
            return None
        joined = np.concatenate([c[name] for c in self.chunks])
        return joined.astype(self.chunks[0][dtype], copy=False) if dtype in self.chunks[0] else joined

    def _whole(self, name: str) -> Any:
        parts = [getattr(b, name) for _, b in self.blocks()]
        if not parts or any(p is None for p in parts):
            return None
        return np.concatenate(parts)

    @property
    def repo(self) -> np.ndarray:
        out = self._stored("repo", "codes_dtype")
        assert out is not None
        return out

    @property
    def deployed(self) -> np.ndarray:
        out = self._stored("deployed", "codes_dtype")
        assert out is not None
        return out

    @property
    def abs_diff(self) -> np.ndarray:
        out: np.ndarray = self._whole("abs_diff")
        return out

    @property
    def diff(self) -> np.ndarray:
        out: np.ndarray = self._whole("diff")
        return out

    @property
    def repo_score(self) -> np.ndarray | None:
        out: np.ndarray | None = self._whole("repo_score")
        return out

    @property
    def deployed_score(self) -> np.ndarray | None:
        out: np.ndarray | None = self._whole("deployed_score")
        return out

    @property
    def repo_proba(self) -> np.ndarray | None:
        out: np.ndarray | None = self._whole("repo_proba")
        return out

    @property
    def deployed_proba(self) -> np.ndarray | None:
        out: np.ndarray | None = self._whole("deployed_proba")
        return out

    @property
    def target(self) -> np.ndarray | None:
        out: np.ndarray | None = self._stored("target", "target_dtype")
        return out


def concat(parts: list[RowOutputs]) -> RowOutputs:
    """The rows of `parts` one after the other (a field absent from any part is absent)."""
    first = parts[0]
    arrays: dict[str, Any] = {}
    for name in _ARRAYS:
        values = [getattr(p, name) for p in parts]
        arrays[name] = None if any(v is None for v in values) else np.concatenate(values)
    return RowOutputs(first.task, first.classes, compared_on=first.compared_on, **arrays)
