"""The readiness policy: per-check thresholds from TOML, validated strictly, with documented defaults.

Where it comes from: `--policy FILE`, else `modelgap.toml` in the working directory when present, else the
defaults declared by each check (also written out in modelgap.toml.example). Unknown keys and bad values
raise PolicyError naming the key, so a typo never silently loosens a release gate.

Besides the [checks.<name>] tables, one [sample] table holds settings of the whole verdict: `min_rows`, the
sample size below which the statistical checks (those declaring `needs_rows`) report `skipped` instead of
grading a rate, interval, PSI or correlation that a handful of rows cannot support.
"""

from __future__ import annotations

import json
import math
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelgap.errors import PolicyError
from modelgap.readiness.base import GRADES, Check, Setting
from modelgap.readiness.registry import CHECKS, check_names

DEFAULT_POLICY_FILE = "modelgap.toml"
DEFAULTS_SOURCE = "built-in defaults"
_HINT = "See modelgap.toml.example for every key and its default."
SAMPLE_SETTINGS: tuple[Setting, ...] = (
    Setting("min_rows", 200, "int", "statistical checks are skipped below this many sample (or labelled) rows"),
)


def default_sample() -> dict[str, Any]:
    return {s.key: s.default for s in SAMPLE_SETTINGS}


@dataclass(frozen=True)
class Policy:
    """Settings of every check (`enabled` plus its thresholds) and where they came from."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = DEFAULTS_SOURCE
    sample: dict[str, Any] = field(default_factory=default_sample)  # the [sample] table

    def settings(self, name: str) -> dict[str, Any]:
        return dict(self.checks[name])

    def enabled(self, name: str) -> bool:
        return bool(self.checks[name]["enabled"])

    @property
    def min_rows(self) -> int:
        """Rows a statistical check needs (0: every sample size is judged)."""
        return int(self.sample["min_rows"])

    def to_dict(self) -> dict[str, Any]:
        """What the report records as `verdict.policy`: the source, every check's settings and [sample]."""
        checks = {n: dict(s) for n, s in self.checks.items()}
        return {"source": self.source, "checks": checks, "sample": dict(self.sample)}


def default_policy() -> Policy:
    return Policy(checks={c.name: c.defaults() for c in CHECKS})


def load_policy(path: str | Path | None = None, *, cwd: str | Path | None = None) -> Policy:
    """The policy from `path`, else `modelgap.toml` in `cwd` (default: the working directory), else defaults."""
    if path is None:
        candidate = Path(cwd or Path.cwd()) / DEFAULT_POLICY_FILE
        if not candidate.is_file():
            return default_policy()
        path = candidate
    file = Path(path).expanduser()
    if not file.is_file():
        raise PolicyError(f"Policy file {file} not found.", "Check the --policy path.")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"Policy {file} is not valid TOML: {exc}.", _HINT) from exc
    except OSError as exc:
        raise PolicyError(f"Cannot read the policy {file}: {exc.strerror or exc}.", "Check the path.") from exc
    return parse_policy(data, source=str(file))


def parse_policy(data: Mapping[str, Any], source: str = "policy") -> Policy:
    """Validate a parsed TOML document and merge it over the defaults."""
    policy = default_policy()
    for key, value in data.items():
        if key == "retrain":  # training commands and seeds for --retrain: validated (and read) by that module
            from modelgap.retraining.options import validate_retrain_table

            validate_retrain_table(value, source)
            continue
        if key not in ("checks", "sample"):
            raise PolicyError(
                f"Unknown key {key!r} in policy {source}.",
                "A policy holds a [sample] table and [checks.<name>] tables.",
            )
        if not isinstance(value, Mapping):
            raise PolicyError(f"Key '{key}' in policy {source} must be a table.", _HINT)
        if key == "sample":
            policy.sample.update(_validate_sample(value, source))
            continue
        for name, settings in value.items():
            if name not in policy.checks:
                raise PolicyError(
                    f"Unknown check 'checks.{name}' in policy {source}.", f"Known checks: {', '.join(check_names())}."
                )
            if not isinstance(settings, Mapping):
                raise PolicyError(f"Key 'checks.{name}' in policy {source} must be a table ([checks.{name}]).", _HINT)
            check = next(c for c in CHECKS if c.name == name)
            policy.checks[name].update(_validate_check(check, settings, source))
    return Policy(checks=policy.checks, source=source, sample=policy.sample)


def _validate_sample(given: Mapping[str, Any], source: str) -> dict[str, Any]:
    known = {s.key: s for s in SAMPLE_SETTINGS}
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in known:
            raise PolicyError(f"Unknown key 'sample.{key}' in policy {source}.", f"Known keys: {', '.join(known)}.")
        out[key] = _validate_value(known[key], value, f"sample.{key}", source)
    return out


def _validate_check(check: Check, given: Mapping[str, Any], source: str) -> dict[str, Any]:
    known = {"enabled": Setting("enabled", True, "grade", "")} | {s.key: s for s in check.settings}
    out: dict[str, Any] = {}
    for key, value in given.items():
        where = f"checks.{check.name}.{key}"
        if key not in known:
            raise PolicyError(
                f"Unknown key '{where}' in policy {source}.", f"Known keys for {check.name}: {', '.join(known)}."
            )
        if key == "enabled":
            if not isinstance(value, bool):
                raise PolicyError(f"'{where}' in policy {source} must be true or false, not {value!r}.", _HINT)
            out[key] = value
        else:
            out[key] = _validate_value(known[key], value, where, source)
    merged = {**check.defaults(), **out}
    if check.limits and "warn" in merged and "fail" in merged:
        warn, fail = merged["warn"], merged["fail"]
        bad = warn > fail if check.limits == "max" else warn < fail
        if bad:
            word = "above" if check.limits == "max" else "below"
            raise PolicyError(
                f"'checks.{check.name}.warn' ({warn}) is {word} 'checks.{check.name}.fail' ({fail}) "
                f"in policy {source}.",
                "The warn threshold must come before the fail threshold.",
            )
    return out


def _validate_value(setting: Setting, value: Any, where: str, source: str) -> Any:
    def bad(expected: str) -> PolicyError:
        return PolicyError(f"'{where}' in policy {source} must be {expected}, not {value!r}.", _HINT)

    kind = setting.kind
    if kind in ("rate", "correlation", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("a number")
        lo, hi = {"rate": (0.0, 1.0), "correlation": (-1.0, 1.0), "number": (0.0, math.inf)}[kind]
        if not lo <= value <= hi:
            raise bad({"rate": "a share between 0 and 1", "correlation": "between -1 and 1"}.get(kind, "at least 0"))
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad("a whole number of at least 0")
        return value
    if kind == "grade":
        if value not in GRADES:
            raise bad("one of " + ", ".join(f'"{g}"' for g in GRADES))
        return value
    if kind == "names":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad('a list of names, e.g. ["numpy"]')
        return list(value)
    if kind == "number_map":
        if not isinstance(value, Mapping) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            for v in value.values()
        ):
            raise bad("a table of names to numbers of at least 0, e.g. {mae = 0.5}")
        unknown = [str(k) for k in value if setting.keys and k not in setting.keys]
        if unknown:  # a misspelt name would never apply: the gate would stay at the general default
            raise PolicyError(
                f"Unknown name {', '.join(repr(k) for k in unknown)} in '{where}' in policy {source}.",
                f"Known names: {', '.join(setting.keys)}.",
            )
        return {str(k): float(v) for k, v in value.items()}
    raise AssertionError(f"unknown setting kind {kind}")  # a programming error in a check's declaration


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)  # numbers, strings and lists of strings are the same in TOML and JSON


def default_policy_toml() -> str:
    """The documented default policy as TOML: the text of modelgap.toml.example."""
    lines = [
        "# modelgap readiness policy. Copy to modelgap.toml in the working directory (read automatically)",
        "# or pass `python -m modelgap compare ... --policy FILE`. Every key is optional: a missing key keeps",
        "# the default shown here; an unknown key or a bad value is an error (exit code 2).",
        "#",
        "# Each check ends as pass, warn, fail, info or skipped. The verdict is the worst pass/warn/fail;",
        "# info and skipped checks never fail a release. Switch a check off with `enabled = false`.",
        '# "grade" settings take one of: ' + ", ".join(f'"{g}"' for g in GRADES) + ".",
        "",
        *(f"# {line}" for line in textwrap.wrap(_sample_text(), width=108)),
        "[sample]",
        *(f"{s.key} = {_toml_value(s.default)}  # {s.help}" for s in SAMPLE_SETTINGS),
    ]
    for check in CHECKS:
        about = textwrap.wrap(f"{check.title}: {check.description}", width=108)
        lines += ["", *(f"# {line}" for line in about), f"[checks.{check.name}]", "enabled = true"]
        for s in check.settings:
            lines.append(f"{s.key} = {_toml_value(s.default)}  # {s.help}")
    from modelgap.retraining.options import toml_lines  # the [retrain] table (not a check: no verdict settings)

    lines += toml_lines()
    return "\n".join(lines) + "\n"


def _sample_text() -> str:
    statistical = [c.title for c in CHECKS if c.needs_rows]
    exact = [c.title for c in CHECKS if not c.needs_rows and c.limits]
    return (
        "Sample size: with fewer rows than min_rows in the sample (labelled rows for metric changes and flips), "
        f"the statistical checks ({', '.join(statistical)}) report skipped with the reason: a rate, interval, PSI "
        "or rank correlation from a handful of rows is noise. Checks that count what happened on these very rows "
        f"({', '.join(exact)}) are graded at any size. 0 grades every sample."
    )
