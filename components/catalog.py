"""What the pickers can offer as lists: registered models, versions and aliases, experiments, runs, logged
models, and model/data files below the allowed folders.

MLflow is only read (MlflowClient search/get calls, never a write). Listings are cached for a short while,
keyed by the tracking URI: credentials come from the server's environment, so every user sees the same lists.
Only tracking URIs the operator offers are read (`check_tracking_uri`). The file lists never include the
upload folder, even when an allowed folder holds it: uploads belong to the session that made them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from components.cache import LIST_TTL_S
from components.config import allowed_dirs, check_tracking_uri, upload_root
from modelgap.errors import ModelgapError, TrackingServerError
from modelgap.sources.tracking import client_for, mlflow_error

LIST_ENTRIES = 64
MAX_LISTED = 200
SCAN_DEPTH = 4
SCAN_SECONDS = 2.0  # a huge allowed folder lists what was found by then; the text box takes any other path
MODEL_SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle")
DATA_SUFFIXES = (".csv", ".parquet", ".pq")
_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "mlartifacts", "mlruns", "test-artifacts"}


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version, with what a person needs to recognise it."""

    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    run_name: str | None
    created: str | None
    description: str


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str
    started: str | None
    status: str


def _when(ms: Any) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _client(uri: str) -> Any:
    check_tracking_uri(uri)
    try:
        return client_for(uri)
    except ModelgapError:
        raise
    except Exception as exc:  # MLflow's own errors for a URI it cannot use (an unknown scheme, a bad store)
        raise mlflow_error(exc, "the tracking store", uri) from exc


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def store_problem(uri: str) -> str | None:
    """Why the registry at `uri` cannot be browsed (refused, unreachable, unknown scheme), in app words; or None.

    Asked once per panel draw, before the pickers: one message for the URI instead of one per picker, and an
    answer kept for a while, so an unreachable server costs one timeout, not one per rerun.
    """
    try:
        registered_models(uri)
    except ModelgapError as err:
        if isinstance(err, TrackingServerError) and "refused access" in err.problem:
            return f"{err.problem} Ask this server's operator to check its MLflow credentials."
        return f"{err.problem} Choose another tracking URI above, or ask this server's operator to check this one."
    return None


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def registered_models(uri: str) -> list[str]:
    """Names of the registered models at `uri`, sorted."""
    client = _client(uri)
    try:
        return sorted(m.name for m in client.search_registered_models(max_results=MAX_LISTED))
    except Exception as exc:
        raise mlflow_error(exc, "the registered models", uri) from exc


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def aliases(uri: str, name: str) -> dict[str, str]:
    """alias -> version of one registered model."""
    client = _client(uri)
    try:
        found = client.get_registered_model(name).aliases or {}
    except Exception as exc:
        raise mlflow_error(exc, f"registered model {name}", uri) from exc
    return {str(a): str(v) for a, v in sorted(found.items())}


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def model_versions(uri: str, name: str) -> list[VersionInfo]:
    """The versions of one registered model, newest first, with their aliases and their run's name."""
    client = _client(uri)
    alias_map = aliases(uri, name)
    try:
        versions = list(client.search_model_versions(f"name='{_quote(name)}'", max_results=MAX_LISTED))
    except Exception as exc:
        raise mlflow_error(exc, f"the versions of {name}", uri) from exc
    out = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        run_name = None
        if v.run_id:
            try:
                run_name = client.get_run(v.run_id).info.run_name
            except Exception:  # noqa: BLE001 - a deleted run leaves the version listable; the name is a courtesy
                run_name = None
        out.append(
            VersionInfo(
                version=str(v.version),
                aliases=tuple(a for a, ver in alias_map.items() if ver == str(v.version)),
                run_id=v.run_id,
                run_name=run_name,
                created=_when(v.creation_timestamp),
                description=(v.description or "").strip(),
            )
        )
    return out


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def experiments(uri: str) -> dict[str, str]:
    """experiment id -> name, the most recently created first."""
    client = _client(uri)
    try:
        found = client.search_experiments(max_results=MAX_LISTED, order_by=["creation_time DESC"])
    except Exception as exc:
        raise mlflow_error(exc, "the experiments", uri) from exc
    return {e.experiment_id: e.name for e in found}


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def runs(uri: str, experiment_id: str) -> list[RunInfo]:
    """The latest runs of one experiment."""
    client = _client(uri)
    try:
        found = client.search_runs([experiment_id], max_results=MAX_LISTED, order_by=["attributes.start_time DESC"])
    except Exception as exc:
        raise mlflow_error(exc, f"the runs of experiment {experiment_id}", uri) from exc
    return [
        RunInfo(r.info.run_id, r.info.run_name or r.info.run_id[:8], _when(r.info.start_time), r.info.status)
        for r in found
    ]


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def run_models(uri: str, experiment_id: str, run_id: str) -> list[str]:
    """Artifact paths of the models a run logged: MLflow 3 logged models, else run artifact folders with MLmodel."""
    client = _client(uri)
    names: list[str] = []
    try:
        logged = client.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"source_run_id = '{_quote(run_id)}'", max_results=100
        )
        names = [m.name for m in logged if getattr(m, "name", None)]
    except Exception:  # noqa: BLE001 - older servers have no logged models; the artifact listing below covers them
        names = []
    if not names:
        try:
            names = [
                a.path
                for a in client.list_artifacts(run_id)
                if a.is_dir and any(c.path.endswith("MLmodel") for c in client.list_artifacts(run_id, a.path))
            ]
        except Exception as exc:
            raise mlflow_error(exc, f"the artifacts of run {run_id}", uri) from exc
    return sorted(dict.fromkeys(names))


def _quote(text: str) -> str:
    return text.replace("'", "\\'")


# ------------------------------------------------------------------ files below the allowed folders


def _scan(suffixes: tuple[str, ...], want_mlflow_dirs: bool) -> list[str]:
    found: list[str] = []
    deadline = time.monotonic() + SCAN_SECONDS
    uploads = upload_root()
    for root in allowed_dirs():
        if not root.is_dir():
            continue
        base_depth = len(root.parts)
        for current, dirs, files in os.walk(root):
            here = Path(current)
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in _SKIP_DIRS
                and len(here.parts) - base_depth < SCAN_DEPTH
                and (here / d).resolve() != uploads  # other sessions' uploads are never listed
            )
            if here.resolve() == uploads or uploads in here.resolve().parents:
                dirs[:] = []
                continue
            if want_mlflow_dirs and "MLmodel" in files:
                found.append(str(here))
                dirs[:] = []
                continue
            found += [str(here / f) for f in sorted(files) if f.lower().endswith(suffixes)]
            if len(found) >= MAX_LISTED or time.monotonic() > deadline:
                return list(dict.fromkeys(found))[:MAX_LISTED]
    return list(dict.fromkeys(found))


@st.cache_data(ttl=LIST_TTL_S, max_entries=8, show_spinner=False)
def model_files(allowed_key: str) -> list[str]:
    """MLflow model folders and model files below the allowed folders (bounded; hidden folders skipped).

    `allowed_key` (the allowed folders joined) keys the cache, so a changed configuration rescans.
    """
    return _scan(MODEL_SUFFIXES, want_mlflow_dirs=True)


@st.cache_data(ttl=LIST_TTL_S, max_entries=8, show_spinner=False)
def data_files(allowed_key: str) -> list[str]:
    """CSV and Parquet files below the allowed folders (bounded; hidden folders skipped)."""
    return _scan(DATA_SUFFIXES, want_mlflow_dirs=False)


def allowed_key() -> str:
    return os.pathsep.join(str(d) for d in allowed_dirs())


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def data_columns(path: str, fingerprint: str) -> list[str]:
    """The columns of a data file (a few rows read); `fingerprint` makes an edited file re-read."""
    from modelgap.tables import read_table

    return [str(c) for c in read_table(path, max_rows=5).columns]


@st.cache_data(ttl=LIST_TTL_S, max_entries=LIST_ENTRIES, show_spinner=False)
def run_experiment(uri: str, run_id: str) -> str | None:
    """The experiment a run belongs to (to pre-select it when a link names only the run)."""
    client = _client(uri)
    try:
        return str(client.get_run(run_id).info.experiment_id)
    except Exception as exc:
        raise mlflow_error(exc, f"run {run_id}", uri) from exc
