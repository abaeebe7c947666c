"""The CLI's checks before comparing (so a bad flag fails in a second, not after the comparison) and the
writing of its outputs (each on its own, so one bad path loses no other report)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelgap.errors import ModelgapError
from modelgap.values import one_line


def write_outputs(comparison: Any, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Write every report asked for, then record on MLflow if asked: (what was written, one phrase per
    failure). No failure stops the others: the comparison took minutes, whatever can be written is."""
    from modelgap.report import write_html, write_json, write_markdown

    writers: list[tuple[str, str | None, Callable[[Any, str], None]]] = [
        ("--json", args.json_path, write_json),
        ("--markdown", args.markdown_path, write_markdown),
        ("--html", args.html_path, write_html),
    ]
    written: list[str] = []
    failures: list[str] = []
    for flag, path, write in writers:
        if not path:
            continue
        try:
            write(comparison, str(Path(path).expanduser()))
            written.append(path)
        except Exception as exc:
            if os.environ.get("MODELGAP_DEBUG"):
                raise
            failures.append(f"{flag} {path} ({_reason(exc)})")
    if args.log_to_mlflow:
        from modelgap.writeback import log_to_mlflow

        try:
            log_to_mlflow(comparison, tracking_uri=args.tracking_uri)
            written.append("the MLflow run")
        except Exception as exc:
            if os.environ.get("MODELGAP_DEBUG"):
                raise
            failures.append(f"--log-to-mlflow ({_reason(exc)})")
    return written, failures


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ModelgapError):
        return exc.one_line().rstrip(".")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {one_line(exc)}"


def check_output_paths(args: argparse.Namespace) -> None:
    """Fail before the (slow) comparison when a report could not be written anyway: a folder, a missing or
    read-only folder, a place no file can be created (/proc). Every bad path is named at once."""
    problems = []
    for flag, value in (("--json", args.json_path), ("--markdown", args.markdown_path), ("--html", args.html_path)):
        if value:
            reason = _unwritable(Path(value).expanduser())
            if reason:
                problems.append(f"{flag} {value}: {reason}")
    if problems:
        raise ModelgapError(
            "Cannot write " + "; ".join(problems) + ".", "Pick a file path in a folder you can write to."
        )


def _unwritable(path: Path) -> str | None:
    """Why no report can be written at `path`, or None. Creates nothing that stays: a new file is removed."""
    if path.is_dir():
        return "it is a folder, not a file"
    parent = path.parent
    if not parent.exists():
        return f"the folder {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    existed = path.exists()
    try:
        if existed:
            with path.open("ab"):  # appends nothing; the report replaces it later
                pass
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            path.unlink()
    except OSError as exc:
        why = (exc.strerror or type(exc).__name__).lower()
        return f"cannot write to it ({why})" if existed else f"cannot create a file in {parent} ({why})"
    return None


def check_log_to_mlflow(args: argparse.Namespace) -> None:
    """--log-to-mlflow records on the repo model's MLflow run: refuse, before comparing, a repo source that has
    none (a model file, an endpoint, an MLflow folder whose MLmodel names no run) or no server to reach it."""
    if not args.log_to_mlflow:
        return
    from modelgap.sources import source_kind

    kind, why = source_kind(args.repo), ""
    path = Path(args.repo).expanduser()
    if kind == "endpoint":
        why = "is a scoring endpoint"
    elif kind == "git" and Path(args.repo.rsplit(":", 1)[-1]).suffix:
        why = "is a model file at a git revision"
    elif kind == "local" and path.is_file():
        why = "is a model file"
    elif kind == "local" and (path / "MLmodel").is_file():
        run_id = _mlmodel_run_id(path / "MLmodel")
        if not run_id:
            why = "is an MLflow model folder whose MLmodel names no run_id"
        elif not (args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")):
            raise ModelgapError(
                f"--log-to-mlflow records the report on run {run_id} of --repo {args.repo}, but no MLflow "
                "tracking server is named.",
                "Pass --tracking-uri (or set MLFLOW_TRACKING_URI) for the server that holds the run.",
            )
    if why:
        raise ModelgapError(
            f"--log-to-mlflow records the report on the repo model's MLflow run, but --repo {args.repo} {why}, "
            "so there is no run to record it on.",
            "Write-back needs a repo model from an MLflow run or the registry (runs:/..., models:/...).",
        )


def _mlmodel_run_id(mlmodel: Path) -> str | None:
    """The run_id an MLmodel file names (None when absent or unreadable: the loader reports what is wrong)."""
    import yaml

    try:
        data = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    run_id = data.get("run_id") if isinstance(data, dict) else None
    return str(run_id) if run_id else None


def check_deployed_meta(args: argparse.Namespace) -> None:
    """--deployed-meta names what a scoring endpoint serves: refuse it for any other deployed source."""
    from modelgap.sources import source_kind

    if args.deployed_meta and source_kind(args.deployed) != "endpoint":
        raise ModelgapError(
            f"--deployed-meta {args.deployed_meta} describes a scoring endpoint, but --deployed {args.deployed} "
            "is not one (an http(s)://host:port/invocations URL).",
            "Drop --deployed-meta, or pass the endpoint's URL as --deployed.",
        )
