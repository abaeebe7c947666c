"""What a comparison is asked to do: `CompareOptions` and its typed groups, with every default defined once.

A leaf module (nothing from modelgap at run time), so the sections, the CLI, the app and the Spark engine can
all import it. The sections read their own group (`options.predictions.chunk_rows`, `options.parity.rows`...);
a new setting is a field of the group it belongs to, never a loose key. The sources a request names (tracking
URI, the endpoint's paired entry, training-data paths) are filled in by `modelgap.request.ComparisonRequest`,
the one place the CLI and the app build a comparison's options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelgap.retraining.options import RetrainOptions
    from modelgap.sources.origins import Trust

__all__ = [
    "DEFAULT_AGNOSTIC_ROWS",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_ENDPOINT_SHAP_ROWS",
    "DEFAULT_PARITY_BATCH_ROWS",
    "DEFAULT_PARITY_ROWS",
    "DEFAULT_ROW_BUDGET",
    "DEFAULT_SAMPLE_ROWS",
    "DEFAULT_SHAP_ROWS",
    "DEFAULT_SHAP_SECONDS",
    "DEFAULT_TOP_K",
    "DEFAULT_TOP_N",
    "CompareOptions",
    "DataOptions",
    "ExplanationTuning",
    "ParityOptions",
    "PredictionTuning",
    "SourceContext",
    "SparkOptions",
]

DEFAULT_SHAP_ROWS = 1000  # rows explained (--shap-rows; the app's default too)
DEFAULT_ENDPOINT_SHAP_ROWS = 20  # rows explained when a side is a scoring endpoint (SHAP sends it many requests)
DEFAULT_TOP_N = 20  # rows listed in predictions.top (--top)
DEFAULT_CHUNK_ROWS = 100_000  # rows per chunk when a data file is streamed
DEFAULT_SAMPLE_ROWS = 100_000  # the in-memory sample behind per-row views, slices, the surrogate and SHAP
DEFAULT_SHAP_SECONDS = 120.0  # SHAP time budget per model; only the model-agnostic path comes near it
DEFAULT_AGNOSTIC_ROWS = 200  # rows a model without an estimator (no tree/linear explainer) is explained on
DEFAULT_TOP_K = 5  # features named per explained row
DEFAULT_ROW_BUDGET = 200_000  # rows per dataset kept for the drift comparison (a uniform sample)
DEFAULT_PARITY_ROWS = 1000  # sample rows sent to an endpoint for the serving-parity check
DEFAULT_PARITY_BATCH_ROWS = 50  # rows per request: 1,000 rows -> 20 requests, enough for latency percentiles


@dataclass(frozen=True)
class PredictionTuning:
    """How the predictions section streams the data (both engines)."""

    chunk_rows: int = DEFAULT_CHUNK_ROWS
    sample_rows: int = DEFAULT_SAMPLE_ROWS  # cap on the in-memory sample; --max-rows, when set, is the cap


@dataclass(frozen=True)
class ExplanationTuning:
    """SHAP's budgets beyond the row counts (`CompareOptions.shap_rows`, `endpoint_shap_rows`)."""

    agnostic_rows: int = DEFAULT_AGNOSTIC_ROWS
    seconds: float = DEFAULT_SHAP_SECONDS  # per model
    top_k: int = DEFAULT_TOP_K


@dataclass(frozen=True)
class DataOptions:
    """The data section: the training data the user names for each model, and how much of it is read."""

    repo_training_data: str | None = None  # --repo-training-data
    deployed_training_data: str | None = None  # --deployed-training-data
    row_budget: int = DEFAULT_ROW_BUDGET
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    def training_data(self, side: str) -> str | None:
        """The training-data path the user named for `side` ("repo" or "deployed"), if any."""
        return self.repo_training_data if side == "repo" else self.deployed_training_data


@dataclass(frozen=True)
class ParityOptions:
    """The serving-parity check (an endpoint against the artifact it serves)."""

    tolerance: float | None = None  # None: the check's own default for the task
    rows: int = DEFAULT_PARITY_ROWS
    batch_rows: int = DEFAULT_PARITY_BATCH_ROWS


@dataclass(frozen=True)
class SparkOptions:
    """The Spark engine's settings (the sample cap is `PredictionTuning.sample_rows`, shared with pandas)."""

    master: str | None = None  # None: SPARK_REMOTE / the session's default
    quantile_error: float | None = None  # approxQuantile's relative error; None: exact below a size, else small


@dataclass(frozen=True)
class SourceContext:
    """Where the sections that load or look up more (parity, data lineage, retraining) resolve sources."""

    tracking_uri: str | None = None  # --tracking-uri
    deployed_meta: str | None = None  # --deployed-meta: the registry entry a deployed scoring endpoint serves


@dataclass(frozen=True)
class CompareOptions:
    """Everything a comparison is asked to do; read-only (change with `dataclasses.replace`)."""

    target: str | None = None
    tolerance: float | None = None  # regression: None -> 1% of the std of the deployed model's predictions
    shap_rows: int = DEFAULT_SHAP_ROWS  # 0: no explanations (as --no-shap)
    endpoint_shap_rows: int = DEFAULT_ENDPOINT_SHAP_ROWS  # 0: none when a side is an endpoint
    no_shap: bool = False
    top_n: int = DEFAULT_TOP_N
    max_rows: int | None = None  # cap on rows read from the data (None: all, streamed)
    policy_path: str | None = None
    engine: str = "pandas"
    seed: int = 0
    predictions: PredictionTuning = field(default_factory=PredictionTuning)
    explanations: ExplanationTuning = field(default_factory=ExplanationTuning)
    data: DataOptions = field(default_factory=DataOptions)
    parity: ParityOptions = field(default_factory=ParityOptions)
    spark: SparkOptions = field(default_factory=SparkOptions)
    sources: SourceContext = field(default_factory=SourceContext)
    # Which origins may supply code-bearing models that sections load later (an endpoint's paired entry).
    # None: none may; the CLI passes its own trust, the app the operator's.
    trust: Trust | None = None
    retrain: RetrainOptions | None = None  # --retrain: rebuild both models from their recipes (None: never)

    def __post_init__(self) -> None:
        if self.shap_rows <= 0 and not self.no_shap:  # 0 rows: no explanations, in the CLI and the app alike
            object.__setattr__(self, "no_shap", True)
