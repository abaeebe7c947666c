"""One vocabulary for the app and the reports: titles, status words, friendly names, numbers, paths, file names.

The app (components/) and the renderers (modelgap.report) both read from here, so a reader who moves from the
Overview to the HTML report to a pull-request comment meets the same title, the same status words, the same
names for metrics and enums, and the same counts. Pure functions: no Streamlit, no I/O beyond locating the
repository root for relative paths.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from modelgap.values import number

TITLE = "Is the repo model ready to replace the deployed model?"
SIDES = ("repo", "deployed")  # always in this order: the candidate first, then what it would replace
SIDE_NAMES = {"repo": "Repo model", "deployed": "Deployed model"}

VERDICT_WORDS = {"pass": "Ready to release", "warn": "Release with care", "fail": "Not ready to release"}
STATUS_BADGES = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "info": "INFO", "skipped": "SKIPPED"}
WARNINGS_SHOWN = 5  # warnings listed before the rest fold away (st.expander in the app, <details> in HTML)

# Metric name -> (what a reader calls it, higher is better). Names as modelgap.predictions.metrics reports them.
METRICS: dict[str, tuple[str, bool]] = {
    "accuracy": ("Accuracy", True),
    "balanced_accuracy": ("Balanced accuracy", True),
    "roc_auc": ("ROC AUC", True),
    "auc": ("ROC AUC", True),
    "f1": ("F1", True),
    "precision": ("Precision", True),
    "recall": ("Recall", True),
    "log_loss": ("Log loss", False),
    "logloss": ("Log loss", False),
    "brier": ("Brier score", False),
    "brier_score": ("Brier score", False),
    "mae": ("Mean absolute error", False),
    "mse": ("Mean squared error", False),
    "rmse": ("Root mean squared error", False),
    "mape": ("Mean absolute percentage error", False),
    "r2": ("R²", True),
}

# Enum values the core writes into the JSON report, as a reader says them.
ENUMS = {
    # training-data relation (modelgap.data.relation)
    "same_data": "the same data",
    "different_snapshots": "different snapshots of the same source",
    "unrelated": "unrelated data",
    # explained output spaces (modelgap.explanations.outputs)
    "log_odds": "log-odds",
    "probability": "probability",
    "label": "predicted label",
    "value": "predicted value",
    # drift pairs (modelgap.data.drift)
    "sample_vs_training": "sample vs training data",
    "training_vs_training": "training data vs training data",
    # check statuses, lower case where a sentence needs them
    "skipped": "skipped",
    "unknown": "unknown",
}


# ------------------------------------------------------------------ names


def friendly(value: Any) -> str:
    """An enum value as words: `different_snapshots` -> "different snapshots of the same source"."""
    text = str(value)
    return ENUMS.get(text, text.replace("_", " "))


def metric_name(name: str) -> str:
    """`roc_auc` -> "ROC AUC"; an unknown metric keeps its name with spaces for underscores."""
    known = METRICS.get(str(name).lower())
    return known[0] if known else str(name).replace("_", " ")


def higher_is_better(name: str) -> bool | None:
    """True / False for a known metric's direction; None when modelgap does not know it."""
    known = METRICS.get(str(name).lower())
    return known[1] if known else None


def change_reading(name: str, delta: Any, ci_low: Any = None, ci_high: Any = None) -> str:
    """A metric change in words by the metric's direction: "better", "worse", "no clear change", "no change".

    With an interval, a change whose interval contains 0 is "no clear change" (chance cannot be ruled out).
    """
    d = number(delta)
    if d is None:
        return "no change measured"
    lo, hi = number(ci_low), number(ci_high)
    if lo is not None and hi is not None and lo <= 0 <= hi:
        return "no change" if lo == hi == 0 else "no clear change"
    if d == 0:
        return "no change"
    up = higher_is_better(name)
    if up is None:
        return "higher" if d > 0 else "lower"
    return "better" if (d > 0) == up else "worse"


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 check", "4 checks" (thousands separated)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# ------------------------------------------------------------------ the verdict


def checks_with(verdict: Mapping[str, Any] | None, status: str) -> list[dict[str, Any]]:
    """The verdict's checks with `status`, in the verdict's order (worst first within the registry order)."""
    if not isinstance(verdict, Mapping):
        return []
    return [dict(c) for c in verdict.get("checks") or [] if isinstance(c, Mapping) and c.get("status") == status]


def verdict_summary(verdict: Mapping[str, Any] | None) -> str:
    """One sentence counted from the checks themselves, so it always agrees with the lists under it."""
    if not isinstance(verdict, Mapping) or not verdict.get("status"):
        return "No release verdict was computed."
    fails, warns = len(checks_with(verdict, "fail")), len(checks_with(verdict, "warn"))
    if fails:
        text = f"{plural(fails, 'check')} {'fails' if fails == 1 else 'fail'} the release policy"
        text += f"; {plural(warns, 'more check')} {'needs' if warns == 1 else 'need'} a look." if warns else "."
    elif warns:
        text = f"{plural(warns, 'check')} {'needs' if warns == 1 else 'need'} a look before the release."
    else:
        text = "No check found a difference that should hold the release."
    small = _too_small(verdict)
    return f"{text} {small}" if small else text


def _too_small(verdict: Mapping[str, Any]) -> str:
    sample = verdict.get("sample") if isinstance(verdict.get("sample"), Mapping) else {}
    assert isinstance(sample, Mapping)
    skipped = [str(s) for s in sample.get("skipped_checks") or []]
    if not skipped:
        return ""
    words = next(
        (
            str(c["details"]["in_words"])
            for c in checks_with(verdict, "skipped")
            if isinstance(c.get("details"), Mapping) and c["details"].get("in_words")
        ),
        "a small sample",
    )
    return f"Only {words}: {plural(len(skipped), 'statistical check')} skipped."


# ------------------------------------------------------------------ numbers


def format_value(value: Any) -> str:
    """An input value as every page shows it: integers (and whole floats) with thousands separators, other floats
    with up to 10 significant digits, missing values as "(missing)", anything else as its text."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError, ValueError):  # a numpy scalar -> its Python value
            value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(missing)"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.10g}"
    text = str(value)
    return "(missing)" if text in ("<NA>", "NaT") else text


def format_number(value: Any, digits: int = 4) -> str:
    """A measured number: whole numbers with separators, others to `digits` significant digits; "–" if missing."""
    f = number(value)
    if f is None:
        return "–"
    if f.is_integer() and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:,.{digits}g}" if abs(f) < 1e6 else f"{f:,.0f}"


# ------------------------------------------------------------------ parameters


def settings_breakdown(n_hyperparameters: int, n_pipeline: int) -> str:
    """ "3 hyperparameters, 1 pipeline change": what the Overview's and the reports' settings count is made of."""
    parts = []
    if n_hyperparameters or not n_pipeline:
        parts.append(plural(n_hyperparameters, "hyperparameter"))
    if n_pipeline:
        parts.append(plural(n_pipeline, "pipeline change"))
    return ", ".join(parts)


# ------------------------------------------------------------------ paths and file names

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # models:/, runs:/, git:, http://, sqlite:///, s3://, ...


@lru_cache(maxsize=8)
def repository_root(start: str | None = None) -> Path:
    """The git repository around `start` (default: the working folder), else the folder itself."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def display_path(text: Any, root: Path | str | None = None) -> str:
    """A path as a report shows it: relative to the repository when inside it, else only the file's name.

    URIs (models:/, runs:/, git:, http(s)://) stay as they are, except a sqlite/file URI's path, which is made
    relative the same way. Server folders outside the repository are never spelled out in a shared report.
    """
    value = str(text)
    base = Path(root) if root is not None else repository_root()
    for scheme in ("sqlite:///", "file://"):
        if value.startswith(scheme):
            return scheme + display_path(value[len(scheme) :], base)
    if _URI.match(value) and not re.match(r"^[A-Za-z]:[\\/]", value):  # a Windows drive is a path
        return value
    path = Path(value)
    if not path.is_absolute():
        return value
    try:
        return path.resolve().relative_to(base.resolve()).as_posix() or "."
    except ValueError:
        return path.name or value


def relative_paths(text: Any, root: Path | str | None = None) -> str:
    """Free text (a note, a check's message) with the repository's absolute prefix taken out of its paths."""
    base = str((Path(root) if root is not None else repository_root()).resolve())
    return str(text).replace(base + "/", "").replace(base, ".")


def short_name(source: Any) -> str:
    """A model source in a few words for a file name: `models:/credit-risk@champion` -> "credit-risk-champion"."""
    text = str(source or "").strip()
    registry = re.match(r"^models:/([^/@]+)(?:@([^/]+)|/([^/]+))?", text)
    if registry:
        name, alias, version = registry.groups()
        if alias:
            return slug(f"{name}-{alias}")
        if version:
            return slug(f"{name}-v{version}" if version.isdigit() else f"{name}-{version}")
        return slug(name)
    if text.startswith("runs:/"):
        return slug("run-" + text[len("runs:/") :].split("/", 1)[0][:8])
    if text.startswith("git:"):
        parts = text.split(":", 2)
        rev = parts[1][:8] if len(parts) > 1 else ""
        stem = PurePosixPath(parts[2]).stem if len(parts) > 2 else "model"
        return slug(f"{stem}-{rev}")
    web = re.match(r"^https?://([^/:]+)(?::(\d+))?", text)
    if web:
        host, port = web.groups()
        return slug("endpoint-" + host + (f"-{port}" if port else ""))
    stem = PurePosixPath(text.rstrip("/").replace("\\", "/")).stem
    return slug(stem or "model")


def slug(text: str, limit: int = 40) -> str:
    """Lower case letters, digits and single hyphens (no underscores: they separate a file name's parts)."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:limit].rstrip("-") or "model") if s else "model"


def download_name(repo: Any, deployed: Any, extension: str, when: date | datetime | None = None) -> str:
    """`modelgap_<repo>_vs_<deployed>_<yyyymmdd>.<ext>`: every download and saved report is named this way."""
    day = (when or datetime.now()).strftime("%Y%m%d")
    return f"modelgap_{short_name(repo)}_vs_{short_name(deployed)}_{day}.{extension.lstrip('.')}"


def slice_text(column: Any, label: Any) -> str:
    """A slice as a condition: "region = North", "income in (127475, 454212]", "recent_inquiries = 4"."""
    text = str(label)
    if column is None:
        return text
    if text.startswith(("(", "[")):
        return f"{column} in {text}"
    if text.startswith(("in ", "<", ">", "=")):
        return f"{column} {text}"
    return f"{column} = {text}"
