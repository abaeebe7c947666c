"""Sample-data picker: the demo sample, a file on the server or an upload, then the label column from a list."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import catalog, uploads
from components.compute import fingerprint
from components.config import check_allowed_path
from components.pickers import OTHER, PICK, display_path, select
from modelgap.errors import ModelgapError

DATA_KIND = PICK + "data.kind"
DATA_PATH = PICK + "data.path"
DATA_TEXT = PICK + "data.path_text"
DATA_UPLOAD = PICK + "data.upload"
DATA_MEMO = PICK + "data.upload_source"
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
        st.error(err.one_line(), icon=":material/error:")
        return None, None, False
    if kind == "none":
        return None, None, True
    if not path:
        return None, None, False
    try:
        columns = catalog.data_columns(path, fingerprint(path))
    except ModelgapError as err:
        st.error(err.one_line(), icon=":material/error:")
        return None, None, False
    target = select(
        "Label column",
        [NO_TARGET, *columns],
        TARGET,
        format_func=lambda c: "(none: compare predictions only)" if c == NO_TARGET else c,
        help="The true outcome, if the data has it: enables accuracy-type metrics and 'flips' (right -> wrong).",
    )
    return path, (None if target in (None, NO_TARGET) else str(target)), True


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
            "Data file", type=["csv", "parquet", "pq", "txt"], key=DATA_UPLOAD, help="Checked by content, not by name."
        )
        if upload is None:
            return None
        memo = st.session_state.get(DATA_MEMO)
        if memo and memo.get("id") == upload.file_id:
            return str(memo["path"])
        path = uploads.store_data_upload(upload.getvalue(), upload.name)
        st.session_state[DATA_MEMO] = {"id": upload.file_id, "path": path}
        return path
    return None


def seed(data_path: str | None, target: str | None, demo_sample: str | None) -> None:
    """Pre-fill the data widgets from a comparison spec."""
    if not data_path:
        st.session_state[DATA_KIND] = "none"
    elif demo_sample and Path(data_path).resolve() == Path(demo_sample).resolve():
        st.session_state[DATA_KIND] = "demo"
    else:
        st.session_state[DATA_KIND] = "path"
        st.session_state[DATA_PATH] = data_path
    st.session_state[TARGET] = target or NO_TARGET
