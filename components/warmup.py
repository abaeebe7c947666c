"""The first view does not wait for MLflow's client machinery.

Reading a registry needs mlflow, SQLAlchemy and the tracking store, about three seconds of CPU the first time in
a server process, and nothing of the Overview's numbers needs them (they come from the comparison). So on a
cold server the parts that read the registry (the sidebar's pickers, the Overview's sign-off line) are left out
of the first run, which ends as soon as the page is drawn. One background thread then imports MLflow and opens
the offered local tracking stores: it starts at the first tick of a small fragment (`watch`; a tick means the
browser has the page, so the warm-up no longer competes with drawing it), at the latest FALLBACK_S after the
run, and the fragment reruns the app once it has finished.
The pickers' values come from the comparison on screen (the URL or the demo), so nothing is lost meanwhile.

A session without a browser (AppTest, a bare run) cannot receive that later rerun: it waits instead, as does
every session once the process is warm. `MODELGAP_DEFER_REGISTRY` = 1 or 0 forces either way (tests).
"""

from __future__ import annotations

import gc
import logging
import os
import threading

import streamlit as st

from components.config import trusted_tracking_uris

__all__ = ["DEFER_ENV", "is_ready", "start", "tracking_ready", "wait", "watch"]

LOG = logging.getLogger("modelgap.app")
DEFER_ENV = "MODELGAP_DEFER_REGISTRY"
POLL_S = 1.0  # each tick is a run, and Streamlit runs a full garbage collection after every run
FALLBACK_S = 30.0  # the warm-up starts at the watcher's first tick (the browser has the page), or after this
_GO = threading.Event()
_SEEN_KEY = "modelgap.warmup.seen"
_READY = threading.Event()
_START_LOCK = threading.Lock()
_started: list[threading.Thread] = []


def is_ready() -> bool:
    """Has this process imported MLflow's client and opened the offered local stores?"""
    return _READY.is_set()


def _defer() -> bool:
    forced = os.environ.get(DEFER_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        return bool(st.context.headers)  # a browser is connected: it gets the rerun when MLflow is ready
    except Exception:  # noqa: BLE001 - no session context (a bare run): nothing could fill in later
        return False


def wait(timeout: float | None = None) -> bool:
    """Wait for a started warm-up to finish (tests); whether the process is ready."""
    with _START_LOCK:
        thread = _started[0] if _started else None
    if thread is not None:
        thread.join(timeout)
    return _READY.is_set()


def tracking_ready() -> bool:
    """May the registry be read in this run? False (draw a placeholder) only on a cold process with a browser,
    where waiting would hold the first view back; otherwise warms MLflow here if needed and says True."""
    if _READY.is_set():
        return True
    if _defer():
        return False
    _GO.set()  # waiting here: a warm-up started by a browser session must not wait for its tick
    _start().join()
    return True


def _local_store(uri: str) -> bool:
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    return scheme in ("", "sqlite", "file")


def _warm(uris: list[str], delay: float) -> None:
    try:
        if delay:
            _GO.wait(delay)  # the browser's first tick (it has the page by then), or the fallback
        # What is loaded by now, and the modules imported below, live as long as the process: Streamlit's full
        # collection after every run (runner.postScriptGC), and so after every tick of `watch`, would walk them
        # each time (~0.2 s of CPU a run once MLflow is in). Frozen, it walks only what runs create.
        gc.freeze()
        import mlflow.tracking  # noqa: F401 - the import is the slow part for every kind of URI

        from modelgap.sources.tracking import client_for

        for uri in uris:
            if _local_store(uri):  # opening a sqlite store imports SQLAlchemy and checks its schema; no network
                client_for(uri)
        gc.freeze()
    except Exception:  # only a warm-up: the pickers report a broken URI when they read it
        LOG.debug("MLflow warm-up failed", exc_info=True)
    finally:
        _READY.set()


def _start(delay: float = 0.0) -> threading.Thread:
    """The warm-up thread (started once per process)."""
    with _START_LOCK:
        if not _started:
            thread = threading.Thread(
                target=_warm, args=(trusted_tracking_uris(), delay), name="modelgap-mlflow-warmup", daemon=True
            )
            thread.start()
            _started.append(thread)
        return _started[0]


def start() -> None:
    """Called by app.py once the page is drawn: a browser session on a cold process starts the warm-up."""
    if not _READY.is_set() and _defer():
        _start(FALLBACK_S)


@st.fragment(run_every=POLL_S)
def _watch() -> None:
    if st.session_state.get(_SEEN_KEY):
        _GO.set()  # a tick (or a later run): the browser has the page, the warm-up may take the CPU now
    st.session_state[_SEEN_KEY] = True  # the first call is the full run that draws the page
    if _READY.is_set():
        st.rerun()  # the whole app: the pickers and the sign-off line are drawn now


def watch() -> None:
    """Called by app.py before the page: on a cold process with a browser, a fragment (it draws nothing) that
    reruns the app when the warm-up has finished."""
    if not _READY.is_set() and _defer():
        _watch()
