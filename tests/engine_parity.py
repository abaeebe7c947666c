"""Compare a section's whole JSON form (`to_dict()`) between the pandas and the Spark engine.

Every key is compared, so that a key added to a section is compared without anyone listing it. What may differ
is listed below, each with its reason; nothing else may:
- ONLY_ONE_ENGINE: keys only one engine writes;
- ENGINE_WORDS: notes that name the engine (dropped from the Spark side's notes; a list of notes left empty
  counts as absent, since a section writes `notes` only when it has some);
- TIMING: wall-clock time, which differs between any two runs;
- ROUNDING_KEYS: floats that the two engines add up in another order (Spark sums per partition and then across
  partitions, numpy pairwise in one pass; SHAP runs per Spark partition, in other batches), so their last bits
  may differ: compared within ROUNDING, relative to max(1, |value|). Every other float compares exactly, as do
  counts, ranks, levels, labels and lists.
"""

from __future__ import annotations

import math
import re
from typing import Any

# (section, dotted path from the section): the Spark predictions section says which engine computed it and how
# many rows it read (docs/report-format.md: `engine`, `rows_read`).
ONLY_ONE_ENGINE = {("predictions", "engine"), ("predictions", "rows_read")}

ENGINE_WORDS = ("Spark engine",)  # "Spark engine: SHAP for 60 rows computed on the executors; ..."

TIMING = {"seconds"}

ROUNDING = 1e-9
ROUNDING_KEYS = {
    "mean_abs_diff",  # predictions: Spark's avg of |diff| vs numpy's mean
    "tolerance",  # regression: 1% of the deployed predictions' std (Spark's stddev_pop vs numpy's std)
    "reference_mean",  # data: column means (Spark's avg vs numpy's mean)
    "current_mean",
    "repo_importance",  # explanations: mean |SHAP| aggregated in Spark vs numpy's mean
    "deployed_importance",
    "importance_ratio",  # data diagnosis: a ratio of those importances
    "base_values",  # explanations: SHAP's base values, computed per partition
    "max_error",  # explanations' additivity: ~1e-15 residuals of those SHAP values
}


def differences(pandas: Any, spark: Any, section: str) -> list[str]:
    """Every place where a section's JSON form differs between the engines beyond the allow-lists above."""
    problems: list[str] = []
    _compare(pandas, spark, "", section, problems)
    return problems


def _notes(value: Any) -> Any:
    if isinstance(value, list):
        return [n for n in value if not (isinstance(n, str) and any(w in n for w in ENGINE_WORDS))]
    return value


def _compare(a: Any, b: Any, path: str, section: str, problems: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if (section, where) in ONLY_ONE_ENGINE or key in TIMING:
                continue
            x, y = a.get(key), b.get(key)
            if key == "notes":
                y = _notes(y)
                if (key not in a and y == []) or (key not in b and x == []):
                    continue
            if key not in a or key not in b:
                problems.append(f"{section}.{where}: only on the {'spark' if key in b else 'pandas'} engine")
                continue
            _compare(x, y, where, section, problems)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append(f"{section}.{path}: {len(a)} items on pandas, {len(b)} on spark: {a!r} vs {b!r}")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}[{i}]", section, problems)
    elif type(a) is not type(b):
        problems.append(f"{section}.{path}: {a!r} on pandas, {b!r} on spark (types differ)")
    elif isinstance(a, float) and not (a == b or (math.isnan(a) and math.isnan(b))):
        rounding = bool(ROUNDING_KEYS & set(re.split(r"[.\[\]]+", path)))
        if not rounding or abs(a - b) > ROUNDING * max(1.0, abs(a), abs(b)):
            problems.append(f"{section}.{path}: {a!r} on pandas, {b!r} on spark")
    elif not isinstance(a, float) and a != b:
        problems.append(f"{section}.{path}: {a!r} on pandas, {b!r} on spark")
