"""Model pickers: for one side, choose the kind of source, then the model from lists where lists exist.

Each picker draws its widgets (keys `modelgap.pick.<side>.<field>`) and returns the chosen source string,
or None while the choice is incomplete or refused (the reason is shown with st.error, once, and kept in
`problem(side)` so the sidebar does not add a second message). Nothing is loaded here: the sidebar's
Compare button applies the choice. A selectbox remembers its value while it is hidden (`select`), so an
alias or a label column survives a detour through an unreachable registry or an upload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from components import catalog, uploads
from components.config import APP_ROOT, check_allowed_path, is_upload, pickle_uploads_allowed
from modelgap.errors import ModelgapError
from modelgap.sources.refs import parse_source

LOG = logging.getLogger("modelgap.app")

PICK = "modelgap.pick."
URI_KEY = PICK + "uri"
OTHER = "__other__"
KIND_LABELS = {
    "registry": "MLflow registry",
    "run": "MLflow run",
    "local": "File or folder on this server",
    "upload": "Upload a model file",
    "git": "Git revision",
    "endpoint": "Live scoring endpoint",
    "text": "Any source string",
}


def key(side: str, name: str) -> str:
    return f"{PICK}{side}.{name}"


def problem(side: str) -> str | None:
    """The message the last draw of this side's picker showed with st.error, if any."""
    value = st.session_state.get(key(side, "problem"))
    return str(value) if value else None


def show_problem(side: str, message: str) -> None:
    """Show a picker's problem (upload paths named by the user's file names) and remember it for the sidebar."""
    text = uploads.shown(message)
    st.session_state[key(side, "problem")] = text
    st.error(text, icon=":material/error:")


def describe(source: str) -> dict[str, str]:
    """The picker fields that reproduce `source` (used to pre-fill the widgets from a link or the demo). The
    core parses it (`parse_source`); what it cannot parse, and a logged model, go to the plain text field."""
    s = source.strip()
    try:
        ref = parse_source(s)
    except ModelgapError:
        return {"kind": "text", "text": s}
    if ref.registry is not None and not ref.registry.logged_model_id:
        return {"kind": "registry", "model": ref.registry.name, "ref": ref.registry.reference}
    if ref.run is not None:
        return {"kind": "run", "run": ref.run.run_id, "artifact": ref.run.artifact_path}
    if ref.kind == "git":
        return {"kind": "git", "git": ref.text}
    if ref.kind == "endpoint":
        return {"kind": "endpoint", "endpoint": ref.text}
    if ref.kind == "local":
        if is_upload(s):
            return {"kind": "upload", "upload_path": s}  # the file widget cannot be pre-filled: the upload is kept
        return {"kind": "local", "path": s}
    return {"kind": "text", "text": s}


def select(
    label: str,
    options: Sequence[Any],
    widget_key: str,
    *,
    format_func: Callable[[Any], str] = str,
    help: str | None = None,
    keep_unlisted: bool = True,
) -> Any:
    """A selectbox that remembers its value while it is not drawn, and whose pre-filled value stays selectable
    even when the list no longer offers it (`keep_unlisted=False`: then the first option is chosen instead).

    Streamlit forgets a widget's value when a run does not draw it (an unreachable registry, a pending upload);
    the copy kept under `<key>.kept` puts it back, so the choice does not silently move to the first option.
    """
    opts = list(options)
    kept = widget_key + ".kept"
    if widget_key not in st.session_state and kept in st.session_state:
        st.session_state[widget_key] = st.session_state[kept]
    current = st.session_state.get(widget_key)
    if current is not None and current not in opts:
        if keep_unlisted:
            opts.insert(0, current)
        else:
            del st.session_state[widget_key]
    value = st.selectbox(label, opts, key=widget_key, format_func=format_func, help=help)
    st.session_state[kept] = value
    return value


def model_picker(side: str, tracking_uri: str | None, uri_problem: str | None = None) -> str | None:
    """The kind of source, then that kind's widgets; the chosen source string or None.

    `uri_problem`: the tracking URI cannot be used (the sidebar shows why, once); registry lists are not drawn.
    """
    st.session_state.pop(key(side, "problem"), None)
    kind = st.selectbox(
        "Kind of source",
        list(KIND_LABELS),
        key=key(side, "kind"),
        format_func=KIND_LABELS.__getitem__,
        help="Where this model comes from. Lists are offered where the source can be browsed.",
    )
    try:
        if kind in ("registry", "run") and uri_problem:
            st.info("The registry cannot be browsed with this tracking URI (see above).")
            return None
        if kind == "registry":
            return _registry(side, tracking_uri)
        if kind == "run":
            return _run(side, tracking_uri)
        if kind == "local":
            return _local(side)
        if kind == "upload":
            return _upload(side)
        if kind in ("git", "endpoint"):
            from components import source_pickers

            if kind == "git":
                return source_pickers.git_picker(side)
            return source_pickers.endpoint_picker(side, tracking_uri)
    except ModelgapError as err:
        show_problem(side, err.one_line())
        return None
    except Exception as exc:
        LOG.exception("Picker failed")
        show_problem(side, f"Unexpected {type(exc).__name__} while listing this source; pick another.")
        return None
    return _typed(side, "text", "Source", "models:/name@alias, runs:/<run>/<path>, a path…", ())


def _registry(side: str, uri: str | None) -> str | None:
    if not uri:
        st.info("Browsing the registry needs an MLflow tracking URI, and this server offers none (see above).")
        return None
    names = catalog.registered_models(uri)
    if not names:
        st.info("No registered models at this tracking URI.")
        return None
    name = select("Registered model", names, key(side, "model"))
    alias_map = catalog.aliases(uri, name)
    versions = {v.version: v for v in catalog.model_versions(uri, name)}
    refs = [f"@{a}" for a in alias_map] + list(versions)

    def label(ref: str) -> str:
        version = alias_map.get(ref[1:]) if ref.startswith("@") else ref
        info = versions.get(version or "")
        head = f"{ref} → v{version}" if ref.startswith("@") else f"v{ref}"
        if info is None:
            return f"{head} (not found)" if ref.startswith("@") or ref.isdigit() else ref
        tags = f" {' '.join('@' + a for a in info.aliases)}" if info.aliases and not ref.startswith("@") else ""
        when = f", {info.created[:10]}" if info.created else ""
        return f"{head}{tags} · {info.run_name or 'no run'}{when}"

    ref = select(
        "Version or alias",
        refs,
        key(side, "ref"),
        format_func=label,
        help="An alias (such as @champion) follows whichever version it points to; a number is one fixed version.",
    )
    version = alias_map.get(ref[1:]) if ref.startswith("@") else ref
    info = versions.get(version or "")
    if info is not None:
        st.caption(
            f"v{info.version} · run **{info.run_name or '—'}** · registered {info.created or '—'}"
            + (f"  \n{info.description}" if info.description else "")
        )
    if ref.startswith("@"):
        return f"models:/{name}{ref}"
    return f"models:/{name}/{ref}"


def _run(side: str, uri: str | None) -> str | None:
    if not uri:
        st.info("Browsing runs needs an MLflow tracking URI, and this server offers none (see above).")
        return None
    experiments = catalog.experiments(uri)
    exp_key, run_key = key(side, "experiment"), key(side, "run")
    if exp_key not in st.session_state and st.session_state.get(run_key):
        found = catalog.run_experiment(uri, st.session_state[run_key])
        if found:
            st.session_state[exp_key] = found
    experiment = select("Experiment", list(experiments), exp_key, format_func=lambda e: experiments.get(e, e))
    if experiment is None:
        st.info("No experiments at this tracking URI.")
        return None
    runs = {r.run_id: r for r in catalog.runs(uri, experiment)}

    def run_label(run_id: str) -> str:
        r = runs.get(run_id)
        return f"{r.run_name} · {r.started or '—'}" if r else run_id

    run_id = select("Run", list(runs), run_key, format_func=run_label)
    if run_id is None:
        st.info("This experiment has no runs.")
        return None
    artifact = select("Logged model", catalog.run_models(uri, experiment, run_id), key(side, "artifact"))
    if artifact is None:
        st.info("This run logged no model.")
        return None
    return f"runs:/{run_id}/{artifact}"


def display_path(path: str) -> str:
    if path == OTHER:
        return "Other path…"
    p = Path(path)
    try:
        return str(p.relative_to(APP_ROOT))
    except ValueError:
        return path


def _local(side: str) -> str | None:
    found = catalog.model_files(catalog.allowed_key())
    choice = select(
        "Model file or folder",
        [*found, OTHER],
        key(side, "path"),
        format_func=display_path,
        help="MLflow model folders and .skops/.joblib/.pkl files below the folders this server allows.",
    )
    source = str(choice or "")
    if choice == OTHER:
        source = st.text_input("Path on the server", key=key(side, "path_text"), placeholder="/models/model.skops")
    source = source.strip()
    if not source:
        return None
    check_allowed_path(source, "Model path")
    return source


def _upload(side: str) -> str | None:
    pickle_note = "" if pickle_uploads_allowed() else " Pickle/joblib files are refused: loading one runs code."
    upload = st.file_uploader(
        "Model file",
        type=["skops", "zip", "joblib", "pkl", "pickle"],
        key=key(side, "upload"),
        help="A .skops file or a zipped MLflow model folder. The content is checked, not the extension. "
        "Only this session sees it; it is deleted when the session ends." + pickle_note,
    )
    return uploaded_source(upload, key(side, "upload_source"), key(side, "upload_path"), uploads.accept_model_upload)


def uploaded_source(upload: Any, memo_key: str, kept_key: str, accept: Callable[[bytes, str], str]) -> str | None:
    """The stored path of the file in an upload widget (stored once per file), or, while the widget is empty,
    the upload this session chose before (a link or the back button cannot refill the widget)."""
    memo = st.session_state.get(memo_key)
    if upload is None:
        kept = st.session_state.get(kept_key)
        if kept and uploads.owns(kept):
            st.caption(f"Using **{uploads.display_name(kept) or Path(kept).name}**, uploaded earlier in this session.")
            return str(kept)
        return None
    if memo and memo.get("id") == upload.file_id:
        return str(memo["source"])
    source = accept(upload.getvalue(), upload.name)
    st.session_state[memo_key] = {"id": upload.file_id, "source": source}
    st.session_state[kept_key] = source
    return source


def _typed(side: str, field: str, label: str, placeholder: str, prefixes: tuple[str, ...]) -> str | None:
    text = st.text_input(label, key=key(side, field), placeholder=placeholder).strip()
    if not text:
        return None
    if prefixes and not text.startswith(prefixes):
        st.error(f"{label} must start with {' or '.join(prefixes)}.", icon=":material/error:")
        return None
    return text
