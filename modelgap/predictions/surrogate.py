"""A shallow decision tree that predicts "the models disagree" from the input columns, read as rules.

This turns "3% of rows differ" into "they differ when income > 120,000 and region = North". The tree is
balanced by class weight (disagreements are usually rare), has depth <= 3 and leaves of at least a few
percent of the rows, so every rule is short and covers enough rows to matter. Fidelity is measured on the
rows it was trained on: it says how well the rules describe these rows, not a forecast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelgap.predictions.slices import MAX_LEVELS, fmt_number, n_distinct

MAX_DEPTH = 3
MIN_LEAF_SHARE = 0.02
MIN_LEAF_ROWS = 5
FIT_ROWS = 5_000  # the tree learns from a seeded subset of larger samples; its rules are measured on every row


@dataclass
class SurrogateRule:
    """One leaf of the tree: its rule (conditions joined by "and"), size and disagreement rate."""

    leaf: int
    rule: str
    conditions: list[str]
    n_rows: int
    n_disagree: int
    rate: float
    predicts_disagree: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "leaf": self.leaf,
            "rule": self.rule,
            "conditions": list(self.conditions),
            "n_rows": self.n_rows,
            "n_disagree": self.n_disagree,
            "rate": self.rate,
            "predicts_disagree": self.predicts_disagree,
        }


@dataclass
class Surrogate:
    """The surrogate tree's rules (highest disagreement rate first) and how faithfully it describes the rows.

    `leaves` maps each row (0-based row position, the sample's index) to its leaf id, so a view can filter its
    row table to one rule: `surrogate.leaves[surrogate.leaves == rule.leaf].index`.
    """

    rules: list[SurrogateRule] = field(default_factory=list)
    n_rows: int = 0  # rows the rules and fidelity are measured on
    fit_rows: int = 0  # rows the tree learnt from (a seeded subset when n_rows > FIT_ROWS)
    accuracy: float | None = None
    balanced_accuracy: float | None = None
    captured: float | None = None  # share of the disagreements that fall in leaves predicting "disagrees"
    max_depth: int = MAX_DEPTH
    min_leaf_rows: int = 0
    features: list[str] = field(default_factory=list)  # the encoded features the tree could split on
    leaves: pd.Series | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [r.to_dict() for r in self.rules],
            "n_rows": self.n_rows,
            "fit_rows": self.fit_rows,
            "fidelity": {
                "accuracy": self.accuracy,
                "balanced_accuracy": self.balanced_accuracy,
                "captured_disagreements": self.captured,
            },
            "max_depth": self.max_depth,
            "min_leaf_rows": self.min_leaf_rows,
            "note": self.note,
        }


@dataclass(frozen=True)
class _Feature:
    name: str  # the encoded column's name ("income", or "region = North" for a one-hot column)
    column: str
    level: Any = None  # one-hot: the level; None: numeric


def features_of(inputs: pd.DataFrame) -> list[_Feature]:
    """The tree's features: numeric columns as they are (NaN kept: the tree handles it); text, boolean and
    two-level columns one-hot (top MAX_LEVELS levels; a single 0/1 column for two-level numbers and booleans)."""
    features: list[_Feature] = []
    for column in inputs.columns:
        col = inputs[column]
        name = str(column)
        boolean = pd.api.types.is_bool_dtype(col.dtype)
        numeric = pd.api.types.is_numeric_dtype(col.dtype) and not boolean
        if numeric and n_distinct(col, 2) > 2:
            features.append(_Feature(name, name))
            continue
        levels = list(col.value_counts(dropna=True, sort=True).index[:MAX_LEVELS])
        if (numeric or boolean) and len(levels) == 2:
            levels = [max(levels)]
        for level in levels:
            value = level.item() if isinstance(level, np.generic) else level
            features.append(_Feature(f"{name} = {value}", name, value))
    return features


def encode(inputs: pd.DataFrame, features: list[_Feature], used: set[int] | None = None) -> np.ndarray:
    """float32 matrix of `features` (as the tree takes it); only the `used` ones are filled, the rest stay 0."""
    matrix = np.zeros((len(inputs), len(features)), dtype=np.float32)
    for i, feature in enumerate(features):
        if used is not None and i not in used:
            continue
        col = inputs[feature.column]
        if feature.level is None:
            matrix[:, i] = col.to_numpy(dtype=float, na_value=np.nan)
        else:
            matrix[:, i] = np.asarray(col == feature.level, dtype=bool)
    return matrix


def fit_surrogate(inputs: pd.DataFrame, disagree: np.ndarray, *, seed: int = 0) -> Surrogate:
    """Train the tree on these rows (a seeded subset above FIT_ROWS) and read it back as rules measured on every
    row; a note instead when there is nothing to learn."""
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(disagree, dtype=bool)
    n = len(y)
    if n == 0 or inputs.shape[1] == 0:
        return Surrogate(n_rows=n, note="No rows or no input columns to describe.")
    if not y.any():
        return Surrogate(n_rows=n, note="The models agree on every row: there is no disagreement to describe.")
    if y.all():
        return Surrogate(n_rows=n, note="The models disagree on every row: no subset of the data stands out.")
    fit_rows = np.arange(n)
    if n > FIT_ROWS:
        fit_rows = np.sort(np.random.default_rng(seed).choice(n, FIT_ROWS, replace=False))
    subset = inputs.iloc[fit_rows]
    features = features_of(subset)
    min_leaf = max(MIN_LEAF_ROWS, math.ceil(MIN_LEAF_SHARE * len(fit_rows)))
    tree = DecisionTreeClassifier(
        max_depth=MAX_DEPTH, min_samples_leaf=min_leaf, class_weight="balanced", random_state=seed
    )
    tree.fit(encode(subset, features), y[fit_rows])
    used = {int(f) for f in tree.tree_.feature if f >= 0}
    X = encode(inputs, features, used)  # only the split features matter for the leaves
    leaf_of = tree.apply(X)
    leaf_predicts = tree.classes_[np.argmax(tree.tree_.value[:, 0, :], axis=1)].astype(bool)
    predicted = leaf_predicts[leaf_of]
    has_nan = np.isnan(X).any(axis=0)
    rules = []
    for leaf, conditions in _paths(tree, features, has_nan):
        in_leaf = leaf_of == leaf
        k = int(y[in_leaf].sum())
        size = int(in_leaf.sum())
        rules.append(
            SurrogateRule(
                leaf=int(leaf),
                rule=" and ".join(conditions) if conditions else "all rows",
                conditions=conditions,
                n_rows=size,
                n_disagree=k,
                rate=k / size if size else 0.0,
                predicts_disagree=bool(leaf_predicts[leaf]),
            )
        )
    rules.sort(key=lambda r: (-r.rate, -r.n_rows))
    recall_pos = float((predicted & y).sum() / y.sum())
    recall_neg = float((~predicted & ~y).sum() / (~y).sum())
    return Surrogate(
        rules=rules,
        n_rows=n,
        accuracy=float((predicted == y).mean()),
        balanced_accuracy=(recall_pos + recall_neg) / 2,
        captured=recall_pos,
        fit_rows=len(fit_rows),
        min_leaf_rows=min_leaf,
        features=[f.name for f in features],
        leaves=pd.Series(leaf_of, index=inputs.index, name="leaf"),
    )


def _paths(tree: Any, features: list[_Feature], has_nan: np.ndarray) -> list[tuple[int, list[str]]]:
    """(leaf id, readable conditions) for every leaf, conditions merged per column."""
    t = tree.tree_
    missing_left = getattr(t, "missing_go_to_left", None)
    out: list[tuple[int, list[str]]] = []

    def walk(node: int, path: list[tuple[int, bool, float, bool]]) -> None:
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            out.append((node, _merge(path, features)))
            return
        f, thr = int(t.feature[node]), float(t.threshold[node])
        nan_left = bool(missing_left[node]) if missing_left is not None and has_nan[f] else None
        walk(left, [*path, (f, False, thr, nan_left is True)])
        walk(right, [*path, (f, True, thr, nan_left is False)])

    walk(0, [])
    return out


def _merge(path: list[tuple[int, bool, float, bool]], features: list[_Feature]) -> list[str]:
    """Per column: numeric bounds as one range; one-hot tests as `= level` or `!= level` / `not in {...}`."""
    numeric: dict[str, list[float | None]] = {}  # column -> [low, high]
    with_missing: dict[str, bool] = {}
    equal: dict[str, Any] = {}
    not_equal: dict[str, list[Any]] = {}
    order: list[str] = []
    for f, greater, thr, missing in path:
        feat = features[f]
        if feat.column not in order:
            order.append(feat.column)
        if feat.level is None:
            bounds = numeric.setdefault(feat.column, [None, None])
            if greater:
                bounds[0] = thr if bounds[0] is None else max(bounds[0], thr)
            else:
                bounds[1] = thr if bounds[1] is None else min(bounds[1], thr)
            with_missing[feat.column] = with_missing.get(feat.column, True) and missing
        elif greater:
            equal[feat.column] = feat.level
        else:
            not_equal.setdefault(feat.column, []).append(feat.level)
    conditions = []
    for column in order:
        if column in equal:
            conditions.append(f"{column} = {equal[column]}")
        elif column in not_equal:
            levels = not_equal[column]
            conditions.append(
                f"{column} != {levels[0]}" if len(levels) == 1 else f"{column} not in {{{', '.join(map(str, levels))}}}"
            )
        if column in numeric:
            low, high = numeric[column]
            if low is not None and high is not None:
                text = f"{fmt_number(low)} < {column} <= {fmt_number(high)}"
            elif low is not None:
                text = f"{column} > {fmt_number(low)}"
            else:
                text = f"{column} <= {fmt_number(high)}"  # type: ignore[arg-type]
            conditions.append(text + (" (or missing)" if with_missing.get(column) else ""))
    return conditions
