"""Small tables drawn as static HTML (`st.table`) from a DataFrame, formatted as the data grid would draw them.

The data grid is costly to start in the browser (a canvas, its own bundle, a resize loop): on a page with three
or four of them it is a large share of the time to draw. A table of a few dozen rows that nobody needs to sort,
search or scroll reads as well in plain HTML. `Column` says how one column is shown, in the data grid's own
terms (`st.column_config`): its label, its number format (reproduced here exactly as the grid draws it), a bar
from 0 to 1 behind the value (a `ProgressColumn`), a tick box (a `CheckboxColumn`), and its help text. The helps
go to the tooltip of one caption under the table, since a static table's headers have none.

The table's data keeps its numbers: only what is drawn is text (a pandas Styler's display values, escaped
Markdown), so a test reads the same values as from the grid.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import pandas as pd
import streamlit as st

from modelgap.report.markdown import md

MISSING = "–"
BAR_COLOR = "#D5DEFB"  # the theme's primary colour (#2F5BEA), light, as the grid's progress bars
CHECKED, UNCHECKED = "☑", "☐"
SCROLL_ROWS = 30  # a longer table scrolls inside SCROLL_HEIGHT_PX (about 17 rows) rather than push the page down
SCROLL_HEIGHT_PX = 640


@dataclass(frozen=True)
class Column:
    """How one column is shown: `format` is a `str.format` pattern ("{:.4f}", "{:+.4f}", "{:d}"), or "percent",
    "localized" (the grid's named formats), "check" (a tick box), or "" (as it is)."""

    label: str
    format: str = ""
    help: str = ""
    bar: bool = False


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, (str, bool)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def text(value: Any, fmt: str) -> str:
    """`value` as the data grid draws it with this format (en-US): "12.34%", "1,234", "+0.0123", a tick box."""
    if fmt == "check":
        return CHECKED if bool(value) and not pd.isna(value) else UNCHECKED
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    number = _number(value)
    if fmt == "percent" and number is not None:  # Intl percent: 0 to 2 decimals, trailing zeros dropped
        return f"{number * 100:.2f}".rstrip("0").rstrip(".") + "%"
    if fmt == "localized" and number is not None:  # Intl decimal: grouped thousands, at most 3 decimals
        if number.is_integer():
            return f"{int(number):,}"
        return f"{number:,.3f}".rstrip("0").rstrip(".")
    if fmt and number is not None:
        return fmt.format(int(number) if fmt.endswith("d}") else number)
    return str(value)


def cell(value: Any, fmt: str) -> str:
    """A cell as drawn: `text`, escaped for Markdown (the cells of `st.table` are Markdown)."""
    return md(text(value, fmt))


def styled(frame: pd.DataFrame, columns: Mapping[str, Column]) -> Any:
    """The frame's `columns`, in that order, under their labels, formatted (a pandas Styler)."""
    shown = frame[list(columns)].rename(columns={name: c.label for name, c in columns.items()})
    shown = shown.reset_index(drop=True)
    styler = shown.style.format({c.label: partial(cell, fmt=c.format) for c in columns.values()})
    bars: list[Hashable] = [c.label for c in columns.values() if c.bar]
    if bars:
        styler = styler.bar(subset=bars, vmin=0.0, vmax=1.0, color=BAR_COLOR, height=70, width=100)
    return styler.hide(axis="index")


def helps(columns: Mapping[str, Column]) -> str:
    """Every column's help, one paragraph per column, for a tooltip."""
    return "\n\n".join(f"**{c.label}**: {c.help}" for c in columns.values() if c.help)


def plain_table(frame: pd.DataFrame, columns: Mapping[str, Column], *, caption: str = "") -> None:
    """The table, then `caption` (or "What the columns mean") with every column's help in its tooltip. Past
    SCROLL_ROWS rows (data with many input columns) it scrolls inside a fixed height, its header kept in view."""
    height: int | Literal["content"] = "content" if len(frame) <= SCROLL_ROWS else SCROLL_HEIGHT_PX
    st.table(styled(frame, columns), hide_index=True, height=height)
    tooltip = helps(columns)
    if caption or tooltip:
        st.caption(caption or "What the columns mean", help=tooltip or None)
