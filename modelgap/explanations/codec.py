"""Encode a frame as floats for shap's maskers and decode masked rows back for the model.

shap's tabular maskers compare values with `np.isclose`, which fails on strings: non-numeric columns become
ordinal codes (missing -> -1), and decoded rows get each column's original dtype back so a model (or an
MLflow signature) sees exactly the types it was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class FrameCodec:
    columns: list[str]
    dtypes: dict[str, Any]
    categories: dict[str, np.ndarray] = field(default_factory=dict)  # column -> code -> original value

    @classmethod
    def fit(cls, frames: list[pd.DataFrame], columns: list[str]) -> FrameCodec:
        both = pd.concat([f[columns] for f in frames], ignore_index=True)
        codec = cls(columns=list(columns), dtypes={c: both[c].dtype for c in columns})
        for c in columns:
            s = both[c]
            if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
                values = pd.unique(s.dropna())
                codec.categories[c] = np.asarray(sorted(values, key=lambda v: (str(type(v)), str(v))), dtype=object)
        return codec

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(df), len(self.columns)), dtype=float)
        for j, c in enumerate(self.columns):
            s = df[c]
            if c in self.categories:
                lookup = {v: i for i, v in enumerate(self.categories[c])}
                out[:, j] = [lookup.get(v, -1) if not _missing(v) else -1 for v in s.tolist()]
            else:
                out[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        return out

    def decode(self, Z: np.ndarray) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for j, c in enumerate(self.columns):
            col = Z[:, j]
            if c in self.categories:
                cats = self.categories[c]
                codes = np.rint(col).astype(int)
                values = np.empty(len(codes), dtype=object)
                valid = (codes >= 0) & (codes < len(cats))
                values[valid] = cats[codes[valid]]
                values[~valid] = None
                data[c] = pd.Series(values).astype(self.dtypes[c])
            else:
                s = pd.Series(col)
                dtype = self.dtypes[c]
                if pd.api.types.is_integer_dtype(dtype) and not s.isna().any():
                    s = s.round().astype(dtype)
                data[c] = s
        return pd.DataFrame(data, columns=self.columns)


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
