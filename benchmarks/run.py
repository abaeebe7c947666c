"""Run every benchmark module (`benchmarks/bench_*.py`, each with `run() -> list[dict]`) and print a table.

Usage: `make bench` or `python -m benchmarks.run [name ...]` (names like `predictions`, `explanations`, `pages`:
every page drawn in headless Chromium at both screen sizes, bench_pages.py).
Results are also written to bench-results/results.json.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
OUT = ROOT.parent / "bench-results"


def discover(names: list[str]) -> list[str]:
    found = sorted(p.stem for p in ROOT.glob("bench_*.py"))
    if names:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in names}
        found = [f for f in found if f in wanted]
    return found


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def print_table(name: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n== {name} ==")
    if not rows:
        print("(no rows)")
        return
    cols: list[str] = []
    for row in rows:
        cols += [c for c in row if c not in cols]
    widths = {c: max(len(c), *(len(_fmt(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for row in rows:
        print("  ".join(_fmt(row.get(c, "")).ljust(widths[c]) for c in cols))


def main(argv: list[str]) -> int:
    results: dict[str, Any] = {}
    failed = 0
    for module_name in discover(argv):
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{module_name}")
            rows = module.run()
        except Exception:
            failed += 1
            traceback.print_exc()
            results[module_name] = {"error": traceback.format_exc(limit=3)}
            continue
        print_table(f"{module_name} ({time.perf_counter() - start:.0f} s)", rows)
        results[module_name] = rows
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nWrote {OUT / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
