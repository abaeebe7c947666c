"""One entry for every front end: a comparison request in, a `Comparison` out.

The CLI and the app both call `compare`: it checks the data file first (a bad file fails in a second, not
after loading two models), shows an endpoint a few sample rows so it can tell what it returns, loads both
models under the caller's trust policy, then runs the sections. The app passes its cached loader and a
progress bar; the CLI the plain loader. `cancel` stops the work between steps.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from modelgap.comparison import CompareOptions, Comparison, ProgressFn, run_comparison
from modelgap.errors import ModelgapError
from modelgap.model import LoadedModel
from modelgap.options import SourceContext
from modelgap.sources import load_model, source_kind
from modelgap.sources.origins import Trust

if TYPE_CHECKING:
    from modelgap.sources.endpoint import EndpointOptions

__all__ = ["ComparisonCancelled", "ComparisonRequest", "Loader", "compare", "spark_only_source"]

LOAD_SHARE = 0.2  # of the progress bar: loading the two models; the sections take the rest


class ComparisonCancelled(ModelgapError):
    """The caller asked to stop (the app's Cancel): nothing is kept."""


class Loader(Protocol):
    """`modelgap.load_model`'s keyword form; the app passes a cached one."""

    def __call__(
        self, source: str, *, tracking_uri: str | None, trust: Trust, endpoint_options: EndpointOptions | None
    ) -> LoadedModel: ...


@dataclass(frozen=True)
class ComparisonRequest:
    """What to compare, on what, and how: small strings and the options, the same for CLI and app."""

    repo: str
    deployed: str
    data_path: str | None = None
    tracking_uri: str | None = None
    deployed_meta: str | None = None  # the registry entry a deployed scoring endpoint serves
    repo_training_data: str | None = None
    deployed_training_data: str | None = None
    options: CompareOptions = field(default_factory=CompareOptions)
    trust: Trust = field(default_factory=Trust.nothing)

    def resolved_options(self) -> CompareOptions:
        """The options the sections read: the request's sources, training data and trust carried along (the
        only place they are copied in, so the CLI and the app cannot differ)."""
        options = self.options
        return dataclasses.replace(
            options,
            sources=SourceContext(tracking_uri=self.tracking_uri, deployed_meta=self.deployed_meta),
            data=dataclasses.replace(
                options.data,
                repo_training_data=self.repo_training_data,
                deployed_training_data=self.deployed_training_data,
            ),
            trust=self.trust,
        )


def spark_only_source(data: str) -> bool:
    """A catalog table (db.table) or a cluster URI (s3a://, hdfs://): only Spark reads it, when it compares.
    A name ending like a data file (data.parquet) is a file, checked now like any other."""
    from modelgap.spark.frames import is_table_name

    file_like = Path(data).suffix.lower() in (".parquet", ".pq", ".csv", ".tsv", ".txt")
    return "://" in data or (is_table_name(data) and not file_like)


def _plain_loader(
    source: str, *, tracking_uri: str | None, trust: Trust, endpoint_options: EndpointOptions | None
) -> LoadedModel:
    return load_model(source, tracking_uri=tracking_uri, trust=trust, endpoint_options=endpoint_options)


def compare(
    request: ComparisonRequest,
    *,
    progress: ProgressFn | None = None,
    load: Loader | None = None,
    cancel: threading.Event | None = None,
) -> Comparison:
    """Check the data, load both models, compare them; raise ModelgapError for what makes that impossible."""
    from modelgap.sources.endpoint import EndpointOptions, probe_rows

    report: ProgressFn = progress or (lambda _message, _fraction: None)
    loader: Loader = load or _plain_loader

    def step(message: str, fraction: float) -> None:
        if cancel is not None and cancel.is_set():
            raise ComparisonCancelled("The comparison was cancelled.", "Press Compare to start it again.")
        report(message, fraction)

    data = request.data_path
    local_data = bool(data) and not (request.options.engine == "spark" and spark_only_source(str(data)))
    if local_data:
        from modelgap.tables import check_table

        check_table(str(data))
    # An endpoint learns what it returns from a few sample rows; deployed_meta names what it serves.
    has_endpoint = any(source_kind(s) == "endpoint" for s in (request.repo, request.deployed))
    probe = probe_rows(data, target=request.options.target) if local_data and has_endpoint else None
    step("Loading the repo model", 0.0)
    repo = loader(
        request.repo,
        tracking_uri=request.tracking_uri,
        trust=request.trust,
        endpoint_options=EndpointOptions(probe=probe),
    )
    step("Loading the deployed model", LOAD_SHARE / 2)
    deployed = loader(
        request.deployed,
        tracking_uri=request.tracking_uri,
        trust=request.trust,
        endpoint_options=EndpointOptions(deployed_meta=request.deployed_meta, probe=probe),
    )
    return run_comparison(
        repo,
        deployed,
        data_path=data,
        options=request.resolved_options(),
        progress=lambda message, fraction: step(message, LOAD_SHARE + (1 - LOAD_SHARE) * fraction),
    )
