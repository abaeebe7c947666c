"""Renderings of one comparison: JSON (the contract), Markdown and self-contained HTML."""

from __future__ import annotations

from modelgap.report.html import render_html, write_html
from modelgap.report.json_report import SCHEMA_VERSION, comparison_to_dict, model_to_dict, write_json
from modelgap.report.markdown import render_markdown, write_markdown

__all__ = [
    "SCHEMA_VERSION",
    "comparison_to_dict",
    "model_to_dict",
    "render_html",
    "render_markdown",
    "write_html",
    "write_json",
    "write_markdown",
]
