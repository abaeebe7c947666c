"""Pickling a comparison so that reading it back does not load its models (the result cache's payload).

A `LoadedModel`'s prediction functions, estimator and pyfunc are what import scikit-learn, xgboost, MLflow…
when unpickled: seconds of imports that the Overview, drawn from the stored numbers, never needs. `dumps` keeps
those parts of every model in a second pickle inside the payload; `loads` gives back the comparison with each
model as a `StoredModel` (a `LoadedModel`) whose light fields (source, task, classes, columns, params,
metadata) are there at once and whose heavy fields are unpickled the first time one of them is read, for both
models together (their closures may share objects). The bytes are the ones the caller verified (the result
cache checks its HMAC before calling `loads`); nothing here decides trust.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import threading
from typing import Any

from modelgap.model import LoadedModel

__all__ = ["HEAVY_FIELDS", "StoredModel", "dumps", "loads"]

HEAVY_FIELDS = ("labels_fn", "proba_fn", "values_fn", "estimator", "pyfunc")
_PID = "modelgap.LoadedModel"
_LAYOUT = "stored-models-1"


class _Heavy:
    """The models' heavy fields, unpickled once, on first use, under a lock."""

    def __init__(self, blob: bytes) -> None:
        self._blob: bytes | None = blob
        self._lock = threading.Lock()
        self._values: list[dict[str, Any]] | None = None

    def fields(self, index: int) -> dict[str, Any]:
        with self._lock:
            if self._values is None:
                assert self._blob is not None
                self._values = pickle.loads(self._blob)  # verified by the caller (see the module docstring)
                self._blob = None
            return self._values[index]


class _HeavyField:
    """A heavy field of a StoredModel: its value once loaded or set, else loaded (with the others) when read.
    (A descriptor, not __getattr__: LoadedModel's defaults are class attributes that __getattr__ never sees.)"""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        if self.name not in values and self.name not in values.get("_stored_present", ()):
            return None  # it was None when stored: nothing to load
        if self.name not in values:  # two threads may both get here: `fields` unpickles once, under its lock
            heavy, index = values["_stored_heavy"]
            values.update(heavy.fields(index))
            values.pop("_stored_heavy", None)
        return values[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


class StoredModel(LoadedModel):
    """A model read back from a stored comparison: its prediction functions and estimator load on first use."""

    labels_fn = _HeavyField()
    proba_fn = _HeavyField()
    values_fn = _HeavyField()
    estimator = _HeavyField()
    pyfunc = _HeavyField()

    @property
    def has_proba(self) -> bool:  # the report asks; answered without loading the model
        if "_stored_heavy" in self.__dict__:
            return "proba_fn" in self.__dict__.get("_stored_present", ())
        return self.proba_fn is not None

    @property
    def heavy_loaded(self) -> bool:
        """Whether the prediction functions and estimator have been unpickled (tests use it)."""
        return "_stored_heavy" not in self.__dict__

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_plain_model, (_all_fields(self),))  # a copy is an ordinary LoadedModel, with everything loaded


def _all_fields(model: LoadedModel) -> dict[str, Any]:
    return {f.name: getattr(model, f.name) for f in dataclasses.fields(LoadedModel)}


def _plain_model(fields: dict[str, Any]) -> LoadedModel:
    return LoadedModel(**fields)


def dumps(value: Any, pickler: type[pickle.Pickler], protocol: int = pickle.HIGHEST_PROTOCOL) -> bytes:
    """`value` pickled with `pickler` (cloudpickle's, for the models' closures), every LoadedModel's heavy
    fields in a second pickle that `loads` reads only when a model is used."""
    models: list[LoadedModel] = []
    index: dict[int, int] = {}

    class _Split(pickler):  # type: ignore[misc, valid-type]
        def persistent_id(self, obj: Any) -> Any:
            if isinstance(obj, LoadedModel):
                if id(obj) not in index:
                    index[id(obj)] = len(models)
                    models.append(obj)
                light = {f.name: getattr(obj, f.name) for f in dataclasses.fields(LoadedModel)}
                for name in HEAVY_FIELDS:
                    light.pop(name)
                light["_stored_present"] = tuple(n for n in HEAVY_FIELDS if getattr(obj, n) is not None)
                return (_PID, index[id(obj)], light)
            return None

    main = io.BytesIO()
    _Split(main, protocol=protocol).dump(value)
    heavy = io.BytesIO()
    pickler(heavy, protocol=protocol).dump([{n: getattr(m, n) for n in HEAVY_FIELDS} for m in models])
    return pickle.dumps((_LAYOUT, main.getvalue(), heavy.getvalue()), protocol=protocol)


def loads(payload: bytes) -> Any:
    """What `dumps` stored, its models as `StoredModel`s (heavy fields unpickled on first use)."""
    layout, main, heavy_blob = pickle.loads(payload)  # three plain values: bytes and a string
    if layout != _LAYOUT:
        raise ValueError(f"unknown layout {layout!r}")
    heavy = _Heavy(heavy_blob)
    made: dict[int, StoredModel] = {}

    class _Join(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            tag, i, light = pid
            if tag != _PID:
                raise pickle.UnpicklingError(f"unknown persistent id {tag!r}")
            if i not in made:
                model = StoredModel.__new__(StoredModel)
                model.__dict__.update(light)
                model.__dict__["_stored_heavy"] = (heavy, i)
                made[i] = model
            return made[i]

    return _Join(io.BytesIO(main)).load()
