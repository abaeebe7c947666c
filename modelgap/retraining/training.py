"""Each model's training data and label column, found the way the data section finds them (never duplicated).

The datasets come from `modelgap.data`'s lineage (MLflow dataset inputs of the model's run, a `.dvc` file next
to it, or the path named with --repo/--deployed-training-data); when the data section already ran, its lineage
and the rows it read are reused. Rows are bounded by `max_rows` (a seeded uniform sample, file order kept).
The label: the one column of the run's recorded dataset that is not a model input (`mlflow.data.from_pandas(df,
targets=...)` logs the frame with its target), else --target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from modelgap.data import DataComparison, DatasetRef, ModelLineage, TableSample, model_lineage, read_sample
from modelgap.errors import ModelgapError
from modelgap.model import LoadedModel

if TYPE_CHECKING:
    from modelgap.comparison import Comparison


@dataclass
class TrainingSet:
    """One side's training rows (bounded), label and input columns, or the reason they cannot be used."""

    side: str
    ref: DatasetRef | None = None
    path: str | None = None  # the file the rows were read from
    frame: pd.DataFrame | None = None
    n_rows_total: int | None = None
    label: str | None = None
    label_from: str | None = None  # "recorded dataset" or "--target"
    columns: list[str] = field(default_factory=list)
    digest_now: str | None = None
    problem: str | None = None  # one sentence: why these rows cannot train the model
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.problem is None and self.frame is not None and self.label is not None

    @property
    def shown(self) -> str | None:
        """How the training data is named in the report (the working-tree path, not a cache entry)."""
        ref = self.ref
        if ref is None:
            return None
        return ref.path or self.path or ref.uri or ref.label

    @property
    def X(self) -> pd.DataFrame:  # the usual name for model inputs
        assert self.frame is not None
        return self.frame[self.columns]

    @property
    def y(self) -> pd.Series:
        assert self.frame is not None and self.label is not None
        return self.frame[self.label]

    @property
    def digest_differs(self) -> bool:
        recorded = self.ref.digest if self.ref is not None else None
        return bool(recorded and self.digest_now and recorded != self.digest_now)


def lineage_of(comparison: Comparison, side: str) -> ModelLineage:
    """The data section's lineage of `side` when it ran, else the same lookup done here."""
    data = comparison.sections.data
    if isinstance(data, DataComparison) and side in data.lineage:
        return data.lineage[side]
    options = comparison.options
    model = comparison.repo if side == "repo" else comparison.deployed
    return model_lineage(
        model, side, training_path=options.data.training_data(side), tracking_uri=options.sources.tracking_uri
    )


def _reusable(comparison: Comparison, side: str, path: str, max_rows: int) -> TableSample | None:
    """The rows the data section read from `path`, when they are exactly what a read here would give."""
    data = comparison.sections.data
    table = data.tables.get(f"{side}_training") if isinstance(data, DataComparison) else None
    if table is None or not isinstance(table.frame, pd.DataFrame) or not table.source:
        return None
    try:
        same_file = Path(table.source).resolve() == Path(path).resolve()
    except OSError:
        return None
    # the same seeded bottom-k sample: the whole file, or a sample of the same size (same seed, same budget)
    return table if same_file and len(table.frame) == min(table.n_rows, max_rows) else None


def training_set(
    comparison: Comparison,
    side: str,
    *,
    max_rows: int,
    read_cache: dict[str, TableSample] | None = None,
) -> TrainingSet:
    """`side`'s training rows, label and columns; problems become `problem`, never exceptions."""
    model = comparison.repo if side == "repo" else comparison.deployed
    lineage = lineage_of(comparison, side)
    ref = lineage.training
    out = TrainingSet(side=side, ref=ref)
    if ref is None:
        # the lineage's own sentence says what is missing and names the flag that fixes it
        out.problem = lineage.notes[0] if lineage.notes else f"No training data was found: --{side}-training-data."
        return out
    if ref.readable_path is None:
        why = ref.notes[0].rstrip(".") if ref.notes else "its rows are not on this machine"
        out.problem = f"Its training data {ref.label} cannot be read here: {why}."
        return out
    out.path = ref.readable_path
    cache = read_cache if read_cache is not None else {}
    table = cache.get(out.path) or _reusable(comparison, side, out.path, max_rows)
    if table is None:
        try:
            table = read_sample(out.path, label=f"{side} training data", budget=max_rows, seed=comparison.options.seed)
        except ModelgapError as err:
            out.problem = f"Its training data could not be read: {err.one_line()}"
            return out
    cache[out.path] = table
    out.frame, out.n_rows_total, out.digest_now = table.frame, table.n_rows, table.digest
    if table.sampled:
        out.notes.append(
            f"Trained on a seeded uniform sample of {len(table.frame):,} of the {table.n_rows:,} training rows "
            f"(--retrain-max-rows {max_rows:,})."
        )
    if out.digest_differs:
        assert ref.digest is not None and out.digest_now is not None
        out.notes.append(
            f"The training file's fingerprint now (digest {out.digest_now}) is not the one the run recorded "
            f"({ref.digest}): it may have changed since training; refitted on it anyway."
        )
    out.notes += [n for n in ref.notes if "DVC cache" in n]
    _label_and_columns(out, model, ref, comparison.options.target)
    return out


def _label_and_columns(out: TrainingSet, model: LoadedModel, ref: DatasetRef, target: str | None) -> None:
    assert out.frame is not None
    columns = [str(c) for c in out.frame.columns]
    features = model.feature_names
    recorded = _recorded_label(ref, features)
    if recorded is not None and recorded in columns:
        out.label, out.label_from = recorded, "recorded dataset"
    elif target:
        if target not in columns:
            out.problem = f"The label column {target!r} (--target) is not in its training data {out.shown}."
            return
        out.label, out.label_from = target, "--target"
    elif recorded is not None:
        out.problem = f"The recorded label column {recorded!r} is not in its training data {out.shown}."
        return
    else:
        out.problem = "Its label column is unknown: the run records no dataset with a target; pass --target."
        return
    if features:
        missing = [c for c in features if c not in columns]
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            out.problem = f"Its training data {out.shown} lacks the model's input columns {shown}."
            return
        out.columns = list(features)
    else:
        out.columns = [c for c in columns if c != out.label]
    if out.label in out.columns:
        out.problem = f"The label column {out.label!r} is also one of the model's inputs."


def _recorded_label(ref: DatasetRef, features: list[str]) -> str | None:
    """The only column of an MLflow-recorded dataset schema that the model does not take as input."""
    if ref.origin != "mlflow" or not ref.schema or not features:
        return None
    leftover = [str(c.get("name")) for c in ref.schema if str(c.get("name")) not in set(features)]
    return leftover[0] if len(leftover) == 1 else None
