"""Optional write-back (off by default): record a comparison on the REPO model's MLflow run.

Only when asked (`--log-to-mlflow`, or the app's explicit button): the JSON, Markdown and HTML reports go
into the existing run as artifacts under `modelgap/`, and the verdict becomes run tags. Nothing is ever
written to the deployed model, its registry version or its run, and no new run is started.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgap.errors import ModelgapError, TrackingServerError
from modelgap.values import one_line

if TYPE_CHECKING:
    from modelgap.comparison import Comparison

ARTIFACT_DIR = "modelgap"
REPORT_FILES = ("report.json", "report.md", "report.html")
TAG_PREFIX = "modelgap."


@dataclass
class WriteBack:
    """What was recorded, and where."""

    run_id: str
    tracking_uri: str
    artifacts: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


def verdict_tags(report: dict[str, Any]) -> dict[str, str]:
    """The run tags for a report dict: the verdict, what it was compared with, and the failing checks."""
    verdict = report.get("verdict") if isinstance(report.get("verdict"), dict) else {}
    assert isinstance(verdict, dict)
    deployed = report.get("deployed") if isinstance(report.get("deployed"), dict) else {}
    assert isinstance(deployed, dict)
    checks = [c for c in verdict.get("checks") or [] if isinstance(c, dict)]
    tags = {
        "verdict": str(verdict.get("status", "not computed")),
        "compared_with": str(deployed.get("source", "unknown")),
        "compared_with_sha256": str(deployed.get("sha256") or "unknown"),
        "failed_checks": ",".join(str(c.get("name")) for c in checks if c.get("status") == "fail"),
        "warned_checks": ",".join(str(c.get("name")) for c in checks if c.get("status") == "warn"),
        "report": f"{ARTIFACT_DIR}/report.html",
        "compared_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
    }
    mlflow = deployed.get("mlflow") if isinstance(deployed.get("mlflow"), dict) else {}
    assert isinstance(mlflow, dict)
    if mlflow.get("version"):
        tags["compared_with_version"] = f"{mlflow.get('registered_name', '')}/{mlflow['version']}".lstrip("/")
    return {TAG_PREFIX + k: v[:5000] for k, v in tags.items()}


def _tracking_uri(comparison: Comparison, tracking_uri: str | None) -> str:
    return writable_tracking_uri(tracking_uri, comparison.repo.metadata.mlflow.get("tracking_uri"))


def writable_tracking_uri(tracking_uri: str | None, recorded: Any, what: str = "Write-back") -> str:
    """Where to write about the repo model: the URI given, else MLFLOW_TRACKING_URI, else the one its
    metadata recorded (sign-off reads that from a saved report)."""
    import os

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or recorded
    if not uri or "***" in str(uri):  # a redacted URI (credentials stripped) cannot be used to write
        raise ModelgapError(
            f"{what} needs the MLflow tracking URI of the repo model's run.",
            "Pass --tracking-uri or set MLFLOW_TRACKING_URI.",
        )
    return str(uri)


def log_to_mlflow(comparison: Comparison, tracking_uri: str | None = None) -> WriteBack:
    """Log the reports as artifacts and the verdict as tags on the repo model's existing MLflow run."""
    from modelgap.report import comparison_to_dict, write_html, write_json, write_markdown
    from modelgap.sources.tracking import client_for, mlflow_error

    run_id = comparison.repo.metadata.mlflow.get("run_id")
    if not run_id:
        raise ModelgapError(
            f"The repo model ({comparison.repo.source}) does not come from an MLflow run, so there is nowhere "
            "to record the report.",
            "Write-back needs a repo model from an MLflow run or the registry (runs:/..., models:/...).",
        )
    if comparison.deployed.metadata.mlflow.get("run_id") == run_id:
        raise ModelgapError(
            f"The repo and deployed models come from the same MLflow run ({run_id}); recording the report there "
            "would tag the deployed model's run.",
            "Compare a repo model from its own run, or drop --log-to-mlflow.",
        )
    uri = _tracking_uri(comparison, tracking_uri)
    client = client_for(uri)  # fails in seconds, with the reason, when the server is down or refuses us
    try:
        client.get_run(run_id)
    except Exception as exc:
        raise mlflow_error(exc, f"the repo model's run {run_id}", uri) from exc
    report = comparison_to_dict(comparison)
    result = WriteBack(run_id=str(run_id), tracking_uri=uri)
    try:
        with tempfile.TemporaryDirectory(prefix="modelgap-writeback-") as tmp:
            folder = Path(tmp)
            write_json(comparison, folder / "report.json")
            write_markdown(report, folder / "report.md")
            write_html(report, folder / "report.html")
            for name in REPORT_FILES:
                client.log_artifact(run_id, str(folder / name), artifact_path=ARTIFACT_DIR)
                result.artifacts.append(f"{ARTIFACT_DIR}/{name}")
        for key, value in verdict_tags(report).items():
            client.set_tag(run_id, key, value)
            result.tags[key] = value
    except ModelgapError:
        raise
    except Exception as exc:
        text = one_line(exc)
        raise TrackingServerError(
            f"Could not record the report on run {run_id} at {uri}: {text}.",
            "Check that you may write to this run (MLflow permissions) and that its artifact store is reachable.",
        ) from exc
    return result
