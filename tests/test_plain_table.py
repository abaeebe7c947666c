"""components/plain_table: DataFrames as static tables, drawn as the data grid's column config would draw them."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from components.plain_table import CHECKED, MISSING, UNCHECKED, Column, cell, styled, text


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (0.1234, "percent", "12.34%"),  # the grid's "percent": Intl, 0 to 2 decimals
        (0.5, "percent", "50%"),
        (0.12345, "percent", "12.35%"),
        (-0.021, "percent", "-2.1%"),
        (1234567, "localized", "1,234,567"),  # "localized": grouped thousands (en-US)
        (1234.56789, "localized", "1,234.568"),
        (0.12345, "{:.4f}", "0.1235"),  # printf formats "%.4f", "%+.4f", "%d"
        (0.12345, "{:+.4f}", "+0.1235"),
        (-3.0, "{:d}", "-3"),
        (True, "check", CHECKED),
        (False, "check", UNCHECKED),
        (None, "{:.3f}", MISSING),
        (math.nan, "percent", MISSING),
        ("income <= 5", "", "income <= 5"),
    ],
)
def test_values_are_written_as_the_grid_writes_them(value: object, fmt: str, shown: str) -> None:
    assert text(value, fmt) == shown


def test_cells_are_escaped_markdown() -> None:
    assert cell("**x_1** <b>", "") == "\\*\\*x\\_1\\*\\* &lt;b&gt;"


def test_the_styler_shows_the_columns_in_order_under_their_labels_with_bars() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [0.25, 1.0], "b": ["x", "y"], "c": [1, 2]})
    styler = styled(frame, {"b": Column("B"), "a": Column("Share", "percent", bar=True)})
    assert list(styler.data.columns) == ["B", "Share"]
    html = styler.to_html()
    assert "25%" in html and "100%" in html and "linear-gradient" in html  # the bar behind each share


def _app() -> None:
    import pandas as pd

    from components.plain_table import Column, plain_table

    plain_table(
        pd.DataFrame({"name": ["x", "y"], "v": [0.5, None], "n": [1200, 3]}),
        {"name": Column("Name"), "v": Column("Value", "{:.2f}", "A value."), "n": Column("Rows", "localized")},
    )


def test_the_table_keeps_its_numbers_and_its_helps_go_to_a_caption() -> None:
    at = AppTest.from_function(_app).run()
    assert not at.exception
    [table] = at.table
    assert list(table.value.columns) == ["Name", "Value", "Rows"]
    assert table.value["Rows"].tolist() == [1200, 3]  # numbers, as the grid's data: only the drawing is text
    assert table.value["Value"].iloc[0] == 0.5 and pd_isna(table.value["Value"].iloc[1])
    [caption] = at.caption
    assert "**Value**: A value." in caption.proto.help


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _long_app() -> None:
    import pandas as pd

    from components.plain_table import Column, plain_table

    plain_table(pd.DataFrame({"n": range(100)}), {"n": Column("N", "{:d}")})


def test_a_long_table_keeps_every_row() -> None:
    at = AppTest.from_function(_long_app).run()
    assert not at.exception
    [table] = at.table
    assert table.value["N"].tolist() == list(range(100))  # all rows: it scrolls inside a fixed height
