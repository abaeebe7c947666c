"""One resolver: a source string in, a `LoadedModel` out (see DESIGN.md, "Model sources")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelgap.model import LoadedModel
from modelgap.sources.origins import Trust
from modelgap.sources.refs import SourceRef, parse_source, source_kind

if TYPE_CHECKING:
    from modelgap.sources.endpoint import EndpointOptions

__all__ = ["SourceRef", "Trust", "load_model", "parse_source", "source_kind"]


def load_model(
    source: str,
    *,
    tracking_uri: str | None = None,
    trust: Trust | None = None,
    allow_pickle: bool | None = None,
    endpoint_options: EndpointOptions | None = None,
) -> LoadedModel:
    """Resolve `source` to a LoadedModel.

    `trust` says which origins may supply a model whose loading runs code (pickles, `loader_module`, a
    flavor's `code/`, an imported `model_class`); the decision is made before any loader runs. Default:
    the caller's own files and registries (the CLI, a notebook). `allow_pickle=False` is shorthand for
    `Trust.nothing()`: only skops, xgboost's and LightGBM's own formats load.
    `endpoint_options` (paired registry entry, sample rows to probe, batch settings) apply to endpoints only.
    """
    if trust is None:
        trust = Trust.nothing() if allow_pickle is False else Trust.cli()
    ref = parse_source(source)  # a malformed or empty string fails here, before anything is loaded
    source, kind = ref.text, ref.kind
    if kind == "run":
        from modelgap.sources.registry import load_run_artifact

        return load_run_artifact(source, tracking_uri, trust=trust)
    if kind == "registry":
        from modelgap.sources.registry import load_registry_model

        return load_registry_model(source, tracking_uri, trust=trust)
    if kind == "endpoint":
        from modelgap.sources.endpoint import load_endpoint

        return load_endpoint(source, options=endpoint_options, tracking_uri=tracking_uri, trust=trust)
    if kind == "git":
        from modelgap.sources.git import load_git

        return load_git(source, tracking_uri=tracking_uri, trust=trust)
    from modelgap.sources.files import load_local

    path = Path(source).expanduser()
    model: LoadedModel = load_local(path, source, may_run_code=trust.local_may_run_code(path), trust=trust)
    return model
