"""modelgap: is the model in our code the model that is deployed, and if not, how do they differ?"""

from __future__ import annotations

from modelgap.comparison import CompareOptions, Comparison, run_comparison
from modelgap.errors import (
    DataError,
    EndpointError,
    IncompatibleModelsError,
    ModelgapError,
    PolicyError,
    SchemaMismatchError,
    SourceError,
    TrackingServerError,
    UntrustedModelError,
)
from modelgap.model import FeatureSpec, LoadedModel, ModelMetadata
from modelgap.sources import load_model

__all__ = [
    "CompareOptions",
    "Comparison",
    "DataError",
    "EndpointError",
    "FeatureSpec",
    "IncompatibleModelsError",
    "LoadedModel",
    "ModelMetadata",
    "ModelgapError",
    "PolicyError",
    "SchemaMismatchError",
    "SourceError",
    "TrackingServerError",
    "UntrustedModelError",
    "load_model",
    "run_comparison",
]
