"""Predict one block of rows with one model, and turn a model's refusal into a message that names the problem.

A native model that refuses the data (text where it needs numbers, NaN or infinity it cannot take, unknown
levels) fails before it computes anything; that failure is translated into one line naming the columns, with
an example value or the counts of missing and infinite values per column. A model without a native estimator
(a pyfunc, an endpoint) is first tried on a few rows with missing values, so a refusal costs one small call,
not a whole chunk sent over the wire.

Labels come from the model's own predict; for estimators whose predict is the argmax of predict_proba
(ARGMAX_CLASSIFIERS), or when the argmax gives the model's own labels on the first rows, labels are taken
from the probabilities (one model call per block instead of two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelgap.errors import DataError, ModelgapError, SchemaMismatchError
from modelgap.introspect import final_estimator
from modelgap.predictions.classes import ClassAlignment, CodeBook
from modelgap.predictions.schema import SideInputs, listing

LABEL_CHECK_ROWS = 2000
PROBE_ROWS = 20
# Final estimators whose predict() returns classes_[argmax(predict_proba)] (ties and all).
ARGMAX_CLASSIFIERS = frozenset(
    {
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "LogisticRegression",
        "XGBClassifier",
        "LGBMClassifier",
    }
)
_NOT_NUMBER = re.compile(r"could not convert string to float: '(.*)'")
_DTYPE_MESSAGES = ("dtypes must be int, float or bool", "DataFrame.dtypes for data must be", "bad pandas dtypes")


@dataclass
class SideOutput:
    codes: np.ndarray | None = None  # classification: int32 codes in the common order
    proba: np.ndarray | None = None  # classification: probabilities, columns in the common order
    values: np.ndarray | None = None  # regression


class SidePredictor:
    """Predicts blocks of rows with one model; remembers whether its labels can come from its probabilities."""

    def __init__(self, inputs: SideInputs, alignment: ClassAlignment, codebook: CodeBook | None) -> None:
        self.inputs = inputs
        self.model = inputs.model
        self.side = inputs.side
        self.alignment = alignment
        self.codebook = codebook
        self.columns = alignment.repo_columns if self.side == "repo" else alignment.deployed_columns
        estimator = inputs.model.estimator
        known = estimator is not None and type(final_estimator(estimator)).__name__ in ARGMAX_CLASSIFIERS
        self.labels_from_proba: bool | None = True if known else None
        self.probe = estimator is None  # black boxes: try rows with missing values first (see module doc)
        self.accepted: set[tuple[str, str]] = set()

    def predict(self, frame: pd.DataFrame, where: str = "") -> SideOutput:
        if self.probe:
            self._probe_missing(frame, where)
        try:
            return self._predict(frame)
        except ModelgapError:
            raise
        except Exception as exc:
            raise translate(exc, frame, self.inputs, where) from exc

    def _predict(self, frame: pd.DataFrame) -> SideOutput:
        if not self.alignment.is_classification:
            return SideOutput(values=self.model.predict_values(frame))
        assert self.codebook is not None
        proba = None
        if self.columns is not None:
            raw = self.model.predict_proba(frame)
            proba = raw[:, self.columns]
            if self.labels_from_proba is None:
                head = frame.iloc[:LABEL_CHECK_ROWS]
                own = self.codebook.encode(self.model.predict_labels(head), self.side)
                self.labels_from_proba = bool(np.array_equal(own, self._argmax_codes(raw[: len(head)])))
            if self.labels_from_proba:
                return SideOutput(codes=self._argmax_codes(raw), proba=proba)
        codes = self.codebook.encode(self.model.predict_labels(frame), self.side)
        return SideOutput(codes=codes, proba=proba)

    def _probe_missing(self, frame: pd.DataFrame, where: str) -> None:
        """Try the model on one row per column with NaN/inf not yet accepted; a refusal names them all."""
        counts = missing_counts(frame, [c for c in self.inputs.columns if c in frame.columns])
        new = [key for key in counts if key not in self.accepted]
        if not new:
            return
        rows = set()
        for column, kind in new:
            values = frame[column]
            mask = values.isna() if kind == "NaN" else np.isinf(pd.to_numeric(values, errors="coerce"))
            rows.add(int(np.flatnonzero(np.asarray(mask))[0]))
        probe = frame.iloc[sorted(rows)[:PROBE_ROWS]]
        try:
            if not self.alignment.is_classification:
                self.model.predict_values(probe)
            elif self.columns is not None:
                self.model.predict_proba(probe)
            else:
                self.model.predict_labels(probe)
        except SchemaMismatchError:
            raise
        except Exception as exc:  # these rows were picked for their missing values: blame them unless it is text
            error = None if isinstance(exc, ModelgapError) else translate(exc, frame, self.inputs, where)
            if not isinstance(error, SchemaMismatchError):  # an endpoint's error (EndpointError) included
                error = missing_error(self.side, frame, self.inputs.columns, where, exc)
            raise error from exc
        self.accepted.update(new)

    def _argmax_codes(self, raw: np.ndarray) -> np.ndarray:
        """Codes of the argmax class; raw columns are in the order of the model's own classes."""
        assert self.columns is not None
        to_common = np.empty(raw.shape[1], dtype=np.int32)
        to_common[np.asarray(self.columns)] = np.arange(len(self.columns), dtype=np.int32)
        return to_common[np.argmax(raw, axis=1)]


def missing_counts(frame: pd.DataFrame, columns: list[str]) -> dict[tuple[str, str], int]:
    """{(column, "NaN" | "inf"): count} for the columns that have any."""
    out: dict[tuple[str, str], int] = {}
    for column in columns:
        values = frame[column]
        nan = int(values.isna().sum())
        if nan:
            out[(column, "NaN")] = nan
        if pd.api.types.is_float_dtype(values.dtype):
            inf = int(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).sum())
            if inf:
                out[(column, "inf")] = inf
    return out


def missing_error(side: str, frame: pd.DataFrame, columns: list[str], where: str, exc: BaseException) -> DataError:
    """The model refused missing or infinite values: name each column with its counts."""
    counts = missing_counts(frame, [c for c in columns if c in frame.columns])
    text = ", ".join(f"{c} ({n:,} {k})" for (c, k), n in counts.items()) or "some columns"
    return DataError(
        f"The {side} model cannot take missing or infinite values, and the data has them{where}: {text} "
        f"(the model said: {_short(exc)}).",
        "Impute or drop those rows, or compare models that include an imputer.",
    )


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def translate(exc: Exception, frame: pd.DataFrame, inputs: SideInputs, where: str) -> ModelgapError:
    """A one-line error for a model that refused the data: the column and an example when we can tell."""
    message = str(exc)
    side = inputs.side
    columns = [c for c in inputs.columns if c in frame.columns]
    text_columns = [c for c in columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]
    match = _NOT_NUMBER.search(message)
    if match:
        value = match.group(1)
        holders = [c for c in text_columns if (frame[c].astype(str) == value).any()] or text_columns
        where_text = f"Column {holders[0]!r} holds" if len(holders) == 1 else f"Columns {listing(holders)} hold"
        return SchemaMismatchError(
            f"{where_text} text where the {side} model needs numbers: e.g. {value!r}{where}.",
            "Fix or drop those values (numbers without letters, units or thousands separators).",
        )
    if any(m in message for m in _DTYPE_MESSAGES) and text_columns:
        examples = ", ".join(f"{c} = {frame[c].dropna().iloc[0]!r}" for c in text_columns[:5] if frame[c].notna().any())
        return SchemaMismatchError(
            f"The {side} model needs numbers, but columns {listing(text_columns)} hold text ({examples}){where}.",
            "Convert those columns to numbers, or encode them as the model was trained.",
        )
    if "unknown categor" in message.lower():
        return SchemaMismatchError(
            f"The {side} model refuses category levels it never saw{where}: {_short(exc)}.",
            "Drop or map those rows, or retrain the encoder with handle_unknown='ignore'.",
        )
    if re.search(r"\bNaN\b|infinity", message):
        return missing_error(side, frame, columns, where, exc)
    if "feature" in message.lower() and ("name" in message.lower() or "expect" in message.lower()):
        return SchemaMismatchError(
            f"The {side} model rejected the data's columns{where}: {_short(exc)}.",
            "Use sample data with the columns the model was trained on.",
        )
    return DataError(
        f"The {side} model ({inputs.model.source}) could not predict on the data{where} "
        f"({type(exc).__name__}: {_short(exc)}).",
        "Check that the data has the columns and value types the model was trained on.",
    )
