"""The shared sidebar: which two models are compared (fingerprint badges) and the panel that changes them.

The panel is an `st.fragment`: changing a picker reruns only the panel (registry listings are cached), and
nothing is loaded until **Compare** is pressed. It is not an `st.form` on purpose: inside a form a widget
cannot update the lists below it, so the versions could not follow the chosen registered model.
A comparison that fails shows its reason and leaves the previous one on screen; the reason goes away as soon
as a picker changes. The tracking URI is chosen among the ones the operator offers, never typed: a browser
cannot point the server (and its credentials) at another host. A URI that cannot be used shows one message
and the pickers stay.
"""

from __future__ import annotations

import json

import streamlit as st

from components import catalog, compute, data_picker, pickers, source_pickers, state, uploads, warmup
from components.badges import data_line, model_badge
from components.cards import side_label
from components.config import TRUSTED_TRACKING_URIS_ENV, default_tracking_uri, trusted_tracking_uris
from components.pickers import PICK, URI_KEY, describe, key, model_picker
from components.state import DEFAULT_SHAP_ROWS, ComparisonSpec
from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.redact import redact_uri
from modelgap.sources.origins import same_tracking_uri

SEEDED_FROM = PICK + "seeded_from"
APPLY_KEY = PICK + "apply"
RELOAD_KEY = "modelgap.reload"
SHAP_KEY = PICK + "shap_rows"
TOLERANCE_KEY = PICK + "tolerance"


def render(comparison: Comparison | None) -> None:
    """Draw the sidebar below the page navigation."""
    uploads.sweep_now_and_then()  # ended sessions' uploads go even when nobody uploads again
    with st.sidebar:
        _current(comparison)
        open_panel = comparison is None or state.apply_error() is not None
        with st.expander("Change the comparison", expanded=open_panel, icon=":material/swap_horiz:"):
            panel()


def _current(comparison: Comparison | None) -> None:
    spec = state.current_spec()
    if comparison is not None:
        model_badge("repo", comparison.repo)
        model_badge("deployed", comparison.deployed)
        data_line(comparison.data_path, comparison.options.target)
    elif spec is not None:
        st.caption(
            f"Repo: `{compute.short_source(spec.repo)}`  \nDeployed: `{compute.short_source(spec.deployed)}`  \n"
            "(not compared: see the message on the page)"
        )
    else:
        st.caption("No comparison chosen yet.")
    if spec is not None and st.button(
        "Reload from the sources",
        key=RELOAD_KEY,
        type="tertiary",
        icon=":material/refresh:",
        help="Load both models again, e.g. after an alias was moved to another version in the registry.",
    ):
        compute.forget(spec)
        state.clear_failure()
        st.rerun()
    st.caption("The page address reproduces this view: copy it to share.")


def seed(spec: ComparisonSpec | None, demo_sample: str | None) -> None:
    """Pre-fill every picker from `spec` once per spec (first run, a shared link, the back button)."""
    wanted = spec.key() if spec else "none"
    if st.session_state.get(SEEDED_FROM) == wanted:
        return
    for name in [k for k in st.session_state if str(k).startswith(PICK)]:
        del st.session_state[name]
    st.session_state[URI_KEY] = (spec.tracking_uri if spec else None) or default_tracking_uri()
    if spec is not None:
        for side, source in (("repo", spec.repo), ("deployed", spec.deployed)):
            for field, value in describe(source).items():
                st.session_state[key(side, field)] = value
        data_picker.seed(spec.data_path, spec.target, demo_sample)
        source_pickers.seed_meta(spec.deployed_meta)
        st.session_state[SHAP_KEY] = spec.shap_rows
        st.session_state[TOLERANCE_KEY] = spec.tolerance or 0.0
    st.session_state[SEEDED_FROM] = wanted


def _allowed(spec: ComparisonSpec | None) -> bool:
    """May this server compare `spec` (the checks made before loading anything)?"""
    if spec is None:
        return False
    try:
        compute.check_spec(spec)
    except ModelgapError:
        return False
    return True


def uri_picker() -> tuple[str | None, str | None]:
    """(tracking URI, why it cannot be browsed): a choice among the URIs the operator offers, checked once."""
    offered = trusted_tracking_uris()
    if not offered:
        st.session_state.pop(URI_KEY, None)
        st.info(
            "No MLflow tracking server is configured here: the operator sets MLFLOW_TRACKING_URI or lists "
            f"servers in {TRUSTED_TRACKING_URIS_ENV}. Files, uploads and git revisions still work."
        )
        return None, None
    current = st.session_state.get(URI_KEY) or default_tracking_uri()
    st.session_state[URI_KEY] = next((u for u in offered if _same_uri(u, current)), offered[0])
    uri = st.selectbox(
        "MLflow tracking URI",
        offered,
        key=URI_KEY,
        format_func=redact_uri,
        help="Where the registry and runs are: the tracking servers this server's operator offers "
        f"(MLFLOW_TRACKING_URI, {TRUSTED_TRACKING_URIS_ENV}). Read only: nothing is written.",
    )
    problem = catalog.store_problem(uri) if uri else None
    if problem:
        st.error(problem, icon=":material/error:")
    return uri, problem


def _same_uri(a: str, b: str | None) -> bool:
    try:
        return bool(b) and same_tracking_uri(a, str(b))
    except ValueError:  # a port that is not a number
        return False


@st.fragment
def panel() -> None:
    """Pickers for both models and the data, and the Compare button."""
    if trusted_tracking_uris() and not warmup.tracking_ready():
        st.caption("Reading the registry's lists…", help="The pickers appear in a moment; the comparison is ready.")
        return  # a cold server's first view: app.py reruns the app when MLflow is ready (components.warmup)
    demo = compute.demo_spec()
    demo_sample = demo.data_path if demo else None
    current = state.current_spec()
    seed(current if _allowed(current) else demo, demo_sample)  # a refused link leaves the pickers on the demo
    uri, uri_problem = uri_picker()
    st.markdown(side_label("repo"), unsafe_allow_html=True)
    repo = model_picker("repo", uri, uri_problem)
    st.markdown(side_label("deployed"), unsafe_allow_html=True)
    deployed = model_picker("deployed", uri, uri_problem)
    st.markdown("**Sample data**")
    data_path, target, data_ok = data_picker.data_picker(demo_sample)
    st.session_state.setdefault(SHAP_KEY, DEFAULT_SHAP_ROWS)
    st.session_state.setdefault(TOLERANCE_KEY, 0.0)
    with st.expander("Options", icon=":material/tune:"):
        shap_rows = st.number_input(
            "Rows explained with SHAP",
            min_value=0,
            max_value=100_000,
            step=100,
            key=SHAP_KEY,
            help="SHAP values say how much each input column pushed a prediction. 0 skips explanations.",
        )
        tolerance = st.number_input(
            "Regression tolerance (0 = automatic)",
            min_value=0.0,
            format="%.6g",
            key=TOLERANCE_KEY,
            help="Regression only: a row disagrees when |repo - deployed| is above this. "
            "Automatic: 1% of the spread of the deployed model's predictions.",
        )
    meta = st.session_state.get(key("deployed", "meta"))
    picks = json.dumps([repo, deployed, uri, data_path, target, tolerance, shap_rows, meta])
    clicked = st.button("Compare", type="primary", key=APPLY_KEY, icon=":material/compare_arrows:", width="stretch")
    if clicked:
        if not (repo and deployed and data_ok):
            shown = uri_problem or pickers.problem("repo") or pickers.problem("deployed") or data_picker.problem()
            # A picker's problem is on screen already: "choose first" would only add noise.
            state.set_apply_error(None if shown else "Choose both models and the sample data first.", picks)
        else:
            candidate = ComparisonSpec(
                repo=repo,
                deployed=deployed,
                tracking_uri=uri or None,
                data_path=data_path,
                target=target,
                tolerance=float(tolerance) if tolerance else None,
                shap_rows=int(shap_rows or 0),
                **source_pickers.spec_extras(state.current_spec(), repo, deployed),
            )
            if compute.apply(candidate):
                st.session_state[SEEDED_FROM] = candidate.key()
                st.rerun()
    _forget_stale_error(picks)
    message = state.apply_error()
    if message:
        st.error(f"Not changed: {message}", icon=":material/error:")


def _forget_stale_error(picks: str) -> None:
    """A rejected change's reason stays while the pickers still say the same; any change of theirs clears it."""
    if state.apply_error() is None:
        return
    noted = state.apply_error_picks()
    if noted is None:
        state.note_apply_error_picks(picks)
    elif noted != picks:
        state.set_apply_error(None)
