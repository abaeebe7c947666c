"""Derived feature -> input column: where each column a fitted sklearn preprocessor outputs comes from.

Contributions of derived features (one-hot columns, missing indicators, scaled copies) are summed back to
the one input column each came from, so two models with different preprocessing are comparable. A derived
column built from several inputs (polynomial terms, PCA) cannot be split honestly: MappingError, and the
engine explains the model on its input columns instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelgap.errors import ModelgapError


class MappingError(ModelgapError):
    """A preprocessor's outputs cannot be traced back to single input columns."""


def split_pipeline(est: Any) -> tuple[list[Any], Any]:
    """The preprocessing parts of a (possibly nested) Pipeline and its final estimator."""
    parts: list[Any] = []
    while hasattr(est, "steps") and getattr(est, "steps", None):
        if len(est.steps) > 1:
            parts.append(est[:-1])
        est = est.steps[-1][1]
    return parts, est


def transform(parts: list[Any], X: Any) -> Any:
    """Run the preprocessing parts in order."""
    for part in parts:
        X = part.transform(X)
    return X


def input_sources(parts: list[Any], input_columns: list[str]) -> list[int]:
    """For each derived column after `parts`, the position of the input column it came from."""
    positions: list[tuple[int, ...]] = [(i,) for i in range(len(input_columns))]
    names = list(input_columns)
    for part in parts:
        step = _positions(part, names)
        positions = [tuple(sorted({p for i in s for p in positions[i]})) for s in step]
        names = _names_out(part, names, len(step))
    out: list[int] = []
    for j, source in enumerate(positions):
        if len(source) != 1:
            what = "no input column" if not source else ", ".join(input_columns[i] for i in source)
            raise MappingError(
                f"Derived feature {names[j]!r} comes from {what}, so it cannot be summed back to one input column.",
                "The model is explained on its input columns instead (slower).",
            )
        out.append(source[0])
    return out


def sum_to_inputs(values: np.ndarray, sources: list[int], n_inputs: int) -> np.ndarray:
    """(n, d, k) derived contributions -> (n, n_inputs, k), each input column the sum of its derived columns."""
    if values.shape[1] != len(sources):
        raise ValueError(f"{values.shape[1]} derived columns but {len(sources)} mapped sources")
    matrix = np.zeros((len(sources), n_inputs))
    matrix[np.arange(len(sources)), sources] = 1.0
    return np.einsum("ndk,di->nik", values, matrix)


def _positions(t: Any, names: list[str]) -> list[tuple[int, ...]]:
    """Output column j of transformer `t` -> the positions in `names` it is computed from."""
    if t is None or (isinstance(t, str) and t == "passthrough"):
        return [(i,) for i in range(len(names))]
    if isinstance(t, str) and t == "drop":
        return []
    cls = type(t).__name__
    if hasattr(t, "steps"):  # Pipeline
        positions: list[tuple[int, ...]] = [(i,) for i in range(len(names))]
        current = list(names)
        for _, step in t.steps:
            if step is None or step == "passthrough":
                continue
            sub = _positions(step, current)
            positions = [tuple(sorted({p for i in s for p in positions[i]})) for s in sub]
            current = _names_out(step, current, len(sub))
        return positions
    if hasattr(t, "transformers_") and hasattr(t, "output_indices_"):  # ColumnTransformer
        return _column_transformer(t, names)
    if hasattr(t, "transformer_list"):  # FeatureUnion
        out: list[tuple[int, ...]] = []
        for _, sub in t.transformer_list:
            if isinstance(sub, str) and sub == "drop":
                continue
            out += _positions(sub, names)
        return out
    if cls == "OneHotEncoder" and hasattr(t, "_compute_n_features_outs"):
        counts = t._compute_n_features_outs()
        return [(i,) for i, c in enumerate(counts) for _ in range(int(c))]
    return _by_name(t, names)


def _column_transformer(ct: Any, names: list[str]) -> list[tuple[int, ...]]:
    n_out = max((s.stop for s in ct.output_indices_.values()), default=0)
    result: list[tuple[int, ...] | None] = [None] * n_out
    indices = getattr(ct, "_transformer_to_input_indices", None) or {}
    for name, trans, columns in ct.transformers_:
        sl = ct.output_indices_.get(name, slice(0, 0))
        if sl.stop - sl.start == 0:
            continue
        idx = list(indices[name]) if name in indices else _resolve_columns(columns, names)
        sub = _positions(trans, [names[i] for i in idx])
        if len(sub) != sl.stop - sl.start:
            raise MappingError(
                f"Could not trace the outputs of transformer {name!r} ({len(sub)} traced, {sl.stop - sl.start} made).",
                "The model is explained on its input columns instead (slower).",
            )
        for k, source in enumerate(sub):
            result[sl.start + k] = tuple(idx[i] for i in source)
    return [r if r is not None else () for r in result]


def _resolve_columns(columns: Any, names: list[str]) -> list[int]:
    if isinstance(columns, str):
        columns = [columns]
    if isinstance(columns, slice):
        return list(range(len(names)))[columns]
    arr = np.asarray(columns)
    if arr.dtype == bool:
        return [int(i) for i in np.flatnonzero(arr)]
    lookup = {n: i for i, n in enumerate(names)}
    out: list[int] = []
    for c in arr.tolist():
        if isinstance(c, str):
            if c not in lookup:
                raise MappingError(f"Column {c!r} of a ColumnTransformer is not an input column.", "")
            out.append(lookup[c])
        else:
            out.append(int(c))
    return out


def _names_out(t: Any, names: list[str], n_out: int) -> list[str]:
    if t is None or (isinstance(t, str) and t == "passthrough"):
        return list(names)
    try:
        out = [str(n) for n in t.get_feature_names_out(np.asarray(names, dtype=object))]
    except Exception:  # noqa: BLE001 - transformers without names: positional names keep the mapping going
        out = [f"x{i}" for i in range(n_out)]
    if len(out) != n_out:
        raise MappingError(f"{type(t).__name__} names {len(out)} outputs but makes {n_out}.", "")
    return out


def _by_name(t: Any, names: list[str]) -> list[tuple[int, ...]]:
    """Trace outputs by name: kept columns keep their name; derived ones are `<input>_<suffix>` (longest match)."""
    try:
        out = [str(n) for n in t.get_feature_names_out(np.asarray(names, dtype=object))]
    except Exception as exc:  # re-raised as MappingError with the reason
        raise MappingError(
            f"{type(t).__name__} does not name its output columns ({type(exc).__name__}).",
            "The model is explained on its input columns instead (slower).",
        ) from exc
    lookup = {n: i for i, n in enumerate(names)}
    by_length = sorted(range(len(names)), key=lambda i: -len(names[i]))
    result: list[tuple[int, ...]] = []
    for o in out:
        if o in lookup:
            result.append((lookup[o],))
            continue
        match = next((i for i in by_length if o.startswith(names[i] + "_")), None)
        if match is None:
            match = next((i for i in by_length if o.endswith("_" + names[i])), None)  # missingindicator_<name>
        result.append((match,) if match is not None else ())
    return result
