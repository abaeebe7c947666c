"""Sample-data picker: the demo sample, a file on the server or an upload, then the label column from a list.

The label column is remembered while the list is hidden (an upload in progress), and kept when the new file
has it too; an upload is private to this session (`components.uploads`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import catalog, uploads
from components.compute import fingerprint
from components.config import check_allowed_path, is_upload
from components.pickers import OTHER, PICK, display_path, select, uploaded_source
from modelgap.errors import ModelgapError

DATA_KIND = PICK + "data.kind"
DATA_PATH = PICK + "data.path"
DATA_TEXT = PICK + "data.path_text"
DATA_UPLOAD = PICK + "data.upload"
DATA_MEMO = PICK + "data.upload_source"
DATA_KEPT = PICK + "data.upload_path"
DATA_PROBLEM = PICK + "data.problem"
TARGET = PICK + "data.target"
NO_TARGET = "__none__"
DATA_KINDS = {
    "demo": "Demo sample",
    "path": "File on this server",
    "upload": "Upload CSV or Parquet",
    "none": "No data (parameters only)",
}


def data_picker(demo_sample: str | None) -> tuple[str | None, str | None, bool]:
    """(data path, label column, complete): the widgets for the sample data and its label column."""
    st.session_state.pop(DATA_PROBLEM, None)
    kinds = [k for k in DATA_KINDS if k != "demo" or demo_sample]
    kind = st.selectbox(
        "Sample data",
        kinds,
        key=DATA_KIND,
        format_func=DATA_KINDS.__getitem__,
        help="Rows both models predict on: disagreements, metrics and SHAP explanations are measured on them.",
    )
    try:
        path = _path_for(kind, demo_sample)
    except ModelgapError as err:
        _show_problem(err.one_line())
        return None, None, False
    if kind == "none":
        return None, None, True
    if not path:
        return None, None, False
    try:
        columns = catalog.data_columns(path, fingerprint(path))
    except ModelgapError as err:
        _show_problem(err.one_line())
        return None, None, False
    target = select(
        "Label column",
        [NO_TARGET, *columns],
        TARGET,
        format_func=lambda c: "(none: compare predictions only)" if c == NO_TARGET else c,
        help="The true outcome, if the data has it: enables accuracy-type metrics and 'flips' (right -> wrong).",
        keep_unlisted=False,  # a label column the new file lacks is dropped, one it has is kept
    )
    return path, (None if target in (None, NO_TARGET) else str(target)), True


def problem() -> str | None:
    """The message the last draw of the data picker showed with st.error, if any."""
    value = st.session_state.get(DATA_PROBLEM)
    return str(value) if value else None


def _show_problem(message: str) -> None:
    text = uploads.shown(message)
    st.session_state[DATA_PROBLEM] = text
    st.error(text, icon=":material/error:")


def _path_for(kind: str, demo_sample: str | None) -> str | None:
    if kind == "demo":
        return demo_sample
    if kind == "path":
        choice = select(
            "Data file",
            [*catalog.data_files(catalog.allowed_key()), OTHER],
            DATA_PATH,
            format_func=display_path,
            help="CSV and Parquet files below the folders this server allows.",
        )
        path = choice if choice != OTHER else st.text_input("Path on the server", key=DATA_TEXT).strip()
        if not path:
            return None
        return str(check_allowed_path(path, "The data file"))
    if kind == "upload":
        upload = st.file_uploader(
            "Data file",
            type=["csv", "parquet", "pq", "txt"],
            key=DATA_UPLOAD,
            help="Checked by content, not by name. Only this session sees it; it is deleted when the session ends.",
        )
        return uploaded_source(upload, DATA_MEMO, DATA_KEPT, uploads.accept_data_upload)
    return None


def seed(data_path: str | None, target: str | None, demo_sample: str | None) -> None:
    """Pre-fill the data widgets from a comparison spec."""
    if not data_path:
        st.session_state[DATA_KIND] = "none"
    elif demo_sample and Path(data_path).resolve() == Path(demo_sample).resolve():
        st.session_state[DATA_KIND] = "demo"
    elif is_upload(data_path):
        st.session_state[DATA_KIND] = "upload"
        st.session_state[DATA_KEPT] = data_path
    else:
        st.session_state[DATA_KIND] = "path"
        st.session_state[DATA_PATH] = data_path
    st.session_state[TARGET] = target or NO_TARGET
