"""The fingerprint badge: which model exactly is on screen (short SHA-256, version, alias, run)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import streamlit as st

from components.compute import short_source
from modelgap.figures.colors import DEPLOYED_COLOR, REPO_COLOR
from modelgap.model import LoadedModel

SHORT_SHA = 12


def fingerprint_facts(model: LoadedModel) -> dict[str, str]:
    """The facts that tell two models apart at a glance, as short strings (missing ones left out)."""
    m = model.metadata
    mlflow: dict[str, Any] = m.mlflow
    facts: dict[str, str] = {}
    if m.sha256:
        facts["sha256"] = m.sha256[:SHORT_SHA]
    if mlflow.get("version"):
        facts["version"] = f"v{mlflow['version']}"
    if mlflow.get("aliases"):
        facts["alias"] = ", ".join(f"@{a}" for a in mlflow["aliases"])
    if mlflow.get("run_name") or mlflow.get("run_id"):
        facts["run"] = str(mlflow.get("run_name") or str(mlflow["run_id"])[:8])
    when = mlflow.get("creation_time") or mlflow.get("run_start_time") or mlflow.get("utc_time_created")
    if when:
        facts["created"] = str(when)[:16].replace("T", " ")
    facts["model"] = f"{m.model_class.rsplit('.', 1)[-1]} · {model.task}"
    if m.git.get("revision") or m.git.get("commit"):
        facts["git"] = str(m.git.get("revision") or m.git.get("commit"))[:12]
    return facts


def model_badge(side: str, model: LoadedModel) -> None:
    """A compact card in the side's colour: the source, then its fingerprint facts."""
    color = REPO_COLOR if side == "repo" else DEPLOYED_COLOR
    title = "Repo model" if side == "repo" else "Deployed model"
    facts = fingerprint_facts(model)
    chips = " ".join(
        f'<span title="{html.escape(k)}" style="display:inline-block;border:1px solid {color}55;border-radius:0.4rem;'
        f'padding:0 0.35rem;margin:0.1rem 0.1rem 0 0;font-size:0.8rem;white-space:nowrap">'
        f"{html.escape(_chip(k, v))}</span>"
        for k, v in facts.items()
    )
    st.markdown(
        f'<div class="mg-badge" data-side="{side}" style="border-left:6px solid {color};padding:0.35rem 0.6rem;'
        f'margin-bottom:0.6rem;background:{color}0D;border-radius:0.35rem">'
        f'<div style="color:{color};font-weight:800;font-size:0.78rem;letter-spacing:0.06em;text-transform:uppercase">'
        f"{title}</div>"
        f'<div style="font-family:monospace;font-size:0.85rem;overflow-wrap:anywhere">'
        f"{breakable(short_source(model.source, 48))}</div><div>{chips}</div></div>",
        unsafe_allow_html=True,
    )


def breakable(text: str) -> str:
    """Escaped text that a narrow sidebar wraps after a separator (/, @, :) rather than mid-name."""
    escaped = html.escape(text)
    for sep in ("/", "@", ":"):
        escaped = escaped.replace(sep, sep + "<wbr>")
    return escaped


def _chip(key: str, value: str) -> str:
    if key in ("sha256", "run", "git"):
        return f"{key} {value}"
    return value


def data_line(data_path: str | None, target: str | None) -> None:
    """One line naming the sample data and its label column."""
    if not data_path:
        st.caption("No sample data: parameters only.")
        return
    name = Path(data_path).name
    target_text = f" · label column **{target}**" if target else " · no label column"
    st.caption(f"Sample data **{name}**{target_text}")
