"""The explicit write-back of the verdict to the repo model's MLflow run: nothing is written unless the user
ticks the confirmation box and presses the button, and then only on the repo model's own run."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from components import state
from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.redact import log_exception, redact_uri
from modelgap.values import one_line

LOG = logging.getLogger("modelgap.app")


def _redact(uri: str | None) -> str:
    return redact_uri(uri or "")


def writeback_panel(comparison: Comparison, tracking_uri: str | None, comparison_key: str) -> None:
    """Record the verdict on the repo model's MLflow run: only after the box is ticked and the button pressed."""
    run_id = comparison.repo.metadata.mlflow.get("run_id")
    if not run_id:
        st.caption(
            "Recording the verdict in MLflow needs a repo model from an MLflow run or the registry (runs:/…, "
            "models:/…); this repo model is a file or folder, so there is nowhere to record it."
        )
        return
    st.markdown(
        f"Adds `modelgap.*` tags (verdict, failed and warned checks, what it was compared with) and the three "
        f"reports (under `modelgap/`) to the repo model's existing run `{run_id}`. Nothing is written to the "
        "deployed model, its registry version or its run, and no new run is started."
    )
    confirmed = st.checkbox(
        "Record this verdict on the repo model's MLflow run", key="modelgap.report.writeback.confirm"
    )
    pressed = st.button(
        "Write to MLflow",
        key="modelgap.report.writeback.write",
        type="primary",
        icon=":material/cloud_upload:",
        disabled=not confirmed,
    )
    if pressed and confirmed:
        try:
            from modelgap.writeback import log_to_mlflow

            with st.spinner(f"Writing to run {run_id}…"):
                written = log_to_mlflow(comparison, tracking_uri=tracking_uri)
        except ModelgapError as err:
            st.error(err.one_line(), icon=":material/error:")
        except Exception as exc:  # noqa: BLE001 - shown and logged (redacted); the page keeps working
            log_exception(LOG, "Write-back to MLflow failed")
            st.error(f"Unexpected {type(exc).__name__}: {one_line(exc)}", icon=":material/error:")
        else:
            done: dict[str, Any] = {
                "key": comparison_key,
                "run_id": written.run_id,
                "tracking_uri": _redact(written.tracking_uri),
                "tags": dict(written.tags),
                "artifacts": list(written.artifacts),
            }
            state.set_page_setting("report", "written", done)
    record: Any = state.page_setting("report", "written", None)
    if isinstance(record, dict) and record.get("key") == comparison_key:
        st.success(
            f"Recorded on run `{record['run_id']}` at `{record['tracking_uri']}`: {len(record['tags'])} tags and "
            f"{len(record['artifacts'])} artifacts.",
            icon=":material/check_circle:",
        )
        tags: dict[str, str] = dict(record["tags"])
        st.dataframe(
            {"tag": list(tags), "value": list(tags.values())},
            hide_index=True,
            width="stretch",
            column_config={"tag": "Tag", "value": "Value"},
        )
        st.markdown("Artifacts: " + ", ".join(f"`{a}`" for a in record["artifacts"]))
