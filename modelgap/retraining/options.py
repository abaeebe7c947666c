"""What a retraining run may do: seeds, a row bound, worker processes and, per side, a training command.

Commands come only from the operator's policy file (`[retrain.repo] command = "..."` in modelgap.toml) or
from the CLI (`--retrain-command repo=...`), never from a browser. The `[retrain]` table is validated here;
the readiness policy loader calls `validate_retrain_table` so a typo fails with the other policy errors.
"""

from __future__ import annotations

import argparse
import math
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelgap.errors import PolicyError

SIDES = ("repo", "deployed")
DEFAULT_SEEDS = 5
DEFAULT_MAX_ROWS = 200_000
DEFAULT_TIMEOUT_S = 1800.0
MAX_SEEDS = 50
PLACEHOLDERS = ("data", "out", "target", "seed")
_HINT = "See modelgap.toml.example ([retrain])."


@dataclass(frozen=True)
class RetrainOptions:
    """Settings of one retraining run (`compare --retrain`).

    `repo_command` / `deployed_command`: a training command per side (placeholders {data}, {out}, {target},
    {seed}), run in `command_cwd` with a timeout; None refits the estimator instead. `workers`: None picks up
    to 2 worker processes, serial when the machine's cores are already busy.
    """

    enabled: bool = True
    seeds: int = DEFAULT_SEEDS
    max_rows: int = DEFAULT_MAX_ROWS
    repo_command: str | None = None
    deployed_command: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    command_cwd: str | None = None
    workers: int | None = None

    def command(self, side: str) -> str | None:
        return self.repo_command if side == "repo" else self.deployed_command

    def key(self) -> str:
        """A small string naming what changes the results (for caches)."""
        return f"seeds={self.seeds};rows={self.max_rows};repo={self.repo_command};deployed={self.deployed_command}"


def positive_int(text: str, least: int = 1, most: int | None = None) -> int:
    """argparse type: a whole number of at least `least` (and at most `most`)."""
    span = f"at least {least}" + (f" and at most {most}" if most is not None else "")
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number {span}, not {text!r}") from None
    if value < least or (most is not None and value > most):
        raise argparse.ArgumentTypeError(f"must be a whole number {span}, not {value}")
    return value


def seeds_count(text: str) -> int:
    """argparse type for --retrain-seeds: the noise floor compares refits in pairs, so at least 2."""
    return positive_int(text, 2, MAX_SEEDS)


def side_command(text: str) -> tuple[str, str]:
    """argparse type for `--retrain-command SIDE=COMMAND`."""
    side, sep, command = text.partition("=")
    side = side.strip()
    if not sep or side not in SIDES or not command.strip():
        raise argparse.ArgumentTypeError(f"expected repo=COMMAND or deployed=COMMAND, not {text!r}")
    try:
        check_command(command, f"--retrain-command {side}")
    except PolicyError as err:
        raise argparse.ArgumentTypeError(err.problem) from None
    return side, command.strip()


def check_command(command: str, where: str) -> None:
    """A command template must split like a shell line and use only the known placeholders."""
    try:
        parts = shlex.split(command)
    except ValueError as exc:
        raise PolicyError(f"'{where}' is not a valid command line ({exc}).", _HINT) from exc
    if not parts:
        raise PolicyError(f"'{where}' is empty.", "Give the command that trains the model, e.g. python train.py.")
    for part in parts:
        try:
            part.format(**{name: "" for name in PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as exc:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise PolicyError(f"'{where}' uses an unknown placeholder in {part!r}.", f"Known: {known}.") from exc


def validate_retrain_table(table: Any, source: str) -> dict[str, Any]:
    """The `[retrain]` table of a policy, checked: seeds, max_rows, timeout_s and [retrain.<side>] command."""
    if not isinstance(table, Mapping):
        raise PolicyError(f"Key 'retrain' in policy {source} must be a table ([retrain]).", _HINT)
    out: dict[str, Any] = {}
    for key, value in table.items():
        where = f"retrain.{key}"
        if key in ("seeds", "max_rows"):
            least, most = (2, MAX_SEEDS) if key == "seeds" else (1, None)
            bad = isinstance(value, bool) or not isinstance(value, int) or value < least
            if bad or (most is not None and value > most):
                span = f"at least {least}" + (f" and at most {most}" if most is not None else "")
                raise PolicyError(f"'{where}' in policy {source} must be a whole number {span}.", _HINT)
            out[key] = value
        elif key == "timeout_s":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or value <= 0:
                raise PolicyError(f"'{where}' in policy {source} must be a number of seconds above 0.", _HINT)
            out[key] = float(value)
        elif key in SIDES:
            if not isinstance(value, Mapping) or set(value) - {"command"}:
                raise PolicyError(f"'{where}' in policy {source} must be a table with one key, command.", _HINT)
            command = value.get("command")
            if not isinstance(command, str):
                raise PolicyError(f"'{where}.command' in policy {source} must be a string.", _HINT)
            check_command(command, f"{where}.command")
            out[f"{key}_command"] = command.strip()
        else:
            raise PolicyError(
                f"Unknown key '{where}' in policy {source}.",
                "Known: seeds, max_rows, timeout_s, [retrain.repo], [retrain.deployed].",
            )
    return out


def policy_file(path: str | Path | None, cwd: str | Path | None = None) -> Path | None:
    """The policy file the readiness loader reads: `path`, else modelgap.toml in `cwd`, else None."""
    if path is not None:
        return Path(path).expanduser()
    candidate = Path(cwd or Path.cwd()) / "modelgap.toml"
    return candidate if candidate.is_file() else None


def from_policy(path: str | Path | None, cwd: str | Path | None = None) -> RetrainOptions:
    """RetrainOptions from the `[retrain]` table of the policy file (defaults when there is none).

    Commands run in the policy file's folder, so `python train.py` finds a script next to modelgap.toml.
    """
    file = policy_file(path, cwd)
    if file is None or not file.is_file():
        return RetrainOptions()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise PolicyError(f"Policy {file} cannot be read as TOML: {exc}.", _HINT) from exc
    table = data.get("retrain")
    if table is None:
        return RetrainOptions(command_cwd=str(file.resolve().parent))
    settings = validate_retrain_table(table, str(file))
    return RetrainOptions(command_cwd=str(file.resolve().parent), **settings)


def with_cli(
    options: RetrainOptions,
    *,
    seeds: int | None = None,
    max_rows: int | None = None,
    commands: list[tuple[str, str]] | None = None,
) -> RetrainOptions:
    """`options` with the CLI's flags applied on top (flags win over the policy file)."""
    changes: dict[str, Any] = {}
    if seeds is not None:
        changes["seeds"] = seeds
    if max_rows is not None:
        changes["max_rows"] = max_rows
    for side, command in commands or []:
        changes[f"{side}_command"] = command
    if commands:  # a command typed on the command line runs where it was typed
        changes["command_cwd"] = str(Path.cwd())
    return replace(options, **changes)


def toml_lines() -> list[str]:
    """The `[retrain]` part of modelgap.toml.example."""
    return [
        "",
        "# Re-run training (`compare --retrain`, or Re-run training in the app): each model's estimator is refitted",
        "# on its recorded training data; a side with a command runs that command instead. Placeholders: {data}",
        "# (training data file), {out} (write the model there: an MLflow model folder, or {out}.skops / .joblib),",
        "# {target} (label column), {seed}. Commands run without a shell, in this file's folder, with a timeout.",
        "[retrain]",
        f"seeds = {DEFAULT_SEEDS}  # refits with different seeds that measure the retraining noise floor",
        f"max_rows = {DEFAULT_MAX_ROWS}  # training rows per refit (a seeded uniform sample above this)",
        f"timeout_s = {DEFAULT_TIMEOUT_S:g}  # a training command is stopped after this many seconds",
        "# [retrain.repo]",
        '# command = "python train.py --data {data} --out {out}"',
    ]
