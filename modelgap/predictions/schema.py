"""Check the sample against each model's expected columns before predicting, and say exactly what is wrong.

Missing columns (per model), text in columns a model declares numeric (with an example), category levels an
encoder never saw (refused: an error; ignored: a note). Columns are reordered by the models' own predict
functions; extra columns are ignored and named in a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelgap.errors import DataError, SchemaMismatchError
from modelgap.model import LoadedModel
from modelgap.predictions.encoders import KnownLevels, known_levels

NUMERIC_KINDS = ("number", "integer")
SHOWN_COLUMNS = 15


def n_rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def listing(names: list[Any], limit: int = SHOWN_COLUMNS) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


@dataclass
class SideInputs:
    """What one model reads: its columns (or every data column when it does not record names) and rules."""

    side: str  # "repo" or "deployed"
    model: LoadedModel
    columns: list[str]
    names_known: bool
    declared: dict[str, str] = field(default_factory=dict)  # column -> declared coarse dtype
    levels: list[KnownLevels] = field(default_factory=list)


@dataclass
class InputPlan:
    """Both sides' inputs, the shared conversions, and what one model uses that the other does not."""

    repo: SideInputs
    deployed: SideInputs
    target: str | None
    input_columns: list[str]  # columns either model reads, in data order (slices and the surrogate use them)
    conversions: dict[str, str]  # column -> kind it is converted to (declared the same by every side reading it)
    columns_only_in_repo: list[str]
    columns_only_in_deployed: list[str]
    notes: list[str] = field(default_factory=list)
    unseen: dict[tuple[str, str], dict[Any, int]] = field(default_factory=dict)  # (side, column) -> level counts

    @property
    def sides(self) -> tuple[SideInputs, SideInputs]:
        return self.repo, self.deployed


def plan_inputs(repo: LoadedModel, deployed: LoadedModel, columns: list[str], target: str | None) -> InputPlan:
    """Check the data's columns against both models (all problems in one message) and plan the conversions."""
    columns = [str(c) for c in columns]
    if target is not None and target not in columns:
        raise DataError(
            f"The target column {target!r} is not in the data (columns: {listing(columns)}).",
            _delimiter_hint(columns) or "Check --target: column names are case-sensitive.",
        )
    features = [c for c in columns if c != target]
    sides = [_side("repo", repo, features), _side("deployed", deployed, features)]
    for s in sides:
        if target is not None and target in s.columns:
            raise DataError(
                f"The target column {target!r} is also an input column of the {s.side} model.",
                "Pass the label column with --target only if no model reads it as an input.",
            )
    missing = {s.side: [c for c in s.columns if c not in columns] for s in sides}
    if any(missing.values()):
        parts = [f"the {side} model needs {listing(cols)}" for side, cols in missing.items() if cols]
        raise SchemaMismatchError(
            f"The data lacks columns: {'; '.join(parts)} (the data has {listing(features)}).",
            _delimiter_hint(columns) or "Use sample data with the models' input columns (names are case-sensitive).",
        )
    repo_side, deployed_side = sides
    used = set(repo_side.columns) | set(deployed_side.columns)
    plan = InputPlan(
        repo=repo_side,
        deployed=deployed_side,
        target=target,
        input_columns=[c for c in features if c in used],
        conversions=_conversions(sides),
        columns_only_in_repo=[c for c in repo_side.columns if c not in deployed_side.columns],
        columns_only_in_deployed=[c for c in deployed_side.columns if c not in repo_side.columns],
    )
    for side in sides:
        if not side.names_known:
            plan.notes.append(
                f"The {side.side} model does not record its input column names: all {len(side.columns)} data "
                "columns (without the target) were passed in file order."
            )
    if plan.columns_only_in_repo:
        plan.notes.append(f"Columns only the repo model uses: {listing(plan.columns_only_in_repo)}.")
    if plan.columns_only_in_deployed:
        plan.notes.append(f"Columns only the deployed model uses: {listing(plan.columns_only_in_deployed)}.")
    ignored = [c for c in features if c not in used]
    if ignored:
        plan.notes.append(f"Data columns neither model uses were ignored: {listing(ignored)}.")
    for column in repo_side.declared.keys() & deployed_side.declared.keys():
        if column not in plan.conversions:
            plan.notes.append(
                f"Column {column!r} is declared {repo_side.declared[column]} by the repo model and "
                f"{deployed_side.declared[column]} by the deployed model; it was passed as it is."
            )
    return plan


def _delimiter_hint(columns: list[str]) -> str | None:
    """A file read as one column whose name holds separators was probably split on the wrong delimiter."""
    if len(columns) == 1 and any(ch in columns[0] for ch in ":;, |\t"):
        return (
            f"The file was read as one column {columns[0][:60]!r}: check its delimiter (comma, semicolon, tab or pipe)."
        )
    return None


def _side(side: str, model: LoadedModel, features: list[str]) -> SideInputs:
    names = model.feature_names
    estimator = model.estimator
    levels = known_levels(estimator) if estimator is not None else []
    declared = {f.name: f.dtype for f in model.features if f.dtype not in ("unknown", "datetime")}
    return SideInputs(side, model, names or list(features), bool(names), declared, levels)


def _conversions(sides: list[SideInputs]) -> dict[str, str]:
    """Columns to convert to the kind every side that declares it agrees on (numeric, string, boolean)."""
    kinds: dict[str, set[str]] = {}
    for s in sides:
        for column, kind in s.declared.items():
            kinds.setdefault(column, set()).add("number" if kind in NUMERIC_KINDS else kind)
    return {c: next(iter(k)) for c, k in kinds.items() if len(k) == 1}


def prepare_chunk(chunk: pd.DataFrame, plan: InputPlan, *, where: str = "") -> pd.DataFrame:
    """The chunk's model inputs (target dropped), converted as declared; raises on values a model cannot take."""
    frame = chunk.drop(columns=[plan.target]) if plan.target is not None else chunk
    converted: dict[str, pd.Series] = {}
    for column, kind in plan.conversions.items():
        if column in frame.columns:
            series = _convert(frame[column], column, kind, plan, where)
            if series is not None:
                converted[column] = series
    if converted:
        frame = frame.assign(**converted)
    _check_levels(frame, plan, where)
    return frame


def _who(plan: InputPlan, column: str) -> str:
    sides = [s.side for s in plan.sides if s.declared.get(column)]
    return "both models" if len(sides) == 2 else f"the {sides[0]} model" if sides else "the model"


def _convert(series: pd.Series, column: str, kind: str, plan: InputPlan, where: str) -> pd.Series | None:
    """A converted copy of `series`, None when it already fits, or SchemaMismatchError with an example."""
    dtype = series.dtype
    if kind == "number":
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            return None
        numbers = pd.to_numeric(series, errors="coerce")
        bad = numbers.isna() & series.notna()
        if bad.any():
            example = series[bad].iloc[0]
            raise SchemaMismatchError(
                f"Column {column!r} holds text where {_who(plan, column)} expects numbers: e.g. {example!r} "
                f"({n_rows(int(bad.sum()))}{where}).",
                "Fix or drop those values (numbers without letters, units or thousands separators).",
            )
        _note_once(plan, f"Column {column!r} held numbers stored as text; they were converted to numbers.")
        return numbers
    if kind == "string":
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            return None
        _note_once(plan, f"Column {column!r} held numbers where the model expects text; they were read as text.")
        return series.map(_as_text, na_action="ignore").astype(object)
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            return None
        lowered = series.astype(str).str.strip().str.lower()
        mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        bad = ~lowered.isin(list(mapping)) & series.notna()
        if bad.any():
            raise SchemaMismatchError(
                f"Column {column!r} holds {series[bad].iloc[0]!r} where {_who(plan, column)} expects true/false "
                f"({n_rows(int(bad.sum()))}{where}).",
                "Use true/false or 1/0 in that column.",
            )
        return lowered.map(mapping).where(series.notna())
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _note_once(plan: InputPlan, note: str) -> None:
    if note not in plan.notes:
        plan.notes.append(note)


def _check_levels(frame: pd.DataFrame, plan: InputPlan, where: str) -> None:
    """Levels an encoder never saw: refused ones raise (all columns in one message), ignored ones are counted.

    Only each column's distinct values are compared with the learnt levels; rows are counted when some are new.
    """
    refused: list[str] = []
    distinct: dict[str, pd.Index] = {}
    for side in plan.sides:
        for known in side.levels:
            if known.column not in frame.columns:
                continue
            if known.column not in distinct:
                distinct[known.column] = pd.Index(pd.unique(frame[known.column]), dtype=object)
            uniques = distinct[known.column]
            new_levels = uniques[~uniques.isin(list(known.levels))]
            if len(new_levels) == 0:
                continue
            values = frame[known.column]
            counts = values[values.isin(list(new_levels)) | (values.isna() if new_levels.hasnans else False)]
            ranked = list(counts.value_counts(dropna=False).items())
            if known.refuses_unknown:
                shown = ", ".join(f"{_level(v)} ({n_rows(int(n))})" for v, n in ranked[:5])
                more = f" and {len(ranked) - 5} more" if len(ranked) > 5 else ""
                refused.append(f"{known.column!r}: {shown}{more} (the {side.side} model)")
            else:
                tally = plan.unseen.setdefault((side.side, known.column), {})
                for v, n in ranked:
                    key = _level(v)
                    tally[key] = tally.get(key, 0) + int(n)
    if refused:
        raise SchemaMismatchError(
            f"The data has category levels a model never saw and refuses{where}: {'; '.join(refused)}.",
            "The model's encoder uses handle_unknown='error': drop or map those rows, or retrain with "
            "handle_unknown='ignore'.",
        )


def _level(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "NaN"
    return repr(value.item() if isinstance(value, np.generic) else value)


def unseen_notes(plan: InputPlan) -> list[str]:
    """Plain-words notes for the levels an encoder ignored (encoded as all zeros / its unknown value)."""
    notes = []
    for (side, column), tally in plan.unseen.items():
        items = sorted(tally.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{v} ({n_rows(n)})" for v, n in items[:5])
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        notes.append(f"Column {column!r} has levels the {side} model never saw (it ignores them): {shown}{more}.")
    return notes
