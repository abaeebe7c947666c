"""A training command as the recipe: run it in a subprocess with a timeout, load what it wrote, predict.

The command comes from the operator's policy file or the CLI, never from a browser. It is split like a shell
line (`shlex`) and run without a shell, in its own process group (a timeout or a cancel stops the whole
group), inside a fresh temporary folder that is removed afterwards. Placeholders: {data} (the training data
file; a temporary CSV of the bounded rows when --retrain-max-rows cut them), {out} (where the command writes
the model: an MLflow model folder, or a file named {out}.skops / {out}.joblib ...), {target}, {seed}.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from modelgap.errors import ModelgapError
from modelgap.model import LoadedModel
from modelgap.redact import redact
from modelgap.retraining.measure import Outputs, in_classes, outputs_of_model
from modelgap.retraining.training import TrainingSet

POLL_S = 0.25
MAX_LINE = 300


@dataclass
class CommandRun:
    """What the command gave: its model's outputs on the compared rows, or the one-line reason it did not."""

    outputs: Outputs | None = None
    error: str | None = None
    seconds: float = 0.0
    model_class: str | None = None


def run_command(
    template: str,
    training: TrainingSet,
    rows: pd.DataFrame,
    classes: list[Any],
    *,
    timeout_s: float,
    cwd: str | None = None,
    seed: int = 0,
    cancel: threading.Event | None = None,
) -> CommandRun:
    """Run `template` for one side and measure the model it writes on `rows` (that side's input columns), in
    the order of `classes` (the side model's)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="modelgap-retrain-") as tmp:
        folder = Path(tmp)
        try:
            args = _arguments(template, training, folder, seed)
        except ValueError as exc:
            return CommandRun(error=str(exc), seconds=time.perf_counter() - start)
        error = _run(args, folder, cwd, timeout_s, cancel)
        run = _measure(folder / "model", rows, classes) if error is None else CommandRun(error=error)
    run.seconds = time.perf_counter() - start
    return run


def _arguments(template: str, training: TrainingSet, folder: Path, seed: int) -> list[str]:
    needs = set(template.replace("{{", "").replace("}}", "").split("{")[1:])
    needs = {n.split("}", 1)[0] for n in needs}
    data = training.path
    if "data" in needs:
        if training.frame is None or data is None:
            raise ValueError(training.problem or "No training data was found to pass as {data}.")
        if training.n_rows_total is not None and len(training.frame) < training.n_rows_total:
            data = str(folder / "training.csv")  # the bounded rows, so the command trains on what a refit would
            training.frame.to_csv(data, index=False)
    if "target" in needs and not training.label:
        raise ValueError(training.problem or "The label column is unknown: pass --target for {target}.")
    values = {"data": data or "", "out": str(folder / "model"), "target": training.label or "", "seed": str(seed)}
    return [part.format(**values) for part in shlex.split(template)]


def _run(
    args: list[str], folder: Path, cwd: str | None, timeout_s: float, cancel: threading.Event | None
) -> str | None:
    """None when the command succeeded, else one line: exit code / timeout and its last stderr line."""
    out_log, err_log = folder / "stdout.log", folder / "stderr.log"
    with out_log.open("wb") as out, err_log.open("wb") as err:
        try:
            proc = subprocess.Popen(  # the operator's own command, no shell
                args, cwd=cwd or None, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError as exc:
            return f"The training command could not start ({exc.strerror or exc}: {args[0]})."
        started = time.monotonic()
        stopped: str | None = None
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                stopped = "The training command was cancelled."
            elif time.monotonic() - started > timeout_s:
                stopped = f"The training command timed out after {timeout_s:g} s."
            if stopped:
                _stop(proc)
                break
            try:
                proc.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                continue
    if stopped:
        return stopped
    if proc.returncode != 0:
        line = last_line(err_log) or last_line(out_log) or "no output"
        return f"The training command exited with code {proc.returncode}: {line}"
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the command's process group (our own child and what it started), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def last_line(path: Path) -> str | None:
    """The last non-empty line of a log, shortened and without credentials."""
    try:
        text = path.read_bytes()[-65536:].decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    line = redact(lines[-1])
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def _measure(out: Path, rows: pd.DataFrame, classes: list[Any]) -> CommandRun:
    """Load what the command wrote (an MLflow folder at {out}, or a file {out}.<ext>) and predict `rows`."""
    from modelgap.sources import load_model

    found = out if out.exists() else next(iter(sorted(out.parent.glob(out.name + ".*"))), None)
    if found is None:
        return CommandRun(error=f"The training command succeeded but wrote no model at {{out}} ({out.name}).")
    try:
        model: LoadedModel = load_model(str(found))
        outputs = in_classes(outputs_of_model(model, rows), classes)
    except ModelgapError as err:
        return CommandRun(error=f"The model the training command wrote cannot be used: {err.one_line()}")
    except Exception as exc:  # noqa: BLE001 - any failure of the user's model is its status, never a crash
        text = " ".join(str(exc).split())[:200]
        return CommandRun(error=f"The model the training command wrote cannot be used ({type(exc).__name__}: {text}).")
    return CommandRun(outputs=outputs, model_class=model.metadata.model_class)
