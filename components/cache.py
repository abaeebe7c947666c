"""The app's one cache helper: lock-guarded slots kept in `st.cache_resource`, and the cache lifetimes.

The caches are shared by every session, bounded (`max_entries`, `ttl`) and keyed by small strings (source
strings, fingerprints, the trust policy): never by `id()` or per-user data. A slot is filled once under its
lock, so a slow load shows progress in the session that asked first and another session asking for the same
thing waits instead of computing it twice. Models, comparisons, explained rows and retraining jobs all live in
such slots. What a slot holds is shared and read-only: a comparison is sealed (`read_only`), so a view that
wants to change one changes a copy (`dataclasses.replace`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, TypeVar

import streamlit as st

__all__ = ["LIST_TTL_S", "RESULT_TTL_S", "Slot", "fill", "read_only"]

RESULT_TTL_S = 3600  # models, comparisons, explained rows, reports, uploads: a moved alias shows within the hour
LIST_TTL_S = 30  # registry and file listings: what the pickers offer is at most half a minute old
T = TypeVar("T")


@dataclass
class Slot:
    """One cache entry: filled once, under its lock, then only read."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None

    def clear(self) -> None:
        """Forget the value: the next `fill` makes it again."""
        self.value = None


def fill(
    slot: Slot, make: Callable[[], T], waiting: str = "Another session is computing the same; waiting for it."
) -> T:
    """The slot's value, made by `make` under the slot's lock if it is empty. An exception leaves the slot empty:
    errors are never cached."""
    value = slot.value
    if value is None:
        if not slot.lock.acquire(blocking=False):
            with st.spinner(waiting):
                slot.lock.acquire()
        try:
            if slot.value is None:
                slot.value = make()
            value = slot.value
        finally:
            slot.lock.release()
    return value


# ------------------------------------------------------------------ read-only shared values

_SEAL = "_modelgap_read_only"
_SEALED: dict[type, type] = {}
_SEALED_LOCK = threading.Lock()


def _refuse(what: str) -> FrozenInstanceError:
    return FrozenInstanceError(f"{what}: it is shared by every session; change a copy (dataclasses.replace)")


def _set(self: Any, name: str, value: Any) -> None:
    if self.__dict__.get(_SEAL):
        raise _refuse(f"cannot set {name!r} of a shared {type(self).__name__}")
    object.__setattr__(self, name, value)


def _delete(self: Any, name: str) -> None:
    if self.__dict__.get(_SEAL):
        raise _refuse(f"cannot delete {name!r} of a shared {type(self).__name__}")
    object.__delattr__(self, name)


def _sealed_class(cls: type) -> type:
    """A subclass of `cls` whose sealed instances refuse attribute changes (found by pickle in this module)."""
    with _SEALED_LOCK:
        found = _SEALED.get(cls)
        if found is None:
            name = f"ReadOnly{cls.__name__}"
            found = type(name, (cls,), {"__setattr__": _set, "__delattr__": _delete, "__module__": __name__})
            found.__qualname__ = name
            globals()[name] = found
            _SEALED[cls] = found
        return found


class ReadOnlyList(list[Any]):
    """A shared list (a comparison's notes): reading works, changing raises."""

    def _refused(self, *_args: Any, **_kwargs: Any) -> Any:
        raise _refuse("cannot change a shared comparison's list")

    append = extend = insert = remove = pop = clear = sort = reverse = _refused
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refused

    def __reduce__(self) -> Any:
        return (list, (list(self),))  # a copy is an ordinary list


class ReadOnlyDict(dict[str, Any]):
    """A shared dict (a comparison's errors): reading works, changing raises."""

    def _refused(self, *_args: Any, **_kwargs: Any) -> Any:
        raise _refuse("cannot change a shared comparison's dict")

    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refused

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


def read_only(value: T) -> T:
    """Seal `value` (a comparison about to be shared by every session) in place and return it: setting or
    deleting an attribute of it or of its sections, or changing its notes or errors, raises FrozenInstanceError.
    `dataclasses.replace(value, ...)` gives a copy that may be changed; pickling still works."""
    if not hasattr(value, "__dict__") or value.__dict__.get(_SEAL):
        return value  # None, a slotted or an already sealed value
    if getattr(getattr(type(value), "__dataclass_params__", None), "frozen", False):
        return value  # frozen already
    for name in ("notes", "errors"):
        current = value.__dict__.get(name)
        if isinstance(current, list):
            value.__dict__[name] = ReadOnlyList(current)
        elif isinstance(current, dict):
            value.__dict__[name] = ReadOnlyDict(current)
    sections = value.__dict__.get("sections")
    if sections is not None and hasattr(sections, "__dict__") and not sections.__dict__.get(_SEAL):
        sections.__class__ = _sealed_class(type(sections))
        sections.__dict__[_SEAL] = True
    value.__class__ = _sealed_class(type(value))
    value.__dict__[_SEAL] = True
    return value
