"""App words for the core's messages: the core's hints name CLI flags; an app user has the sidebar instead.

The core (`modelgap`) speaks to its CLI user ("pass --tracking-uri"); the app shows the same errors, so this
maps each flag to the place in the app that sets the same thing. Known whole sentences first, then the flags.
"""

from __future__ import annotations

import re

__all__ = ["app_words"]

_SENTENCES = {
    "Pass --tracking-uri or set MLFLOW_TRACKING_URI.": "Choose an MLflow tracking URI in the sidebar.",
    "(pass --tracking-uri)": "(choose a tracking URI in the sidebar)",
    "Pass --data FILE (CSV or Parquet).": "Choose sample data (CSV or Parquet) in the sidebar.",
    "Pass --data (Parquet path or table name).": "Choose sample data in the sidebar.",
    "(--data)": "(in the sidebar)",
}
_FLAGS = {
    "tracking-uri": "the sidebar's MLflow tracking URI",
    "data": "the sidebar's sample data",
    "target": "the sidebar's label column",
    "deployed-meta": "the endpoint's \u201cModel it serves\u201d in the sidebar",
    "shap-rows": "\u201cRows explained with SHAP\u201d (sidebar options)",
    "no-shap": "0 \u201cRows explained with SHAP\u201d (sidebar options)",
    "tolerance": "the regression tolerance (sidebar options)",
    "repo-training-data": "the Data page's training-data form",
    "deployed-training-data": "the Data page's training-data form",
}
_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z-]*[a-z])(?:\s+(?:FILE|N|X|COLUMN|URI))?")


def app_words(message: str) -> str:
    """`message` with CLI flags replaced by where the app sets the same thing (unknown flags are left as they are)."""
    for cli, app in _SENTENCES.items():
        message = message.replace(cli, app)
    return _FLAG.sub(lambda m: _FLAGS.get(m.group(1), m.group(0)), message)
