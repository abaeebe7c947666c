"""Cached wrappers around the core: load models and compare them once per server, show progress, keep errors.

The caches are `st.cache_resource` entries shared by every session (bounded by `max_entries` and `ttl`) and
keyed by small strings: source strings, the tracking URI and, for local files, a size/mtime fingerprint so an
edited file reloads. Each entry is a slot that is filled once under a lock, so a slow load shows `st.status`
progress in the session that asked first (Streamlit elements cannot be drawn inside a cached function: they
would be replayed on every hit) and another session asking for the same thing waits instead of loading twice.
Cached models and comparisons are shared and read-only: never mutate them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from components import state
from components.config import (
    APP_ROOT,
    check_allowed_path,
    check_tracking_uri,
    compute_engine,
    demo_dir,
    is_upload,
    pickle_uploads_allowed,
)
from components.routing import ensure_routed
from components.state import ComparisonSpec
from modelgap.comparison import Comparison, run_comparison
from modelgap.errors import ModelgapError
from modelgap.model import LoadedModel
from modelgap.sources import load_model, source_kind

LOG = logging.getLogger("modelgap.app")
MODEL_ENTRIES = 12
COMPARISON_ENTRIES = 6
TTL_S = 3600  # a moved alias or a re-trained run shows up within the hour (or at once with "Reload")
MAX_FINGERPRINT_FILES = 2000
T = TypeVar("T")


@dataclass
class _Slot:
    """One cache entry: filled once, under its lock, then only read."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None


@st.cache_resource(max_entries=MODEL_ENTRIES, ttl=TTL_S, show_spinner=False)
def _model_slot(key: str) -> _Slot:
    return _Slot()


@st.cache_resource(max_entries=COMPARISON_ENTRIES, ttl=TTL_S, show_spinner=False)
def _comparison_slot(key: str) -> _Slot:
    return _Slot()


_DEMO_LOCK = threading.Lock()


def _fill(slot: _Slot, make: Callable[[], T]) -> T:
    value = slot.value
    if value is None:
        if not slot.lock.acquire(blocking=False):
            with st.spinner("Another session is loading the same thing; waiting for it."):
                slot.lock.acquire()
        try:
            if slot.value is None:
                slot.value = make()  # an exception leaves the slot empty: errors are never cached
            value = slot.value
        finally:
            slot.lock.release()
    return value


# ------------------------------------------------------------------ keys


def fingerprint(source: str | None) -> str:
    """size/mtime of a local file, or of every file of a local folder; "" for other sources."""
    if not source or source_kind(source) != "local":
        return ""
    path = Path(source).expanduser()
    try:
        if path.is_file():
            st_ = path.stat()
            return f"{st_.st_size}:{st_.st_mtime_ns}"
        if path.is_dir():
            digest = hashlib.sha256()
            for i, file in enumerate(sorted(p for p in path.rglob("*") if p.is_file())):
                if i >= MAX_FINGERPRINT_FILES:
                    break
                st_ = file.stat()
                digest.update(f"{file.relative_to(path)}:{st_.st_size}:{st_.st_mtime_ns}\n".encode())
            return digest.hexdigest()[:16]
    except OSError:
        return "unreadable"
    return "missing"


def comparison_key(spec: ComparisonSpec) -> str:
    files = (spec.repo, spec.deployed, spec.data_path, spec.repo_training_data, spec.deployed_training_data)
    return "\0".join([spec.key(), *(fingerprint(f) for f in files)])


def allow_pickle_for(source: str) -> bool:
    """Server-side sources the operator allowed may be pickles; browser uploads only when switched on."""
    return pickle_uploads_allowed() if source_kind(source) == "local" and is_upload(source) else True


def check_spec(spec: ComparisonSpec) -> None:
    """Refuse, before any loading, what this server does not allow: paths outside the allowed folders."""
    for what, source in (("The repo model", spec.repo), ("The deployed model", spec.deployed)):
        if not source.strip():
            raise ModelgapError(f"{what} is not chosen.", "Pick a model in the sidebar.")
        if source_kind(source) == "local":
            check_allowed_path(source, f"{what} path")
    if spec.data_path:
        check_allowed_path(spec.data_path, "The data file")
    for what, path in (
        ("The repo model's training data", spec.repo_training_data),
        ("The deployed model's training data", spec.deployed_training_data),
    ):
        if path:
            check_allowed_path(path, what)
    if spec.deployed_meta and source_kind(spec.deployed_meta) == "local":
        check_allowed_path(spec.deployed_meta, "The endpoint's paired model")
    check_tracking_uri(spec.tracking_uri)


# ------------------------------------------------------------------ cached loading and comparing


@dataclass(frozen=True)
class EndpointChoice:
    """What an endpoint is loaded with: the registry entry it serves, and the data file whose first rows
    show what it returns (as the CLI's --deployed-meta and --data do). Other sources ignore it."""

    meta: str | None = None
    data_path: str | None = None
    target: str | None = None

    def key(self) -> str:
        return "\0".join([self.meta or "", self.data_path or "", fingerprint(self.data_path), self.target or ""])


def _model_key(source: str, tracking_uri: str | None, allow_pickle: bool, endpoint: EndpointChoice | None) -> str:
    parts = [source, tracking_uri or "", str(allow_pickle), fingerprint(source)]
    if endpoint is not None and source_kind(source) == "endpoint":
        parts.append(endpoint.key())  # the paired meta and the probe rows change what the endpoint model is
    return "\0".join(parts)


def endpoint_choice(spec: ComparisonSpec, side: str) -> EndpointChoice:
    return EndpointChoice(
        meta=spec.deployed_meta if side == "deployed" else None, data_path=spec.data_path, target=spec.target
    )


def _load(source: str, tracking_uri: str | None, allow_pickle: bool, endpoint: EndpointChoice | None) -> LoadedModel:
    options = None
    if endpoint is not None and source_kind(source) == "endpoint":
        from modelgap.sources.endpoint import EndpointOptions, probe_rows

        probe = probe_rows(endpoint.data_path, target=endpoint.target) if endpoint.data_path else None
        options = EndpointOptions(deployed_meta=endpoint.meta, probe=probe)
    return load_model(source, tracking_uri=tracking_uri, allow_pickle=allow_pickle, endpoint_options=options)


def load_model_cached(
    source: str, tracking_uri: str | None, allow_pickle: bool, endpoint: EndpointChoice | None = None
) -> LoadedModel:
    """`modelgap.load_model`, once per (source, tracking URI, pickle rule, local-file fingerprint and, for an
    endpoint, its paired entry and probe rows)."""
    key = _model_key(source, tracking_uri, allow_pickle, endpoint)
    return _fill(_model_slot(key), lambda: _load(source, tracking_uri, allow_pickle, endpoint))


def comparison_for(spec: ComparisonSpec) -> Comparison:
    """The Comparison for `spec`, computed once (with st.status progress) and shared; raises ModelgapError."""
    return _fill(_comparison_slot(comparison_key(spec)), lambda: _compute(spec))


def _compute(spec: ComparisonSpec) -> Comparison:
    check_spec(spec)
    holder = st.empty()
    try:
        with holder.status("Comparing the two models…", expanded=True) as status:
            bar = st.progress(0.0, text="Starting")

            def progress(message: str, fraction: float, start: float = 0.3, span: float = 0.7) -> None:
                bar.progress(min(max(start + span * float(fraction), 0.0), 1.0), text=message)

            if spec.data_path:
                from modelgap.tables import check_table

                check_table(spec.data_path)  # a bad data file fails in a second, not after loading two models
            progress(f"Loading the repo model: {short_source(spec.repo)}", 0.0, 0.0, 1.0)
            repo = load_model_cached(
                spec.repo, spec.tracking_uri, allow_pickle_for(spec.repo), endpoint_choice(spec, "repo")
            )
            progress(f"Loading the deployed model: {short_source(spec.deployed)}", 0.15, 0.0, 1.0)
            deployed = load_model_cached(
                spec.deployed, spec.tracking_uri, allow_pickle_for(spec.deployed), endpoint_choice(spec, "deployed")
            )
            comparison = run_comparison(
                repo,
                deployed,
                data_path=spec.data_path,
                options=dataclasses.replace(spec.options(), engine=compute_engine()),
                progress=progress,
            )
            status.update(label="Comparison ready", state="complete")
    finally:
        holder.empty()
    return comparison


def forget(spec: ComparisonSpec) -> None:
    """Drop the cached comparison and models of `spec` so the next look reloads them from their sources."""
    _comparison_slot(comparison_key(spec)).value = None
    for side, source in (("repo", spec.repo), ("deployed", spec.deployed)):
        key = _model_key(source, spec.tracking_uri, allow_pickle_for(source), endpoint_choice(spec, side))
        _model_slot(key).value = None


def _message(exc: Exception) -> str:
    if isinstance(exc, ModelgapError):
        return exc.one_line()
    LOG.exception("Unexpected error while comparing")  # the traceback goes to the server log, not to the page
    return f"Unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def current_comparison(*, show_error: bool = False) -> Comparison | None:
    """The comparison of the current spec, or None (no spec yet, or it failed: the reason is kept in state).

    app.py calls this once per run with `show_error=True` (progress and errors appear above the page);
    pages call it plainly and get the cached object at once.
    """
    ensure_routed()
    spec = state.current_spec()
    if spec is None:
        return None
    failed = state.failure()
    if failed and failed["key"] == spec.key():
        if show_error:
            st.error(failed["message"], icon=":material/error:")
        return None
    try:
        return comparison_for(spec)
    except Exception as exc:  # noqa: BLE001 - shown to the user and logged; one bad source must not kill the page
        message = _message(exc)
        state.set_failure(spec, message)
        if show_error:
            st.error(message, icon=":material/error:")
        return None


def apply(candidate: ComparisonSpec) -> bool:
    """Make `candidate` the current comparison if it can be computed; else keep the previous one and record why."""
    try:
        comparison_for(candidate)
    except Exception as exc:  # noqa: BLE001 - shown to the user and logged; the previous comparison stays
        state.set_apply_error(_message(exc))
        return False
    previous = state.current_spec()
    if previous is not None and previous.data_path != candidate.data_path:
        state.set_chosen_row(None)  # a row is a position in the data file: it means nothing in another file
    state.set_spec(candidate)
    state.set_apply_error(None)
    return True


# ------------------------------------------------------------------ the demo


def demo_spec() -> ComparisonSpec | None:
    """The demo comparison (repo model folder vs `models:/credit-risk@champion` on the sample), if built."""
    from modelgap.demo import load_demo

    ws = load_demo(demo_dir())
    if ws is None:
        return None
    return ComparisonSpec(
        repo=str(ws.repo_model_dir),
        deployed=ws.deployed_source,
        tracking_uri=ws.tracking_uri,
        data_path=str(ws.sample_path),
        target=ws.target,
    )


def build_demo_with_progress() -> bool:
    """Build the demo workspace (about half a minute) showing each step; True when it is ready."""
    from modelgap.demo import build_demo

    with _DEMO_LOCK, st.status("Building the demo workspace…", expanded=True) as status:
        try:
            build_demo(demo_dir(), progress=lambda message: status.write(message))
        except Exception as exc:  # noqa: BLE001 - shown to the user and logged
            status.update(label="The demo could not be built", state="error")
            st.error(_message(exc))
            return False
        status.update(label="Demo workspace ready", state="complete")
    return True


def short_source(source: str, limit: int = 60) -> str:
    """A source string short enough for a label: local paths relative to the app's folder, long ones trimmed."""
    text = source.strip()
    if source_kind(text) == "local":
        with contextlib.suppress(OSError, ValueError):  # outside the app's folder: keep it absolute
            text = str(Path(text).expanduser().resolve().relative_to(APP_ROOT))
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :] if source_kind(text) == "local" else text[: limit - 1] + "…"
