"""`make run`: `streamlit run app.py` that has the first page's code imported by the time a browser connects.

Streamlit imports nothing of an app until the first session runs its script, so the first view of a fresh
server paid for importing pandas and the app's components (about a second of CPU) after the browser had
connected. Here one thread imports them as soon as the server is up, while the browser loads Streamlit's own
JavaScript. Arguments are `streamlit run`'s options; `streamlit run app.py` works the same, only slower.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
# What the Overview's first run imports (app.py, the sidebar, pages/overview.py); the rest loads on use.
FIRST_VIEW_MODULES = (
    "pandas",
    "components.compute",
    "components.sidebar",
    "components.cards",
    "components.report_view",
    "components.retraining_view",
    "components.signoff_view",
    "components.plain_table",
    "components.summaries",
    "modelgap.storedmodels",
)
START_WAIT_S = 60.0


def _server_started() -> bool:
    from streamlit import runtime
    from streamlit.runtime.runtime import RuntimeState

    return runtime.exists() and runtime.get_instance().state is not RuntimeState.INITIAL


def prefetch(modules: tuple[str, ...] = FIRST_VIEW_MODULES, wait_s: float = START_WAIT_S) -> list[str]:
    """Import `modules` once the server has started (imports before that would hold its start back); the
    names imported. Only a head start: a module that fails here is imported, and reports, where it is used."""
    deadline = time.monotonic() + wait_s
    while not _server_started():
        if time.monotonic() > deadline:
            return []
        time.sleep(0.01)
    done = []
    for name in modules:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:  # a head start only: the page reports what fails where it is used
            logging.getLogger("modelgap.app").debug("Prefetching %s failed", name, exc_info=True)
    return done


def main(argv: list[str]) -> int:
    from streamlit.web import cli

    threading.Thread(target=prefetch, name="modelgap-prefetch", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *argv]
    try:
        cli.main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
