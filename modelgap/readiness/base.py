"""The building blocks of readiness: a Check, its Settings, and the CheckResult it returns.

A check is a small uniform unit (like an Evidently metric with its test): it reads a few keys of the JSON
form of a comparison, grades one value against thresholds from the policy and explains the result in one
plain sentence. Checks never see Python objects, so they work on saved JSON reports as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from modelgap.values import number

Status = Literal["pass", "warn", "fail", "skipped", "info"]
STATUSES: tuple[str, ...] = ("pass", "warn", "fail", "skipped", "info")
GRADES: tuple[str, ...] = ("pass", "info", "warn", "fail")  # what a policy may map a finding to
# Order in which results are listed: the reasons that block a release first.
SEVERITY_ORDER = {"fail": 0, "warn": 1, "info": 2, "pass": 3, "skipped": 4}
# How much each status weighs in the verdict: skipped and info never fail a release.
VERDICT_WEIGHT = {"fail": 2, "warn": 1, "pass": 0, "info": 0, "skipped": 0}

# rate: 0..1; correlation: -1..1; number: >= 0; int: >= 0; grade: one of GRADES; names: list of strings;
# number_map: table of name -> number >= 0.
SettingKind = Literal["rate", "correlation", "number", "int", "grade", "names", "number_map"]


@dataclass(frozen=True)
class Setting:
    """One policy knob of a check: its TOML key, default, kind (validated on load) and what it means."""

    key: str
    default: Any
    kind: SettingKind
    help: str
    keys: tuple[str, ...] = ()  # number_map: the names a table may hold (empty: any name)


@dataclass(frozen=True)
class CheckResult:
    """What a check found. `value` and `threshold` are JSON-safe; `message` is one sentence for a manager."""

    status: Status
    message: str
    value: Any = None
    threshold: Any = None
    name: str = ""
    title: str = ""
    page: str = ""  # the report section / app page that shows the evidence
    unit: str = ""  # how to show value and threshold: "share" (0..1 as %), "number", "count" or ""
    direction: str | None = None  # "max": above the threshold is bad; "min": below is bad
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "page": self.page,
            "unit": self.unit,
            "direction": self.direction,
        }
        if self.details:
            out["details"] = self.details
        return out


CheckFn = Callable[[Mapping[str, Any], Mapping[str, Any]], CheckResult]


@dataclass(frozen=True)
class Check:
    """A readiness check: name, plain-words description, the report keys it reads, settings, and its logic.

    `limits` names the direction of its `warn`/`fail` thresholds when it has them: "max" (a value above
    the threshold is bad) or "min" (below is bad); the policy loader checks that they are in order.
    `needs_rows` marks a statistical check (a rate, interval, PSI or rank correlation that a handful of rows
    cannot support): see the [sample] table in policy.py.
    """

    name: str
    title: str
    description: str
    reads: tuple[str, ...]
    page: str
    fn: CheckFn
    settings: tuple[Setting, ...] = ()
    limits: Literal["max", "min"] | None = None
    unit: str = "count"  # "share", "number", "count" or "" (informational values)
    # Report paths of the row counts its statistics rest on (e.g. "predictions.n_rows"). When the smallest
    # known count is below the policy's [sample] min_rows, the verdict reports the check as skipped.
    needs_rows: tuple[str, ...] = ()

    def defaults(self) -> dict[str, Any]:
        return {"enabled": True, **{s.key: s.default for s in self.settings}}

    def evaluate(self, report: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> CheckResult:
        """Run the check on a report dict with `settings` (defaults for anything not given)."""
        merged = {**self.defaults(), **(settings or {})}
        result = self.fn(report, merged)
        return self.stamp(result)

    def stamp(self, result: CheckResult) -> CheckResult:
        """`result` labelled with this check's name, title, page, unit and threshold direction."""
        direction = self.limits or ("max" if self.unit == "count" else None)
        return replace(result, name=self.name, title=self.title, page=self.page, unit=self.unit, direction=direction)


# ---------------------------------------------------------------- helpers shared by the checks


def dig(data: Any, path: str) -> Any:
    """`data["a"]["b"]` for path "a.b", or None when any step is missing or not a mapping."""
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def grade(value: float, warn: float, fail: float, direction: str = "max") -> Status:
    """pass / warn / fail for a value against two thresholds ("max": above is bad; "min": below is bad)."""
    if direction == "max":
        return "fail" if value > fail else "warn" if value > warn else "pass"
    return "fail" if value < fail else "warn" if value < warn else "pass"


def worst(statuses: list[Status]) -> Status:
    """The most severe of some graded statuses (pass when empty)."""
    ranked: list[Status] = ["fail", "warn", "info", "pass"]
    for s in ranked:
        if s in statuses:
            return s
    return "pass"


def skipped(message: str) -> CheckResult:
    return CheckResult(status="skipped", message=message)


# Row counts a statistical check may rest on (Check.needs_rows), and what each counts.
SAMPLE_ROWS = ("predictions.n_rows",)
LABELLED_ROWS = ("predictions.n_rows", "predictions.flips.n_rows", "metrics.flips.n_rows")
_ROW_WORDS = {"predictions.flips.n_rows": "labelled", "metrics.flips.n_rows": "labelled"}


def too_few_rows(report: Mapping[str, Any], paths: tuple[str, ...], min_rows: int) -> CheckResult | None:
    """A skipped result when the smallest known row count among `paths` is below `min_rows`, else None.

    Unknown counts never skip: a report without them (a crafted or older one) is judged as before.
    """
    counts = [(int(n), path) for path in paths if (n := number(dig(report, path))) is not None]
    if not counts:
        return None
    n, path = min(counts, key=lambda c: c[0])  # on a tie, the first path listed (the sample) names it
    if n >= min_rows:
        return None
    rows = f"{n:,} {_ROW_WORDS.get(path, 'sample')} row{'' if n == 1 else 's'}"
    return CheckResult(
        status="skipped",
        message=f"Not checked: only {rows}; statistics need at least {min_rows:,} (policy [sample] min_rows).",
        details={"rows": n, "min_rows": min_rows, "counted": path, "in_words": rows},
    )


def section_missing(report: Mapping[str, Any], section: str, why: str) -> CheckResult:
    """A skipped result for an absent section: the recorded reason when the section failed, else `why`."""
    error = dig(report, f"section_errors.{section}")
    if isinstance(error, str) and error:
        return skipped(f"Not checked: the {section} could not be computed ({error.rstrip('.')}).")
    return skipped(why)


def pct(x: float) -> str:
    """0.0123 -> "1.2%"; small non-zero shares keep two significant digits."""
    if x == 0:
        return "0%"
    p = 100 * x
    return f"{p:.2g}%" if abs(p) < 1 else f"{p:.1f}%".replace(".0%", "%")


def fmt(x: float) -> str:
    """A compact number for sentences: 3 significant digits."""
    return f"{x:.3g}"


def limit_words(status: Status, warn: float, fail: float, render: Callable[[float], str], direction: str) -> str:
    """The threshold phrase that fits the status, e.g. "fail above 5%" or "warn below 0.8"."""
    side = "above" if direction == "max" else "below"
    if status == "fail":
        return f"the policy fails {side} {render(fail)}"
    return f"the policy warns {side} {render(warn)}"


def threshold_for(status: Status, warn: float, fail: float) -> float:
    """The threshold that decided the status: the fail line when failing, else the warn line."""
    return fail if status == "fail" else warn
