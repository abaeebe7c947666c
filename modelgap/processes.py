"""Whether worker processes (the SHAP helper, retraining's workers) may start from this process."""

from __future__ import annotations

import sys
from pathlib import Path


def main_is_safe() -> bool:
    """A new worker process re-imports the main script unless it is a module (-m) or guards itself with
    `if __name__ == "__main__":`; a script without the guard would run (and write) again in every worker.

    Under Streamlit, `__main__` is a module of Streamlit's own whose file is the app's script (app.py, which
    guards itself).
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return True
    path = getattr(main, "__file__", None)
    if not path:
        return True  # an interactive session or python -c
    try:
        return "__main__" in Path(path).read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
