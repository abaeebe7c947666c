"""Small tables drawn as static HTML (`st.table`) instead of the interactive grid (`st.dataframe`).

The grid is a canvas widget whose code the browser loads and starts for every page that shows one (about half a
second on a laptop-class core); a table of a few rows that nobody sorts or scrolls does not need it. Cells of
`st.table` are Markdown, so text is escaped and numbers are formatted here, as the grid's column config would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from modelgap.report.markdown import md

__all__ = ["Column", "cell_text", "static_table"]

MISSING = "—"


@dataclass(frozen=True)
class Column:
    """One column: the row key it shows, its header, and how its values are written."""

    key: str
    label: str
    number_format: str | None = None  # a printf-style format as the grid's NumberColumn takes, e.g. "%.3f"


def cell_text(value: Any, number_format: str | None = None) -> str:
    """A cell as Markdown: missing values as a dash, numbers in `number_format`, text escaped (no markup)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if number_format is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return number_format % value
    return md(value)


def static_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, alt: str | None = None) -> None:
    """`rows` as a static table of `columns`, in that order, headers as given, without an index."""
    frame = pd.DataFrame(
        [[cell_text(row.get(c.key), c.number_format) for c in columns] for row in rows],
        columns=[md(c.label) for c in columns],
    )
    st.table(frame, hide_index=True, alt=alt)
