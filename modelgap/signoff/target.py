"""Where a candidate (the repo model) lives in MLflow, so its sign-offs can be recorded and read there.

A registry source (`models:/name/3`, `@alias`, `/stage`) is resolved to the concrete version it names now:
sign-offs are tags on that version, so moving an alias later does not carry them along. `runs:/<id>/...`
and an MLflow model directory whose MLmodel records a `run_id` live on that run. Anything else (a skops or
pickle file, a folder never logged, an endpoint, a git revision) has nowhere to keep a record, and is refused.
Resolving only reads: nothing is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modelgap.redact import redact_uri
from modelgap.signoff.record import SignoffError

__all__ = ["Candidate", "check_not_deployed", "resolve_candidate"]

_LOG_FIRST = (
    "Log or register the model first (mlflow.<flavor>.log_model(..., registered_model_name=...)), compare "
    "that (runs:/<run_id>/model or models:/<name>/<version>), and sign that report."
)


@dataclass(frozen=True)
class Candidate:
    """A repo model's home in MLflow: a registry version, or a run."""

    source: str
    tracking_uri: str
    kind: Literal["version", "run"]
    run_id: str | None
    name: str | None = None
    version: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: registered model 'credit-risk' version 3, or run 0a1b…."""
        if self.kind == "version":
            return f"registered model {self.name!r} version {self.version}"
        return f"run {self.run_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "tracking_uri": redact_uri(self.tracking_uri),
            "kind": self.kind,
            "registered_name": self.name,
            "version": self.version,
            "run_id": self.run_id,
        }


def resolve_candidate(source: str, tracking_uri: str | None) -> Candidate:
    """The registry version or run that `source` names now; SignoffError when it has no home in MLflow."""
    from modelgap.sources import source_kind
    from modelgap.sources.tracking import resolve_tracking_uri

    text = (source or "").strip()
    kind = source_kind(text)
    if kind == "registry":
        return _registry(text, resolve_tracking_uri(tracking_uri))
    if kind == "run":
        from modelgap.errors import SourceError
        from modelgap.sources.refs import parse_run_uri

        try:
            run_id = parse_run_uri(text).run_id
        except SourceError as err:
            raise SignoffError(err.problem, err.hint) from err
        return _run(text, run_id, resolve_tracking_uri(tracking_uri))
    if kind == "local":
        run_id = _local_run_id(Path(text).expanduser(), text)
        return _run(text, run_id, resolve_tracking_uri(tracking_uri))
    what = {"endpoint": "a scoring endpoint", "git": "a file at a git revision"}.get(kind, "not an MLflow model")
    raise SignoffError(f"The repo model {text} is {what}, so there is nowhere to record a sign-off.", _LOG_FIRST)


def _registry(source: str, uri: str) -> Candidate:
    from modelgap.sources.registry import _resolve_version, parse_models_uri
    from modelgap.sources.tracking import client_for

    parsed = parse_models_uri(source)
    if parsed.logged_model_id:
        raise SignoffError(
            f"The repo model {source} is a logged model outside the registry; sign-offs are kept on registry "
            "versions and runs.",
            "Register it (mlflow.register_model) and compare models:/<name>/<version>, or compare its run.",
        )
    client = client_for(uri)
    version = _resolve_version(client, parsed, uri)
    return Candidate(
        source=source,
        tracking_uri=uri,
        kind="version",
        run_id=getattr(version, "run_id", None) or None,
        name=str(version.name),
        version=str(version.version),
    )


def _run(source: str, run_id: str, uri: str) -> Candidate:
    from modelgap.sources.tracking import client_for, mlflow_error

    client = client_for(uri)
    try:
        client.get_run(run_id)
    except Exception as exc:
        raise mlflow_error(exc, f"the repo model's run {run_id}", uri) from exc
    return Candidate(source=source, tracking_uri=uri, kind="run", run_id=run_id)


def _local_run_id(path: Path, source: str) -> str:
    """The run an MLflow model directory was logged from (MLmodel's run_id); refused for anything else."""
    from modelgap.sources.mlflow_dir import read_mlmodel

    if not path.exists():
        raise SignoffError(f"No such file or folder: {source}.", "Check the path of the repo model.")
    if not (path.is_dir() and (path / "MLmodel").is_file()):
        raise SignoffError(
            f"The repo model {source} is a file, not a model logged to MLflow, so there is nowhere to record a "
            "sign-off.",
            _LOG_FIRST,
        )
    run_id = read_mlmodel(path).get("run_id")
    if not run_id:
        raise SignoffError(
            f"The repo model {source} is an MLflow model folder that was saved, not logged: its MLmodel names no "
            "run, so there is nowhere to record a sign-off.",
            _LOG_FIRST,
        )
    return str(run_id)


def check_not_deployed(candidate: Candidate, deployed_mlflow: dict[str, Any]) -> None:
    """Sign-offs go on the candidate, never on the deployed model's registry version or run."""
    name, version = deployed_mlflow.get("registered_name"), deployed_mlflow.get("version")
    if candidate.kind == "version" and (name, str(version)) == (candidate.name, candidate.version):
        raise SignoffError(
            f"The repo and deployed models are the same registry version ({candidate.label}); a sign-off is "
            "never recorded on the deployed model.",
            "Compare the candidate version with the deployed one, and sign that report.",
        )
    if candidate.kind == "run" and deployed_mlflow.get("run_id") == candidate.run_id:
        raise SignoffError(
            f"The repo and deployed models come from the same MLflow run ({candidate.run_id}); a sign-off is "
            "never recorded on the deployed model's run.",
            "Compare a repo model from its own run, and sign that report.",
        )
