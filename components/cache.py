"""The app's one cache helper: lock-guarded slots kept in `st.cache_resource`, and the cache lifetimes.

The caches are shared by every session, bounded (`max_entries`, `ttl`) and keyed by small strings (source
strings, fingerprints, the trust policy): never by `id()` or per-user data. A slot is filled once under its
lock, so a slow load shows progress in the session that asked first and another session asking for the same
thing waits instead of computing it twice. What a slot holds is shared and read-only: never mutate it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st

__all__ = ["LIST_TTL_S", "RESULT_TTL_S", "Slot", "fill"]

RESULT_TTL_S = 3600  # models, comparisons, explained rows, reports, uploads: a moved alias shows within the hour
LIST_TTL_S = 30  # registry and file listings: what the pickers offer is at most half a minute old
T = TypeVar("T")


@dataclass
class Slot:
    """One cache entry: filled once, under its lock, then only read."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None


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
