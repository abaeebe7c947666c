"""Pickers for two source kinds that need more than a text box: a git revision and a live scoring endpoint.

- Git revision: a path in the repository (the one MODELGAP_GIT_REPO names, else the one around the app's
  working folder: the same rule the loader follows), then one of the commits that changed it, listed by
  `modelgap.sources.git.list_revisions`. Gives `git:<full sha>:<path>`, which stays the same model forever.
- Scoring endpoint: one of the endpoints the operator lists in MODELGAP_ALLOWED_ENDPOINTS (a browser never
  types a URL the server would call), optionally the registry entry it serves (the CLI's `--deployed-meta`),
  and a "Check endpoint" button that asks its `/ping` and `/version`. Credentials never go into the URL (it
  ends up in the page's address): the server reads them from MODELGAP_ENDPOINT_TOKEN / _USERNAME / _PASSWORD
  and sends them only to the listed endpoints.

Widgets use the same `modelgap.pick.<side>.<field>` keys as components.pickers; nothing is loaded here.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import streamlit as st

from components import catalog
from components.cache import LIST_TTL_S
from components.config import ALLOWED_ENDPOINTS_ENV, allowed_endpoints, check_allowed_path
from components.pickers import OTHER, key, select
from components.state import ComparisonSpec
from modelgap.errors import ModelgapError, SourceError
from modelgap.redact import redact_uri
from modelgap.sources import parse_source, source_kind
from modelgap.sources.git import list_revisions, parse_git_source, repo_root
from modelgap.sources.http_client import PASSWORD_ENV, TOKEN_ENV, USERNAME_ENV, split_credentials
from modelgap.sources.origins import endpoint_allowed

REVISION_LIMIT = 100
REVISIONS_TTL_S = LIST_TTL_S
CHECK_TIMEOUT_S = 5.0
NO_META = "__none__"


# ------------------------------------------------------------------ git revision


@st.cache_data(ttl=REVISIONS_TTL_S, max_entries=32, show_spinner=False)
def revisions(root: str, path: str) -> list[dict[str, Any]]:
    """The commits that changed `path` in the repository at `root`, newest first (cached for 30 s)."""
    return [r.to_dict() for r in list_revisions(path, repo_dir=root, limit=REVISION_LIMIT)]


def _revision_label(info: dict[str, Any] | None, rev: str) -> str:
    if info is None:
        return rev
    return f"{info['short_sha']} · {info['date'][:10]} · {info['author']} · {info['subject']}"


def git_picker(side: str) -> str | None:
    """A path, then a revision that changed it: `git:<sha>:<path>`, or None while incomplete."""
    root = repo_root()
    check_allowed_path(root, "The git repository")
    path_key, rev_key = key(side, "git_path"), key(side, "git_rev")
    seeded = st.session_state.get(key(side, "git"))
    if path_key not in st.session_state and isinstance(seeded, str) and seeded.startswith("git:"):
        with_rev = parse_git_source(seeded)  # pre-filled from a link or the current comparison
        st.session_state[path_key], st.session_state[rev_key] = with_rev.path, with_rev.rev
    path = st.text_input(
        "Path in the repository",
        key=path_key,
        placeholder="models/model.skops",
        help=f"A model file or MLflow model folder, relative to the repository at {root}.",
    ).strip()
    if not path:
        return None
    rel = str(PurePosixPath(path.lstrip("/")))
    check_allowed_path(root / rel, "Model path")
    found = {r["sha"]: r for r in revisions(str(root), rel)}
    if not found:
        st.info(f"No commit changed {rel} in {root.name}: check the path (relative to the repository root).")
        return None
    rev = select(
        "Revision",
        list(found),
        rev_key,
        format_func=lambda sha: _revision_label(found.get(sha), sha),
        help="Commits that changed this path, newest first: short SHA, date, author and message.",
    )
    if not rev:
        return None
    info = found.get(rev)
    if info is not None and info.get("refs"):
        st.caption(f"Also known as {info['refs']}")
    return f"git:{rev}:{rel}"


# ------------------------------------------------------------------ scoring endpoint


def offered_endpoints() -> list[str]:
    """The scoring URLs the operator lists; an entry without a path means its /invocations."""
    out = []
    for entry in allowed_endpoints():
        if entry.startswith(("http://", "https://")):
            host_part = entry.split("://", 1)[1]
            out.append(entry if "/" in host_part.rstrip("/") else entry.rstrip("/") + "/invocations")
    return list(dict.fromkeys(out))


def endpoint_picker(side: str, tracking_uri: str | None) -> str | None:
    """One of the operator's scoring endpoints (and, for the deployed side, the registry entry it serves),
    with a Check button; None (and how the operator adds one) when none are listed."""
    offered = offered_endpoints()
    current = st.session_state.get(key(side, "endpoint"))
    if current and current not in offered and endpoint_allowed(str(current), allowed_endpoints()):
        offered.insert(0, str(current))  # the same endpoint spelled another way (a trailing slash, a default port)
    if not offered:
        st.info(
            "No scoring endpoints are configured on this server. Its operator lists the ones the app may call in "
            f"{ALLOWED_ENDPOINTS_ENV} (comma-separated URLs, e.g. https://scoring.internal:5001/invocations)."
        )
        return None
    url = str(
        select(
            "Scoring endpoint",
            offered,
            key(side, "endpoint"),
            format_func=redact_uri,
            help=f"The MLflow scoring servers this server's operator lists ({ALLOWED_ENDPOINTS_ENV}): "
            "modelgap sends rows to them.",
            keep_unlisted=False,  # a URL from a link or an old choice that is not listed is never offered
        )
    )
    if side == "deployed":
        st.session_state[key(side, "meta")] = _meta_picker(side, tracking_uri)
    if split_credentials(url)[1] is not None:
        raise SourceError(
            f"The endpoint {redact_uri(url)} is listed with a user name and password, which would show in the "
            "page's address.",
            f"Ask the operator to list it without them; the server reads them from {TOKEN_ENV}, or {USERNAME_ENV} "
            f"and {PASSWORD_ENV}.",
        )
    if st.button("Check endpoint", key=key(side, "check"), icon=":material/network_check:", type="secondary"):
        st.session_state[key(side, "check_result")] = {"url": url, **check_endpoint(url)}
    result = st.session_state.get(key(side, "check_result"))
    if result and result.get("url") == url:
        if result["ok"]:
            st.success(result["message"], icon=":material/check:")
        else:
            st.error(result["message"], icon=":material/error:")
    return url


def check_endpoint(url: str) -> dict[str, Any]:
    """{"ok", "message"}: does the endpoint answer /ping (and which MLflow version serves it)?"""
    from modelgap.sources.endpoint_client import EndpointClient, EndpointSettings

    try:
        client = EndpointClient(url, EndpointSettings.from_env(timeout=CHECK_TIMEOUT_S, retries=0))
        client.ping()
        version = client.version()
    except ModelgapError as err:
        return {"ok": False, "message": err.one_line()}
    served = f" (MLflow {version})" if version else ""
    return {"ok": True, "message": f"OK: {client.display_url} answers{served}."}


def _meta_picker(side: str, uri: str | None) -> str | None:
    """The registry entry the endpoint serves: from the registry lists, or any source typed in."""
    model_key, ref_key, text_key = key(side, "meta_model"), key(side, "meta_ref"), key(side, "meta_text")
    names = catalog.registered_models(uri) if uri else []
    choice = select(
        "Model it serves (optional)",
        [NO_META, *names, OTHER],
        model_key,
        format_func=lambda n: {NO_META: "Not named", OTHER: "Other source…"}.get(n, n),
        help="The registry entry the endpoint serves: its task, classes, columns and settings are then known "
        "(as with --deployed-meta). Without it they are guessed from the endpoint's answers."
        + ("" if uri else " Set the tracking URI above to choose from the registry."),
    )
    if choice in (None, NO_META):
        return None
    if choice == OTHER:
        text = st.text_input("Paired model source", key=text_key, placeholder="models:/name@alias").strip()
        if text and source_kind(text) == "endpoint":
            raise SourceError("The paired model must be a model, not another endpoint.", "Use models:/name@alias.")
        if text and source_kind(text) == "local":
            check_allowed_path(text, "The paired model")
        return text or None
    assert uri is not None
    alias_map = catalog.aliases(uri, choice)
    versions = [v.version for v in catalog.model_versions(uri, choice)]
    ref = select(
        "Version or alias it serves",
        [f"@{a}" for a in alias_map] + versions,
        ref_key,
        format_func=lambda r: f"{r} → v{alias_map.get(r[1:], '?')}" if r.startswith("@") else f"v{r}",
    )
    if not ref:
        return None
    return f"models:/{choice}{ref}" if ref.startswith("@") else f"models:/{choice}/{ref}"


def seed_meta(meta: str | None) -> None:
    """Pre-fill the deployed endpoint's paired-model widgets from a comparison spec."""
    if not meta:
        return
    if source_kind(meta) == "registry":
        try:
            parsed = parse_source(meta).registry
        except ModelgapError:
            parsed = None
        ref = (f"@{parsed.alias}" if parsed.alias else parsed.version) if parsed is not None else None
        if parsed is not None and ref and not parsed.logged_model_id:
            st.session_state[key("deployed", "meta_model")] = parsed.name
            st.session_state[key("deployed", "meta_ref")] = ref
            return
    st.session_state[key("deployed", "meta_model")] = OTHER
    st.session_state[key("deployed", "meta_text")] = meta


def spec_extras(previous: ComparisonSpec | None, repo: str, deployed: str) -> dict[str, str | None]:
    """The spec fields the sidebar's pickers do not draw: the endpoint's paired model (when the deployed side
    is an endpoint) and each side's named training data, kept while that side's model stays the same."""
    is_endpoint = st.session_state.get(key("deployed", "kind")) == "endpoint"
    meta = st.session_state.get(key("deployed", "meta")) if is_endpoint else None
    return {
        "deployed_meta": meta,
        "repo_training_data": previous.repo_training_data if previous and previous.repo == repo else None,
        "deployed_training_data": (
            previous.deployed_training_data if previous and previous.deployed == deployed else None
        ),
    }
