"""Predict the data chunk by chunk with both models, keeping only small per-row arrays and a capped sample.

Memory stays bounded at any file size: each chunk's inputs are dropped once predicted; what is kept is a few
bytes per row (rowstore.CompactOutputs: codes or values, probabilities only in the form that cannot be
recomputed; the differences and scores are recomputed from them), a seeded uniform random sample of the input
rows (bottom-k of random keys, so it does not depend on chunking), and the input rows of the largest
differences seen so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelgap.errors import DataError
from modelgap.model import LoadedModel
from modelgap.predictions.classes import ClassAlignment, CodeBook
from modelgap.predictions.measures import largest
from modelgap.predictions.predict import SidePredictor
from modelgap.predictions.rowstore import CompactOutputs, pack
from modelgap.predictions.schema import InputPlan, plan_inputs, prepare_chunk, unseen_notes

Progress = Callable[[str, float], None]


@dataclass
class Streamed:
    outputs: CompactOutputs
    plan: InputPlan
    sample: pd.DataFrame  # input rows (converted, target kept), index = 0-based row positions
    uniform: pd.Index  # the rows of `sample` drawn uniformly (the rest are top rows added for the views)
    notes: list[str] = field(default_factory=list)


class _Reservoir:
    """A seeded uniform sample of at most `cap` rows: the rows with the smallest random keys."""

    def __init__(self, cap: int, seed: int) -> None:
        self.cap = cap
        self.rng = np.random.default_rng(seed)
        self.frames: list[pd.DataFrame] = []
        self.keys: list[np.ndarray] = []
        self.size = 0

    def add(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)
        self.keys.append(self.rng.random(len(frame)))
        self.size += len(frame)
        if self.size > 2 * self.cap:
            self._shrink()

    def _shrink(self) -> None:
        frame = pd.concat(self.frames) if len(self.frames) > 1 else self.frames[0]
        keys = np.concatenate(self.keys)
        if len(frame) > self.cap:
            chosen = np.argpartition(keys, self.cap - 1)[: self.cap]
            frame, keys = frame.iloc[chosen], keys[chosen]
        self.frames, self.keys, self.size = [frame], [keys], len(frame)

    def result(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame()
        self._shrink()
        return self.frames[0].sort_index()


def frame_chunks(data: pd.DataFrame, chunk_rows: int, max_rows: int | None) -> Iterator[pd.DataFrame]:
    """A caller-supplied frame in chunks, indexed by 0-based row position like `iter_table`."""
    n = len(data) if max_rows is None else min(len(data), max_rows)
    for start in range(0, n, chunk_rows):
        chunk = data.iloc[start : min(start + chunk_rows, n)]
        yield chunk.set_axis(pd.RangeIndex(start, start + len(chunk)), axis=0)


def stream(
    chunks: Iterable[pd.DataFrame],
    repo: LoadedModel,
    deployed: LoadedModel,
    alignment: ClassAlignment,
    *,
    target: str | None,
    sample_rows: int,
    top_n: int,
    seed: int,
    chunk_rows: int,
    total_rows: int | None = None,
    progress: Progress | None = None,
) -> Streamed:
    """Both models' outputs for every row of `chunks`; raises DataError/SchemaMismatchError on unusable data."""
    report = progress or (lambda _m, _f: None)
    codebook = CodeBook(alignment) if alignment.is_classification else None
    keep_proba = target is not None and alignment.uses_probabilities
    outputs = CompactOutputs(alignment.task, [], _compared_on(alignment), keep_proba)
    reservoir = _Reservoir(sample_rows, seed)
    top: pd.DataFrame | None = None
    plan: InputPlan | None = None
    predictors: tuple[SidePredictor, SidePredictor] | None = None
    n = 0
    for chunk in chunks:
        if plan is None:
            plan = plan_inputs(repo, deployed, list(chunk.columns), target)
            predictors = (
                SidePredictor(plan.repo, alignment, codebook),
                SidePredictor(plan.deployed, alignment, codebook),
            )
        assert predictors is not None
        start, end = int(chunk.index[0]), int(chunk.index[-1])
        whole = start == 0 and len(chunk) < chunk_rows
        where = "" if whole else f" (in rows {start:,} to {end:,})"
        frame = prepare_chunk(chunk, plan, where=where)
        r, d = predictors[0].predict(frame, where), predictors[1].predict(frame, where)
        packed = pack(
            r, d, alignment.task, keep_proba, _target(chunk[target], codebook) if target is not None else None
        )
        outputs.append(packed)
        kept = frame.assign(**{target: chunk[target]}) if target is not None else frame
        reservoir.add(kept)
        top = _top_candidates(top, kept, outputs.unpack(packed).abs_diff, top_n)
        n = end + 1
        report(f"Predicted {n:,} rows" + (f" of {total_rows:,}" if total_rows else ""), _fraction(n, total_rows))
    if plan is None or n == 0:
        raise DataError("The data has no rows to compare.", "Use sample data with at least one row and a header.")
    outputs.classes = list(codebook.classes) if codebook is not None else []
    sample = reservoir.result()
    uniform = sample.index
    if top is not None and len(sample) < n:
        extra = top.drop(columns=["__abs_diff"]).loc[lambda f: ~f.index.isin(uniform)]
        sample = pd.concat([sample, extra]).sort_index()
    notes = list(alignment.notes) + plan.notes + unseen_notes(plan)
    if codebook is not None and codebook.added:
        seen = ", ".join(map(repr, codebook.added))
        if alignment.classes:
            notes.append(f"Labels outside the declared classes were predicted: {seen}.")
        else:
            notes.append(f"Classes seen in the predictions: {seen}.")
    return Streamed(outputs=outputs, plan=plan, sample=sample, uniform=uniform, notes=notes)


def _fraction(done: int, total: int | None) -> float:
    return min(done / total, 1.0) if total else 0.5


def _target(values: pd.Series, codebook: CodeBook | None) -> np.ndarray:
    if codebook is None:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    codes = np.full(len(values), -1, dtype=np.int32)
    present = np.asarray(values.notna())
    if present.any():
        codes[present] = codebook.encode(values[present].to_numpy(), "target", grow=False)
    return codes


def _top_candidates(top: pd.DataFrame | None, frame: pd.DataFrame, abs_diff: np.ndarray, top_n: int) -> pd.DataFrame:
    """The input rows of the `top_n` largest abs diffs so far (ties: lower row first)."""
    order = largest(abs_diff, top_n)
    local = frame.iloc[order].assign(__abs_diff=abs_diff[order])
    merged = local if top is None else pd.concat([top, local])
    ranked = np.lexsort((merged.index.to_numpy(), -merged["__abs_diff"].to_numpy()))[:top_n]
    return merged.iloc[ranked]


def _compared_on(alignment: ClassAlignment) -> str:
    if not alignment.is_classification:
        return "values"
    return "probabilities" if alignment.uses_probabilities else "labels"
