"""components/static_table: small tables as static Markdown cells, written as the grid would show them."""

from __future__ import annotations

import math

from streamlit.testing.v1 import AppTest

from components.static_table import MISSING, cell_text


def test_numbers_follow_the_printf_format_and_missing_values_are_a_dash() -> None:
    assert cell_text(0.123456, "%.3f") == "0.123"
    assert cell_text(7, "%d") == "7"
    assert cell_text(math.nan, "%.3f") == MISSING
    assert cell_text(None) == MISSING
    assert cell_text(True, "%.3f") == "True"  # a flag is not a number to format


def test_text_cannot_inject_markup_or_html() -> None:
    shown = cell_text("**bold** <img src=x onerror=alert(1)> a|b [l](http://x)")
    assert "<img" not in shown and "\\*\\*bold\\*\\*" in shown and "a\\|b" in shown and "\\[l\\]" in shown


def _app() -> None:
    from components.static_table import Column, static_table

    static_table(
        [{"name": "x_1", "v": 0.5}, {"name": "y", "v": None}],
        [Column("name", "Name"), Column("v", "Value", "%.2f")],
    )


def test_the_table_shows_the_columns_in_order_without_an_index() -> None:
    at = AppTest.from_function(_app).run()
    assert not at.exception
    [table] = at.table
    assert list(table.value.columns) == ["Name", "Value"]
    assert table.value["Value"].tolist() == ["0.50", MISSING]
    assert table.value["Name"].tolist() == ["x\\_1", "y"]  # escaped Markdown: the browser shows x_1
