"""Side-by-side difference tables for parameters, schemas, environments and metadata, with readable diffs.

Rows are built by pure functions (testable without Streamlit); `show_table` and `show_long_diffs` draw them.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pandas as pd
import streamlit as st

from modelgap.family import FamilyChange
from modelgap.params import KeyedDiff, SchemaDiff

LONG_VALUE = 60  # characters: longer values get a readable diff under the table
CHANGE_LABELS = {
    "changed": "changed",
    "only_in_repo": "only in repo",
    "only_in_deployed": "only in deployed",
    "unknown": "not recorded",
    "same": "same",
}
_HIGHLIGHT = {
    "changed": "background-color: #FFF4D6",
    "only in repo": "background-color: #E6EDFD",
    "only in deployed": "background-color: #FDEEDD",
    "not recorded": "background-color: #EEEEEE",
}


def fmt(value: Any) -> str:
    """A value as a person reads it: strings bare, containers as compact JSON."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)


def keyed_rows(diff: KeyedDiff, *, show_all: bool, prefix: str = "") -> list[dict[str, str]]:
    """[{name, repo, deployed, change}] for one KeyedDiff: the differences, plus unchanged rows when asked."""
    rows = [
        {"name": prefix + e["name"], "repo": fmt(e["repo"]), "deployed": fmt(e["deployed"]), "change": "changed"}
        for e in diff.changed
    ]
    rows += [
        {"name": prefix + e["name"], "repo": fmt(e["value"]), "deployed": "—", "change": "only in repo"}
        for e in diff.only_in_repo
    ]
    rows += [
        {"name": prefix + e["name"], "repo": "—", "deployed": fmt(e["value"]), "change": "only in deployed"}
        for e in diff.only_in_deployed
    ]
    for e in diff.unknown:
        sides = " and ".join(e.get("unknown_in") or [])
        rows.append(
            {
                "name": prefix + e["name"],
                "repo": "not recorded" if "repo" in sides else fmt(e.get("repo")),
                "deployed": "not recorded" if "deployed" in sides else fmt(e.get("deployed")),
                "change": "not recorded",
            }
        )
    if show_all:
        rows += [
            {"name": prefix + e["name"], "repo": fmt(e["value"]), "deployed": fmt(e["value"]), "change": "same"}
            for e in diff.unchanged
        ]
    return sorted(rows, key=lambda r: r["name"])


def schema_rows(
    schema: SchemaDiff, repo_types: dict[str, str], deployed_types: dict[str, str], *, show_all: bool
) -> list[dict[str, str]]:
    """One row per input column of either model: its type on each side and what changed."""
    changed_types = {d["column"] for d in schema.dtype_changes}
    rows = []
    for column in dict.fromkeys([*schema.repo_columns, *schema.deployed_columns]):
        in_repo, in_deployed = column in repo_types, column in deployed_types
        if in_repo and not in_deployed:
            change = "only in repo"
        elif in_deployed and not in_repo:
            change = "only in deployed"
        elif column in changed_types:
            change = "changed"
        else:
            change = "same"
        if change != "same" or show_all:
            rows.append(
                {
                    "name": column,
                    "repo": repo_types.get(column, "—") if in_repo else "—",
                    "deployed": deployed_types.get(column, "—") if in_deployed else "—",
                    "change": change,
                }
            )
    return rows


def filter_rows(rows: list[dict[str, str]], query: str) -> list[dict[str, str]]:
    """Rows whose name or values contain `query` (case-insensitive); all rows for an empty query."""
    q = query.strip().lower()
    if not q:
        return rows
    return [r for r in rows if any(q in str(r.get(k, "")).lower() for k in ("name", "repo", "deployed"))]


def _style(frame: pd.DataFrame) -> Any:
    return frame.style.apply(lambda row: [_HIGHLIGHT.get(row["Change"], "")] * len(row), axis=1)


def show_table(rows: list[dict[str, str]], *, name_label: str = "Parameter", key: str | None = None) -> None:
    """The side-by-side table: name, repo value, deployed value, what changed (coloured by change)."""
    frame = pd.DataFrame(rows, columns=["name", "repo", "deployed", "change"]).rename(
        columns={"name": name_label, "repo": "Repo model", "deployed": "Deployed model", "change": "Change"}
    )
    height = min(38 + 35 * max(len(frame), 1), 560)
    st.dataframe(_style(frame), hide_index=True, width="stretch", height=height, key=key)


def long_diffs(diff: KeyedDiff, query: str = "") -> list[dict[str, Any]]:
    """Changed entries whose values are long or nested, with a line diff of their pretty-printed values."""
    out = []
    for e in diff.changed:
        repo_text, deployed_text = fmt(e["repo"]), fmt(e["deployed"])
        if not (e.get("details") or len(repo_text) > LONG_VALUE or len(deployed_text) > LONG_VALUE):
            continue
        if filter_rows([{"name": e["name"], "repo": repo_text, "deployed": deployed_text}], query) == []:
            continue
        out.append({"name": e["name"], "diff": unified(e["deployed"], e["repo"]), "details": e.get("details") or []})
    return out


def _pretty(value: Any) -> list[str]:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, indent=2, sort_keys=isinstance(value, dict)).splitlines()
    return str(value).splitlines() or [""]


def unified(deployed: Any, repo: Any) -> str:
    """A unified diff from the deployed value to the repo value ('-' deployed only, '+' repo only)."""
    lines = difflib.unified_diff(_pretty(deployed), _pretty(repo), "deployed", "repo", lineterm="", n=2)
    return "\n".join(lines)


def detail_line(detail: dict[str, Any]) -> str:
    """One nested difference in words: items added/removed for two lists, else deployed -> repo."""
    repo, deployed = detail.get("repo"), detail.get("deployed")
    where = f"at `{detail.get('path')}`"
    if isinstance(repo, list) and isinstance(deployed, list):
        added = [x for x in repo if x not in deployed]
        removed = [x for x in deployed if x not in repo]
        if added or removed:
            parts = [
                f"only in repo: `{_short(added)}`" if added else "",
                f"only deployed: `{_short(removed)}`" if removed else "",
            ]
            return f"{where}: " + "; ".join(p for p in parts if p)
    return f"{where}: deployed `{_short(deployed)}` → repo `{_short(repo)}`"


def show_long_diffs(entries: list[dict[str, Any]]) -> None:
    """One expander per long changed value: where inside it differs, then the line diff."""
    for entry in entries:
        with st.expander(f"How `{entry['name']}` differs", icon=":material/difference:"):
            for d in entry["details"][:20]:
                st.markdown(f"- {detail_line(d)}")
            st.code(entry["diff"] or "(no line-level difference)", language="diff")


def _short(value: Any, limit: int = 120) -> str:
    text = fmt(value).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_family(
    rows: list[dict[str, str]], change: FamilyChange | None
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(the other rows, the rows of the two estimators' own settings) when the estimator family changed."""
    if change is None:
        return rows, []
    own = [r for r in rows if r.get("change") != "same" and change.owns(str(r.get("name")))]
    return [r for r in rows if r not in own], own


def family_table(rows: list[dict[str, str]], change: FamilyChange, *, key: str) -> None:
    """The two estimators' own settings, folded under the family change: unrelated sets, not changes one by one."""
    with st.expander(
        f"Estimator family changed: settings of {change.repo} (repo) and {change.deployed} (deployed) ({len(rows)})",
        icon=":material/swap_horiz:",
    ):
        st.caption(
            "A setting of one estimator has no counterpart in the other, so these rows are two lists side by side "
            "rather than changes."
        )
        show_table(rows, name_label="Name", key=key)
