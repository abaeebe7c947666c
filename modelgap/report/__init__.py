"""Renderings of one comparison: JSON (the contract), Markdown and self-contained HTML."""

from __future__ import annotations

from modelgap.report.json_report import SCHEMA_VERSION, comparison_to_dict, model_to_dict, write_json

__all__ = ["SCHEMA_VERSION", "comparison_to_dict", "model_to_dict", "write_json"]
