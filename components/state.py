"""Session state behind typed accessors, and its two-way sync with the page's query parameters.

Session state holds small specs only (source strings, a tracking URI, a data path, a target, the chosen row,
page settings) under `modelgap.*` keys: never DataFrames or models, which live in the shared caches of
`components.compute`. The part someone may want to share is mirrored in `st.query_params`, so the page's
address reproduces the view:

    repo, deployed  model source strings        data  sample data path     target  label column
    uri             MLflow tracking URI         row   chosen row (0-based)
    tol, shap       tolerance / SHAP rows, written only when they differ from the defaults
    meta            the registry entry a deployed scoring endpoint serves (models:/name@alias)
    repo_train, deployed_train   training-data paths the user named for each model (Data page)

This session's uploads (`session_uploads`: small {path, name, kind, link} entries, never listed to another
session) appear in the address as `upload:<sha256 prefix>/<name>`, never as the server's path; only the
session that made an upload can turn its link back into the path.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import streamlit as st

from modelgap.options import DEFAULT_SHAP_ROWS, CompareOptions

PREFIX = "modelgap."
QUERY_KEYS = ("repo", "deployed", "data", "target", "uri", "row", "tol", "shap", "meta", "repo_train", "deployed_train")

# One key per field of the current ComparisonSpec (small strings and numbers).
_SPEC_KEYS = {
    "repo": PREFIX + "repo_source",
    "deployed": PREFIX + "deployed_source",
    "tracking_uri": PREFIX + "tracking_uri",
    "data_path": PREFIX + "data_path",
    "target": PREFIX + "target",
    "tolerance": PREFIX + "tolerance",
    "shap_rows": PREFIX + "shap_rows",
    "deployed_meta": PREFIX + "deployed_meta",
    "repo_training_data": PREFIX + "repo_training_data",
    "deployed_training_data": PREFIX + "deployed_training_data",
}
_OPTIONAL_PARAMS = (  # query key -> spec field, for the optional strings
    ("data", "data_path"),
    ("target", "target"),
    ("uri", "tracking_uri"),
    ("meta", "deployed_meta"),
    ("repo_train", "repo_training_data"),
    ("deployed_train", "deployed_training_data"),
)
_ROW = PREFIX + "row"
_SYNCED = PREFIX + "synced_params"  # what the URL held after our last sync
_FAILURE = PREFIX + "failure"  # {"key", "message"}: the current spec could not be compared
_APPLY_ERROR = PREFIX + "apply_error"  # {"message", "picks"}: the last rejected change (the previous one was kept)
_PAGE = PREFIX + "page."
_UPLOAD_TOKEN = PREFIX + "upload_token"  # names this session's private upload folder
_UPLOADS = PREFIX + "uploads"  # [{"path", "name", "kind"}]: what this session uploaded
MAX_UPLOADS = 32


@dataclass(frozen=True)
class ComparisonSpec:
    """The unit of "the current comparison": small strings and numbers, cheap to hash, store and share."""

    repo: str
    deployed: str
    tracking_uri: str | None = None
    data_path: str | None = None
    target: str | None = None
    tolerance: float | None = None
    shap_rows: int = DEFAULT_SHAP_ROWS
    deployed_meta: str | None = None  # what a deployed endpoint serves (the CLI's --deployed-meta)
    repo_training_data: str | None = None  # the CLI's --repo-training-data
    deployed_training_data: str | None = None  # the CLI's --deployed-training-data

    def key(self) -> str:
        """A stable string naming this spec (cache keys, "has it changed?")."""
        return json.dumps(asdict(self), sort_keys=True)

    def options(self) -> CompareOptions:
        """The core's options for this spec: the same numbers the CLI gives for the same flags (the sources and
        training data travel in the ComparisonRequest, `components.compute.request_for`)."""
        return CompareOptions(target=self.target, tolerance=self.tolerance, shap_rows=self.shap_rows)

    def to_params(self) -> dict[str, str]:
        """The query parameters for this spec (empty values left out)."""
        out = {"repo": self.repo, "deployed": self.deployed}
        for key, field_name in _OPTIONAL_PARAMS:
            value = getattr(self, field_name)
            if value:
                out[key] = value
        if self.tolerance is not None:
            out["tol"] = repr(self.tolerance)
        if self.shap_rows != DEFAULT_SHAP_ROWS:
            out["shap"] = str(self.shap_rows)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, str], defaults: ComparisonSpec | None) -> ComparisonSpec | None:
        """A spec from query parameters; fields the link leaves out come from `defaults` (the demo)."""
        base = defaults or ComparisonSpec(repo="", deployed="")
        changes: dict[str, Any] = {}
        for key, field_name in (("repo", "repo"), ("deployed", "deployed")):
            if params.get(key):
                changes[field_name] = params[key].strip()
        for key, field_name in _OPTIONAL_PARAMS:
            if key in params:
                changes[field_name] = params[key].strip() or None
        if "tol" in params:
            changes["tolerance"] = _float_or_none(params["tol"])
        if "shap" in params:
            changes["shap_rows"] = _int_or(params["shap"], base.shap_rows)
        spec = replace(base, **changes)
        return spec if spec.repo and spec.deployed else None


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _int_or(text: str, default: int) -> int:
    try:
        return max(0, int(text))
    except ValueError:
        return default


def _int_or_none(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    return int(text)


# ------------------------------------------------------------------ the current comparison


def current_spec() -> ComparisonSpec | None:
    """The comparison the pages show, or None before one is chosen (no demo, no link)."""
    ss = st.session_state
    repo, deployed = ss.get(_SPEC_KEYS["repo"]), ss.get(_SPEC_KEYS["deployed"])
    if not repo or not deployed:
        return None
    return ComparisonSpec(
        repo=str(repo),
        deployed=str(deployed),
        tracking_uri=ss.get(_SPEC_KEYS["tracking_uri"]),
        data_path=ss.get(_SPEC_KEYS["data_path"]),
        target=ss.get(_SPEC_KEYS["target"]),
        tolerance=ss.get(_SPEC_KEYS["tolerance"]),
        shap_rows=int(ss.get(_SPEC_KEYS["shap_rows"], DEFAULT_SHAP_ROWS)),
        deployed_meta=ss.get(_SPEC_KEYS["deployed_meta"]),
        repo_training_data=ss.get(_SPEC_KEYS["repo_training_data"]),
        deployed_training_data=ss.get(_SPEC_KEYS["deployed_training_data"]),
    )


def set_spec(spec: ComparisonSpec) -> None:
    """Make `spec` the current comparison and forget the failures of the previous one."""
    for name, value in asdict(spec).items():
        st.session_state[_SPEC_KEYS[name]] = value
    st.session_state.pop(_FAILURE, None)


def chosen_row() -> int | None:
    """The row (0-based position in the data file) a page drilled into, shared in the URL as `row`."""
    value = st.session_state.get(_ROW)
    return int(value) if value is not None else None


def set_chosen_row(row: int | None) -> None:
    st.session_state[_ROW] = None if row is None else int(row)


def failure() -> dict[str, str] | None:
    """{"key", "message"} when the current spec could not be compared (kept so it is not retried every rerun)."""
    value = st.session_state.get(_FAILURE)
    return dict(value) if value else None


def set_failure(spec: ComparisonSpec, message: str) -> None:
    st.session_state[_FAILURE] = {"key": spec.key(), "message": message}


def clear_failure() -> None:
    st.session_state.pop(_FAILURE, None)


def apply_error() -> str | None:
    """Why the last change of the comparison was rejected (the previous comparison was kept)."""
    value = st.session_state.get(_APPLY_ERROR)
    return str(value["message"]) if value else None


def set_apply_error(message: str | None, picks: str | None = None) -> None:
    """Record (or, with None, forget) why a change was rejected; `picks` names the picker values it was for."""
    if message:
        st.session_state[_APPLY_ERROR] = {"message": message, "picks": picks}
    else:
        st.session_state.pop(_APPLY_ERROR, None)


def apply_error_picks() -> str | None:
    """The picker values the rejected change was made with (None until the sidebar notes them)."""
    value = st.session_state.get(_APPLY_ERROR)
    return value.get("picks") if value else None


def note_apply_error_picks(picks: str) -> None:
    value = st.session_state.get(_APPLY_ERROR)
    if value:
        st.session_state[_APPLY_ERROR] = {**value, "picks": picks}


# ------------------------------------------------------------------ this session's uploads


@dataclass(frozen=True)
class Upload:
    """One file this session uploaded: where the server keeps it (never shown) and the name the user gave it."""

    path: str
    name: str
    kind: str  # "model" or "data"
    link: str  # what the page's address shows instead of the path: upload:<sha256 prefix>/<name>


def upload_token() -> str:
    """A random name for this session's private upload folder (made on first use, kept for the session)."""
    token = st.session_state.get(_UPLOAD_TOKEN)
    if not token:
        token = secrets.token_hex(16)
        st.session_state[_UPLOAD_TOKEN] = token
    return str(token)


def session_uploads() -> list[Upload]:
    """What this session uploaded, oldest first (only this session's: other sessions' uploads are never listed)."""
    return [Upload(**entry) for entry in st.session_state.get(_UPLOADS, [])]


def add_upload(upload: Upload) -> None:
    kept = [asdict(u) for u in session_uploads() if u.path != upload.path]
    st.session_state[_UPLOADS] = [*kept, asdict(upload)][-MAX_UPLOADS:]


# ------------------------------------------------------------------ page settings


def page_setting(page: str, name: str, default: Any) -> Any:
    """A small per-page setting (a toggle, a search string) that survives switching pages."""
    return st.session_state.get(f"{_PAGE}{page}.{name}", default)


def set_page_setting(page: str, name: str, value: Any) -> None:
    st.session_state[f"{_PAGE}{page}.{name}"] = value


def setting_widget_key(page: str, name: str, default: Any) -> str:
    """The key for a widget bound to a page setting, pre-filled from it.

    Streamlit drops a widget's state when its page is not shown; the setting keeps the value, and this puts
    it back before the widget is drawn. Store the widget's return value with `set_page_setting` afterwards.
    """
    key = f"{PREFIX}widget.{page}.{name}"
    if key not in st.session_state:
        st.session_state[key] = page_setting(page, name, default)
    return key


# ------------------------------------------------------------------ query parameters


_PATH_PARAMS = ("repo", "deployed", "data", "meta", "repo_train", "deployed_train")


def _uploads_as_links(params: dict[str, str]) -> dict[str, str]:
    """This session's upload paths written as `upload:<sha>/<name>`: the address never shows a server path."""
    links = {u.path: u.link for u in session_uploads()}
    return {k: links.get(v, v) if k in _PATH_PARAMS else v for k, v in params.items()}


def _links_as_uploads(params: dict[str, str]) -> dict[str, str]:
    """`upload:` links back to this session's paths; another session's (or an expired) link stays as it is,
    and the comparison refuses it."""
    paths = {u.link: u.path for u in session_uploads()}
    return {k: paths.get(v, v) if k in _PATH_PARAMS else v for k, v in params.items()}


def share_params() -> dict[str, str]:
    """The query parameters that reproduce the current view (for st.page_link and shared links)."""
    spec = current_spec()
    params = _uploads_as_links(spec.to_params()) if spec else {}
    row = chosen_row()
    if row is not None:
        params["row"] = str(row)
    return params


def _url_params() -> dict[str, str]:
    return {k: st.query_params[k] for k in QUERY_KEYS if k in st.query_params}


def read_url(defaults: ComparisonSpec | None) -> ComparisonSpec | None:
    """Start of every run: the comparison the URL asks for when it is not the session's, else None.

    On a session's first run the URL (a shared link) or else `defaults` (the demo) becomes the current spec
    directly. Later, navigation may clear the URL (then `write_url` restores it); a URL that changed to other
    values (the browser's back button) is returned, for the caller to apply like a picker change.
    """
    params = _url_params()
    synced = st.session_state.get(_SYNCED)
    if synced is None:  # first run of this session
        spec = ComparisonSpec.from_params(_links_as_uploads(params), defaults) if params else defaults
        if spec is not None:
            set_spec(spec)
        set_chosen_row(_int_or_none(params.get("row")))
        st.session_state[_SYNCED] = params
        return None
    if not params or params == synced:
        return None
    set_chosen_row(_int_or_none(params.get("row")))
    st.session_state[_SYNCED] = params
    wanted = ComparisonSpec.from_params(_links_as_uploads(params), current_spec() or defaults)
    return wanted if wanted is not None and wanted != current_spec() else None


def write_url() -> None:
    """End of the state changes of a run: mirror the current comparison into the URL (only what changed)."""
    wanted = share_params()
    if _url_params() != wanted:
        for key in QUERY_KEYS:
            if key in wanted:
                st.query_params[key] = wanted[key]
            elif key in st.query_params:
                del st.query_params[key]
    st.session_state[_SYNCED] = wanted
