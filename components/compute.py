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
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import streamlit as st

from components import state, uploads
from components.cache import RESULT_TTL_S, Slot, fill, read_only
from components.config import (
    APP_ROOT,
    app_trust,
    check_endpoint_url,
    check_tracking_uri,
    compute_engine,
    demo_dir,
    upload_root,
)
from components.routing import ensure_routed
from components.state import ComparisonSpec
from components.wording import app_words
from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.model import LoadedModel
from modelgap.redact import log_exception, redact
from modelgap.request import ComparisonRequest, Loader, compare
from modelgap.resultcache import forget_result, load_result, save_result
from modelgap.resultkeys import path_fingerprint
from modelgap.sources import Trust, load_model, source_kind
from modelgap.values import one_line

if TYPE_CHECKING:
    from modelgap.sources.endpoint import EndpointOptions

LOG = logging.getLogger("modelgap.app")
MODEL_ENTRIES = 12
COMPARISON_ENTRIES = 6
TTL_S = RESULT_TTL_S  # a moved alias or a re-trained run shows up within the hour (or at once with "Reload")
T = TypeVar("T")


@st.cache_resource(max_entries=MODEL_ENTRIES, ttl=TTL_S, show_spinner=False)
def _model_slot(key: str) -> Slot:
    return Slot()


@st.cache_resource(max_entries=COMPARISON_ENTRIES, ttl=TTL_S, show_spinner=False)
def _comparison_slot(key: str) -> Slot:
    return Slot()


_DEMO_LOCK = threading.Lock()


def _fill(slot: Slot, make: Callable[[], T]) -> T:
    return fill(slot, make, "Another session is loading the same thing; waiting for it.")


# ------------------------------------------------------------------ keys


def fingerprint(source: str | None) -> str:
    """size/mtime of a local file, or of every file of a local folder; "" for other sources."""
    if not source or source_kind(source) != "local":
        return ""
    return path_fingerprint(source)


def comparison_key(spec: ComparisonSpec) -> str:
    files = (spec.repo, spec.deployed, spec.data_path, spec.repo_training_data, spec.deployed_training_data)
    # The engine and the trust policy change what a comparison is (and whether it may load at all).
    return "\0".join([spec.key(), compute_engine(), app_trust().key(), *(fingerprint(f) for f in files)])


def check_spec(spec: ComparisonSpec) -> None:
    """Refuse, before any loading, what this server does not allow: paths outside the allowed folders, another
    session's uploads (`uploads.check_path`), endpoints and tracking URIs the operator did not list."""
    for what, source in (("The repo model", spec.repo), ("The deployed model", spec.deployed)):
        if not source.strip():
            raise ModelgapError(f"{what} is not chosen.", "Pick a model in the sidebar.")
        if source_kind(source) == "local":
            uploads.check_path(source, what)
        elif source_kind(source) == "endpoint":
            check_endpoint_url(source)
    if spec.data_path:
        uploads.check_path(spec.data_path, "The data file")
    for what, path in (
        ("The repo model's training data", spec.repo_training_data),
        ("The deployed model's training data", spec.deployed_training_data),
    ):
        if path:
            uploads.check_path(path, what)
    if spec.deployed_meta and source_kind(spec.deployed_meta) == "local":
        uploads.check_path(spec.deployed_meta, "The endpoint's paired model")
    elif spec.deployed_meta and source_kind(spec.deployed_meta) == "endpoint":
        check_endpoint_url(spec.deployed_meta)
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


def _model_key(source: str, tracking_uri: str | None, trust: Trust, endpoint: EndpointChoice | None) -> str:
    parts = [source, tracking_uri or "", trust.key(), fingerprint(source)]
    if endpoint is not None and source_kind(source) == "endpoint":
        parts.append(endpoint.key())  # the paired meta and the probe rows change what the endpoint model is
    return "\0".join(parts)


def endpoint_choice(spec: ComparisonSpec, side: str) -> EndpointChoice:
    return EndpointChoice(
        meta=spec.deployed_meta if side == "deployed" else None, data_path=spec.data_path, target=spec.target
    )


def _load(source: str, tracking_uri: str | None, trust: Trust, endpoint: EndpointChoice | None) -> LoadedModel:
    options = None
    if endpoint is not None and source_kind(source) == "endpoint":
        from modelgap.sources.endpoint import EndpointOptions, probe_rows

        probe = probe_rows(endpoint.data_path, target=endpoint.target) if endpoint.data_path else None
        options = EndpointOptions(deployed_meta=endpoint.meta, probe=probe)
    return load_model(source, tracking_uri=tracking_uri, trust=trust, endpoint_options=options)


def load_model_cached(
    source: str, tracking_uri: str | None, trust: Trust, endpoint: EndpointChoice | None = None
) -> LoadedModel:
    """`modelgap.load_model`, once per (source, tracking URI, trust policy, local-file fingerprint and, for an
    endpoint, its paired entry and probe rows)."""
    key = _model_key(source, tracking_uri, trust, endpoint)
    return _fill(_model_slot(key), lambda: _load(source, tracking_uri, trust, endpoint))


def comparison_for(spec: ComparisonSpec) -> Comparison:
    """The Comparison for `spec`, computed once (with st.status progress) and shared; raises ModelgapError.

    Checked before the cache is asked: a cached comparison is shared, and another session's upload or an
    unlisted URI must be refused even when someone else's session computed it."""
    check_spec(spec)
    return _fill(_comparison_slot(comparison_key(spec)), lambda: _compute(spec))


def request_for(spec: ComparisonSpec) -> ComparisonRequest:
    """The core's comparison request for `spec`, under this server's engine and trust policy."""
    return ComparisonRequest(
        repo=spec.repo,
        deployed=spec.deployed,
        data_path=spec.data_path,
        tracking_uri=spec.tracking_uri,
        deployed_meta=spec.deployed_meta,
        repo_training_data=spec.repo_training_data,
        deployed_training_data=spec.deployed_training_data,
        options=dataclasses.replace(spec.options(), engine=compute_engine()),
        trust=app_trust(),
    )


def _cached_loader(spec: ComparisonSpec) -> Loader:
    """`compare`'s loader, through the shared model cache (keyed as `load_model_cached` keys it)."""

    def load(
        source: str, *, tracking_uri: str | None, trust: Trust, endpoint_options: EndpointOptions | None
    ) -> LoadedModel:
        side = "deployed" if source == spec.deployed else "repo"
        key = _model_key(source, tracking_uri, trust, endpoint_choice(spec, side))
        return _fill(
            _model_slot(key),
            lambda: load_model(source, tracking_uri=tracking_uri, trust=trust, endpoint_options=endpoint_options),
        )

    return load


def _compute(spec: ComparisonSpec) -> Comparison:
    """Read from the disk cache (`modelgap.resultcache`), else compare with progress and store the result.

    A session's uploads are never stored (their folder is private, even when pickle uploads are allowed), nor
    endpoints (live, with credentials), nor models from origins the operator does not trust."""
    check_spec(spec)
    request = request_for(spec)
    private = [upload_root()]
    key, stored = load_result(request, private=private)
    if stored is not None:
        return read_only(stored)
    comparison = _compare_with_progress(spec, request)
    save_result(key, request, comparison, private=private)
    return read_only(comparison)  # shared by every session from now on


def _compare_with_progress(spec: ComparisonSpec, request: ComparisonRequest) -> Comparison:
    holder = st.empty()
    try:
        with holder.status("Comparing the two models…", expanded=True) as status:
            bar = st.progress(0.0, text="Starting")
            names = {"Loading the repo model": spec.repo, "Loading the deployed model": spec.deployed}

            def progress(message: str, fraction: float) -> None:
                shown = f"{message}: {short_source(names[message])}" if message in names else message
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=shown)

            comparison = compare(request, progress=progress, load=_cached_loader(spec))
            status.update(label="Comparison ready", state="complete")
    finally:
        holder.empty()
    return comparison


def forget(spec: ComparisonSpec) -> None:
    """Drop the cached comparison and models of `spec` so the next look reloads them from their sources."""
    _comparison_slot(comparison_key(spec)).clear()
    forget_result(request_for(spec), private=[upload_root()])
    for side, source in (("repo", spec.repo), ("deployed", spec.deployed)):
        key = _model_key(source, spec.tracking_uri, app_trust(), endpoint_choice(spec, side))
        _model_slot(key).clear()


def _message(exc: Exception) -> str:
    if isinstance(exc, ModelgapError):
        return app_words(uploads.shown(exc.one_line()))  # the user's file names and app words, never upload paths
    log_exception(LOG, "Unexpected error while comparing")  # the traceback goes to the server log, not to the page
    return uploads.shown(redact(f"Unexpected {type(exc).__name__}: {one_line(exc)}"))


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
    """A source string short enough for a label: local paths relative to the app's folder, long ones trimmed;
    an upload by the name the user gave it."""
    text = source.strip()
    uploaded = uploads.display_name(text) if source_kind(text) == "local" else None
    if uploaded:
        text = f"upload: {uploaded}"
    elif source_kind(text) == "local":
        with contextlib.suppress(OSError, ValueError):  # outside the app's folder: keep it absolute
            text = str(Path(text).expanduser().resolve().relative_to(APP_ROOT))
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :] if source_kind(text) == "local" else text[: limit - 1] + "…"
