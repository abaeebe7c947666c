"""Serving parity: does a scoring endpoint answer like the artifact it claims to serve?

The same rows go to both; rows whose outputs differ beyond a tolerance are training-serving skew
(other library versions or preprocessing in the serving image). Rows go to the endpoint in small
batches so its latency percentiles describe many requests; failed requests are counted, not fatal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelgap.errors import EndpointError, ModelgapError
from modelgap.model import LoadedModel
from modelgap.options import DEFAULT_PARITY_BATCH_ROWS, DEFAULT_PARITY_ROWS
from modelgap.sources.endpoint import EndpointModel
from modelgap.sources.endpoint_client import LatencyStats

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

__all__ = ["ParityResult", "build_parity", "check_parity"]

PROBA_TOLERANCE = 1e-6


@dataclass
class ParityResult:
    endpoint: str
    artifact: str
    artifact_sha256: str | None
    compared: str  # probabilities | labels | values
    tolerance: float
    n_requested: int  # rows sent
    n_rows: int  # rows answered by both and compared
    n_differing: int
    max_abs_diff: float
    mean_abs_diff: float
    differing: list[dict[str, Any]]  # the largest differences: {row, artifact, endpoint, abs_diff}
    n_requests: int
    n_errors: int  # requests that failed after retries
    n_error_rows: int
    n_retries: int
    batch_size: int
    concurrency: int
    latency: LatencyStats
    seconds: float
    error_messages: list[str] = field(default_factory=list)

    @property
    def differing_rate(self) -> float | None:
        return self.n_differing / self.n_rows if self.n_rows else None

    @property
    def rows_per_second(self) -> float | None:
        return self.n_requested / self.seconds if self.seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "artifact": self.artifact,
            "artifact_sha256": self.artifact_sha256,
            "compared": self.compared,
            "tolerance": self.tolerance,
            "n_requested": self.n_requested,
            "n_rows": self.n_rows,
            "n_differing": self.n_differing,
            "differing_rate": self.differing_rate,
            "max_abs_diff": self.max_abs_diff,
            "mean_abs_diff": self.mean_abs_diff,
            "differing": self.differing,
            "n_requests": self.n_requests,
            "n_errors": self.n_errors,
            "n_error_rows": self.n_error_rows,
            "n_retries": self.n_retries,
            "error_messages": self.error_messages,
            "batch_size": self.batch_size,
            "concurrency": self.concurrency,
            "latency_ms": self.latency.to_dict(),
            "rows_per_second": self.rows_per_second,
        }

    def summary_lines(self) -> list[str]:
        lines = [f"Serving parity ({self.endpoint} vs {self.artifact}, {self.compared})"]
        if self.n_rows:
            rate = self.differing_rate or 0.0
            if self.compared == "labels":
                lines.append(f"  {self.n_differing} of {self.n_rows} rows get another label ({rate:.2%})")
            else:
                lines.append(
                    f"  {self.n_differing} of {self.n_rows} rows differ beyond {self.tolerance:g} ({rate:.2%}); "
                    f"max |diff| {self.max_abs_diff:.3g}"
                )
        lat = self.latency
        if lat.n and lat.p50 is not None:
            lines.append(
                f"  latency p50 {lat.p50:.0f} ms, p95 {lat.p95:.0f} ms, p99 {lat.p99:.0f} ms over {lat.n} requests "
                f"of {self.batch_size} rows"
            )
        if self.n_errors:
            lines.append(
                f"  {self.n_errors} of {self.n_requests} requests failed ({self.n_error_rows} rows not compared)"
            )
            lines += [f"  ! {m}" for m in self.error_messages[:3]]
        return lines


def check_parity(
    artifact: LoadedModel,
    endpoint: EndpointModel,
    data: pd.DataFrame,
    *,
    tolerance: float | None = None,
    max_rows: int = DEFAULT_PARITY_ROWS,
    batch_size: int = DEFAULT_PARITY_BATCH_ROWS,
    top_n: int = 20,
    progress: Any = None,
) -> ParityResult:
    """Send the first `max_rows` rows of `data` to both; compare in the richest output space both give."""
    if endpoint.predictor is None:
        raise EndpointError(f"{endpoint.source} has no endpoint client.", "Load it with modelgap.sources.load_model.")
    X = data.head(max_rows)
    if X.empty:
        raise ModelgapError("Serving parity needs at least one data row.", "Give sample data.")
    predictor = endpoint.predictor
    start = time.perf_counter()
    outcomes = endpoint.score_batches(X, batch_size=batch_size, strict=False, progress=progress)
    seconds = time.perf_counter() - start
    ok = [o for o in outcomes if o.ok and o.output is not None]
    failed = [o for o in outcomes if not o.ok]
    if not ok:
        first = failed[0].error if failed and failed[0].error else None
        raise EndpointError(
            f"Serving parity: every request to {predictor.client.display_url} failed"
            + (f" ({first.problem})" if first else "."),
            first.hint if first else "Check the scoring server.",
        )
    positions = np.concatenate([np.arange(o.start, o.stop) for o in ok])
    rows = X.iloc[positions]
    answers = [predictor.interpret(o.output) for o in ok if o.output is not None]
    compared, a_out, e_out, tol = _outputs(artifact, endpoint, rows, answers, tolerance)
    diff = _abs_diff(compared, a_out, e_out)
    differs = diff > tol
    order = np.lexsort((positions, -diff))
    top = [
        {
            "row": _plain(rows.index[i]),
            "artifact": _plain(a_out[i]),
            "endpoint": _plain(e_out[i]),
            "abs_diff": float(diff[i]),
        }
        for i in order[:top_n]
        if differs[i]
    ]
    messages: list[str] = []
    for o in failed:
        text = o.error.one_line() if o.error else "unknown error"
        if text not in messages:
            messages.append(text)
    return ParityResult(
        endpoint=predictor.client.display_url,
        artifact=artifact.source,
        artifact_sha256=artifact.metadata.sha256,
        compared=compared,
        tolerance=tol,
        n_requested=len(X),
        n_rows=len(rows),
        n_differing=int(differs.sum()),
        max_abs_diff=float(diff.max()) if len(diff) else 0.0,
        mean_abs_diff=float(diff.mean()) if len(diff) else 0.0,
        differing=top,
        n_requests=len(outcomes),
        n_errors=len(failed),
        n_error_rows=sum(o.stop - o.start for o in failed),
        n_retries=sum(o.attempts - 1 for o in outcomes),
        batch_size=batch_size,
        concurrency=predictor.client.settings.concurrency,
        latency=LatencyStats.of([o.seconds for o in ok]),
        seconds=seconds,
        error_messages=messages[:5],
    )


def _outputs(
    artifact: LoadedModel, endpoint: EndpointModel, rows: pd.DataFrame, answers: list[Any], tolerance: float | None
) -> tuple[str, np.ndarray, np.ndarray, float]:
    """(space, artifact outputs, endpoint outputs, tolerance): probabilities > values > labels."""
    if all(a.proba is not None for a in answers) and artifact.has_proba:
        columns = _class_columns(artifact.classes, endpoint.classes)
        if columns is not None:
            e = np.concatenate([a.proba for a in answers])[:, columns]
            return "probabilities", artifact.predict_proba(rows), e, PROBA_TOLERANCE if tolerance is None else tolerance
    if artifact.task == "regression" and all(a.values is not None for a in answers):
        a_values = artifact.predict_values(rows)
        e_values = np.concatenate([a.values for a in answers])
        tol = tolerance if tolerance is not None else 1e-6 * max(1.0, float(np.nanstd(a_values)))
        return "values", a_values, e_values, tol
    labels = np.concatenate([np.asarray(a.labels, dtype=object) for a in answers])
    return "labels", np.asarray(artifact.predict_labels(rows), dtype=object), labels, 0.0


def _class_columns(artifact_classes: list[Any], endpoint_classes: list[Any]) -> list[int] | None:
    """Endpoint probability columns in the artifact's class order, or None when the class sets differ."""
    where = {str(c): i for i, c in enumerate(endpoint_classes)}
    if len(where) != len(artifact_classes) or any(str(c) not in where for c in artifact_classes):
        return None
    return [where[str(c)] for c in artifact_classes]


def _abs_diff(compared: str, a: np.ndarray, e: np.ndarray) -> np.ndarray:
    if compared == "probabilities":
        return np.nan_to_num(np.abs(np.asarray(a, float) - np.asarray(e, float)).max(axis=1), nan=np.inf)
    if compared == "values":
        d = np.abs(np.asarray(a, float) - np.asarray(e, float))
        both_nan = np.isnan(np.asarray(a, float)) & np.isnan(np.asarray(e, float))
        return np.where(both_nan, 0.0, np.nan_to_num(d, nan=np.inf))
    same = pd.Series(a).astype(str).to_numpy() == pd.Series(e).astype(str).to_numpy()
    return np.where(same, 0.0, 1.0)


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    return v.item() if isinstance(v, np.generic) else v


def build_parity(comparison: Comparison, progress: ProgressFn) -> None:
    """Section builder: when one side is an endpoint with a paired artifact, check that it serves it."""
    endpoint = next((m for m in (comparison.deployed, comparison.repo) if isinstance(m, EndpointModel)), None)
    if endpoint is None:
        return
    settings = comparison.options.parity  # a failure below is recorded by modelgap.pipeline
    artifact = endpoint.paired or _paired_from_options(comparison, endpoint)
    if artifact is None:
        comparison.notes.append(
            "Serving parity not checked: name the artifact the endpoint serves with "
            "--deployed-meta models:/<name>@<alias>."
        )
        return
    if comparison.sample is None:
        comparison.notes.append("Serving parity needs sample data (--data); skipped.")
        return

    def report(done: int, total: int) -> None:
        progress(f"Checking serving parity ({done}/{total} requests)", done / max(total, 1))

    comparison.sections.parity = check_parity(
        artifact,
        endpoint,
        comparison.sample,
        tolerance=settings.tolerance,
        max_rows=settings.rows,
        batch_size=settings.batch_rows,
        top_n=comparison.options.top_n,
        progress=report,
    )


def _paired_from_options(comparison: Comparison, endpoint: EndpointModel) -> LoadedModel | None:
    """--deployed-meta describes the deployed side: load it when the endpoint was loaded without it."""
    meta = comparison.options.sources.deployed_meta
    if not meta or endpoint is not comparison.deployed:
        return None
    from modelgap.sources import Trust, load_model

    trust = comparison.options.trust or Trust.nothing()
    return load_model(str(meta), tracking_uri=comparison.options.sources.tracking_uri, trust=trust)
