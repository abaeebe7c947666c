"""Numbers the app tests expect, computed independently of the app: plain Python on the models' flat params,
and predictions of the natively loaded sklearn pipelines (mlflow.sklearn), never modelgap's own comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelgap import load_model

_MISSING = object()


def changed_params(demo: Any, deployed: str) -> int:
    """Names whose value differs, or that exist on one side only, over the two models' flat params."""
    repo = load_model(str(demo.repo_model_dir)).params or {}
    other = load_model(deployed, tracking_uri=demo.tracking_uri).params or {}
    return sum(repo.get(k, _MISSING) != other.get(k, _MISSING) for k in set(repo) | set(other))


def disagreement_rate(demo: Any, deployed: str) -> float:
    """Share of sample rows on which the two pipelines predict different labels."""
    import mlflow.sklearn

    from modelgap.sources.tracking import using_uri  # sets, then restores, mlflow's process-wide URIs

    with using_uri(demo.tracking_uri):
        repo = mlflow.sklearn.load_model(str(demo.repo_model_dir))
        other = mlflow.sklearn.load_model(deployed)
    X = pd.read_csv(demo.sample_path)
    a = repo.predict(X[list(repo.feature_names_in_)])
    b = other.predict(X[list(other.feature_names_in_)])
    return float(np.mean(a != b))


# ---------------------------------------------------------------- finding what a page shows
# Widgets are found by key (`at.selectbox(key=...)`). A display-only table carries no key in AppTest (Streamlit
# gives a dataframe an id only when its selections are on) and a tab has only its label: those are found here by
# what they show, and exactly one must match, so a page that gains or reorders a table cannot make a test read
# the wrong one.


def table_with(at: Any, *columns: str) -> pd.DataFrame:
    """The one table in `at` (an AppTest or a block of it, such as a tab) that has all these columns: a grid, or a
    static table (components/plain_table, whose columns are headed by their labels)."""
    tables = [*at.dataframe, *at.table]
    found = [d.value for d in tables if set(columns) <= set(d.value.columns)]
    shown = [list(d.value.columns) for d in tables]
    assert len(found) == 1, f"{len(found)} tables with {columns}; tables: {shown}"
    return found[0]


def tab_labelled(at: Any, start: str) -> Any:
    """The one tab whose label starts with `start`."""
    found = [t for t in at.tabs if t.label.startswith(start)]
    assert len(found) == 1, f"{len(found)} tabs labelled {start!r}…; tabs: {[t.label for t in at.tabs]}"
    return found[0]


def expander_labelled(at: Any, start: str) -> Any:
    """The one expander whose label starts with `start`."""
    found = [e for e in at.expander if e.label.startswith(start)]
    assert len(found) == 1, f"{len(found)} expanders labelled {start!r}…; expanders: {[e.label for e in at.expander]}"
    return found[0]
