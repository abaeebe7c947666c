"""`http(s)://host:port/invocations` sources: a live MLflow scoring endpoint as a black-box LoadedModel.

An endpoint only predicts. What it is (task, classes, input columns, hyperparameters, artifact hash) comes
from the paired registry entry when the user names one (`--deployed-meta models:/name@alias`); otherwise
the task is inferred from its answers on a few sample rows, with a warning, and the rest is unknown.
`estimator` stays None, so explanations take the model-agnostic path through `labels_fn`/`proba_fn`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from modelgap.errors import EndpointError, SchemaMismatchError, SourceError
from modelgap.model import LoadedModel, ModelMetadata, Task
from modelgap.sources.endpoint_client import BatchOutcome, EndpointClient, EndpointSettings
from modelgap.sources.http_client import Transport, split_credentials
from modelgap.sources.origins import Trust

__all__ = ["EndpointModel", "EndpointOptions", "EndpointPredictor", "load_endpoint", "probe_rows"]

OutputKind = Literal["labels", "probabilities", "positive_probability", "values"]
PROBE_ROWS = 100


@dataclass
class EndpointOptions:
    """How to load an endpoint. `probe`: a few sample rows sent once to learn what the endpoint returns.

    Without `deployed_meta` the task comes from the probe's answers; without a probe, an endpoint paired
    with a classifier is treated as labels-only (probabilities cannot be detected without asking it).
    """

    deployed_meta: str | None = None
    probe: pd.DataFrame | None = None
    settings: EndpointSettings | None = None
    transport: Transport | None = None


@dataclass(frozen=True)
class EndpointOutputs:
    labels: np.ndarray
    proba: np.ndarray | None = None
    values: np.ndarray | None = None


class EndpointPredictor:
    """Turns the endpoint's raw answers into labels / probabilities / values for a known output kind."""

    def __init__(self, client: EndpointClient, features: list[str], classes: list[Any], kind: OutputKind) -> None:
        self.client = client
        self.features = features
        self.classes = classes
        self.kind: OutputKind = kind
        self._lock = threading.Lock()
        self._last: tuple[Any, EndpointOutputs] | None = None  # one frame's outputs: labels then proba cost one pass

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (the Spark engine ships endpoint models to its executors): no lock, no cached answers."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_last")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._last = None

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """The columns sent: the paired entry's features in its order, else the frame as it is."""
        if not self.features:
            return df
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise SchemaMismatchError(
                f"The data lacks columns the endpoint expects: {', '.join(missing[:10])}.",
                "Add them to the data, or check --deployed-meta names the model the endpoint serves.",
            )
        return df[self.features]

    def outputs(self, df: pd.DataFrame) -> EndpointOutputs:
        if len(df) == 0:
            return self._empty()
        key = _frame_key(df)
        with self._lock:
            if key is not None and self._last is not None and self._last[0] == key:
                return self._last[1]
        out = self.interpret(self.client.score(self.frame(df)))
        if key is not None:
            with self._lock:
                self._last = (key, out)
        return out

    def _empty(self) -> EndpointOutputs:
        if self.kind == "values":
            return EndpointOutputs(labels=np.zeros(0), values=np.zeros(0))
        proba = np.zeros((0, len(self.classes))) if self.kind in ("probabilities", "positive_probability") else None
        return EndpointOutputs(labels=np.asarray([], dtype=object), proba=proba)

    def labels(self, df: pd.DataFrame) -> np.ndarray:
        return self.outputs(df).labels

    def proba(self, df: pd.DataFrame) -> np.ndarray:
        proba = self.outputs(df).proba
        assert proba is not None  # proba_fn is only set for probability kinds
        return proba

    def values(self, df: pd.DataFrame) -> np.ndarray:
        values = self.outputs(df).values
        assert values is not None
        return values

    def interpret(self, raw: np.ndarray) -> EndpointOutputs:
        where = self.client.display_url
        if self.kind == "values":
            if raw.ndim != 1:
                raise EndpointError(f"{where} returned {raw.shape[1]} values per row.", "Expected one number per row.")
            values = _as_float(raw, where)
            return EndpointOutputs(labels=values, values=values)
        if self.kind == "positive_probability":
            p = _as_float(raw, where)
            proba = np.column_stack([1.0 - p, p])
            return EndpointOutputs(labels=_pick(self.classes, proba), proba=proba)
        if raw.ndim == 2:  # "probabilities", or a labels-kind endpoint that turned out to answer them
            if self.classes and raw.shape[1] != len(self.classes):
                raise EndpointError(
                    f"{where} returned {raw.shape[1]} columns per row for {len(self.classes)} classes.",
                    "Check that --deployed-meta names the model the endpoint serves.",
                )
            classes = self.classes or list(range(raw.shape[1]))
            return EndpointOutputs(labels=_pick(classes, raw), proba=raw if self.kind == "probabilities" else None)
        if self.kind == "probabilities":
            raise EndpointError(f"{where} stopped returning class probabilities.", "Check the served model.")
        return EndpointOutputs(labels=_to_classes(raw, self.classes))


@dataclass
class EndpointModel(LoadedModel):
    """A LoadedModel backed by a scoring endpoint; `paired` is the registry entry it claims to serve."""

    predictor: EndpointPredictor | None = None
    paired: LoadedModel | None = None

    @property
    def fingerprint(self) -> str:
        """Never the paired artifact's hash alone: the endpoint's answers must not share its cache entries."""
        return f"endpoint:{self.source}:{self.metadata.sha256 or 'unknown'}"

    @property
    def latencies(self) -> list[float]:
        """Seconds per answered batch, oldest first (bounded)."""
        if self.predictor is None:
            return []
        return [o.seconds for o in list(self.predictor.client.records) if o.ok]

    def score_batches(self, df: pd.DataFrame, **kwargs: Any) -> list[BatchOutcome]:
        """Raw outcomes per batch, failures included (for the parity check)."""
        assert self.predictor is not None
        return self.predictor.client.score_batches(self.predictor.frame(df), **kwargs)


def load_endpoint(
    source: str, *, options: EndpointOptions | None = None, tracking_uri: str | None = None, trust: Trust | None = None
) -> EndpointModel:
    """Check the endpoint answers /ping, read its paired registry entry if given, learn its output kind."""
    options = options or EndpointOptions()
    shown, _ = split_credentials(source.strip())
    client = EndpointClient(source, options.settings, options.transport)
    client.ping()
    server_version = client.version()
    paired = _load_paired(options.deployed_meta, tracking_uri, trust)
    features = paired.feature_names if paired is not None else []
    warnings: list[str] = []
    raw = _probe(client, options.probe, features, warnings)
    task, classes, kind = _decide_kind(paired, raw, client.display_url, warnings)
    predictor = EndpointPredictor(client, features, classes, kind)
    metadata = _metadata(paired, client.display_url, server_version, warnings)
    return EndpointModel(
        source=shown,
        task=task,
        classes=classes,
        features=list(paired.features) if paired is not None else [],
        params=dict(paired.params) if paired is not None and paired.params is not None else None,
        metadata=metadata,
        labels_fn=predictor.labels,
        proba_fn=predictor.proba if kind in ("probabilities", "positive_probability") else None,
        values_fn=predictor.values if kind == "values" else None,
        unknown_params=list(paired.unknown_params) if paired is not None else [],
        predictor=predictor,
        paired=paired,
    )


def probe_rows(data_path: str | Path | None, *, target: str | None = None, n: int = PROBE_ROWS) -> pd.DataFrame | None:
    """The first `n` rows of a data file without the label column: what the loader sends to learn the output kind."""
    if not data_path:
        return None
    from modelgap.tables import read_table

    df = read_table(data_path, max_rows=n)
    return df.drop(columns=[target]) if target and target in df.columns else df


def _load_paired(meta: str | None, tracking_uri: str | None, trust: Trust | None) -> LoadedModel | None:
    if not meta:
        return None
    from modelgap.sources import load_model, source_kind

    if source_kind(meta) == "endpoint":
        raise SourceError(
            f"--deployed-meta {meta} is an endpoint; it must name the artifact the endpoint serves.",
            "Use models:/<name>@<alias> (or a local model path).",
        )
    return load_model(meta, tracking_uri=tracking_uri, trust=trust)


def _probe(client: EndpointClient, probe: pd.DataFrame | None, features: list[str], warnings: list[str]) -> Any:
    if probe is None or probe.empty:
        return None
    if features and any(c not in probe.columns for c in features):
        warnings.append("The sample data lacks some of the paired model's columns: the endpoint was not probed.")
        return None
    frame = probe[features] if features else probe
    return client.score(frame.head(PROBE_ROWS))


def _decide_kind(
    paired: LoadedModel | None, raw: np.ndarray | None, where: str, warnings: list[str]
) -> tuple[Task, list[Any], OutputKind]:
    if paired is not None:
        if paired.task == "regression":
            return "regression", [], "values"
        classes = list(paired.classes)
        if raw is None:
            warnings.append(
                "Whether the endpoint returns probabilities is unknown without sample rows: labels compared."
            )
            return paired.task, classes, "labels"
        if raw.ndim == 2:
            if classes and raw.shape[1] != len(classes):
                raise EndpointError(
                    f"{where} returns {raw.shape[1]} columns per row, but {paired.source} has {len(classes)} classes.",
                    "Check that --deployed-meta names the model the endpoint serves.",
                )
            return paired.task, classes or list(range(raw.shape[1])), "probabilities"
        if paired.task == "binary" and _looks_like_probability(raw):
            return "binary", classes, "positive_probability"
        warnings.append("The endpoint returns labels only: probabilities cannot be compared.")
        return paired.task, classes, "labels"
    return _infer_without_meta(raw, where, warnings)


def _infer_without_meta(raw: np.ndarray | None, where: str, warnings: list[str]) -> tuple[Task, list[Any], OutputKind]:
    hint = "give --deployed-meta models:/<name>@<alias> to be sure"
    if raw is None:
        warnings.append(f"The endpoint's task is unknown without sample data or a paired registry entry ({hint}).")
        return "regression", [], "values"
    n = len(raw)
    if raw.ndim == 2:
        if np.all((raw >= -1e-9) & (raw <= 1 + 1e-9)) and np.allclose(raw.sum(axis=1), 1.0, atol=1e-4):
            k = raw.shape[1]
            warnings.append(
                f"Read as class probabilities on {n} sample rows; class names unknown (0..{k - 1}): {hint}."
            )
            return ("binary" if k == 2 else "multiclass"), list(range(k)), "probabilities"
        raise EndpointError(
            f"{where} returns {raw.shape[1]} numbers per row that are not class probabilities.",
            "modelgap compares one output per row, or class probabilities.",
        )
    if raw.dtype.kind == "f" and not np.all(np.isnan(raw) | (raw == np.round(raw))):
        warnings.append(f"Read as a regression model from its answers on {n} sample rows ({hint}).")
        return "regression", [], "values"
    if raw.dtype.kind == "f":
        raw = raw.astype(np.int64)
    seen = sorted({v.item() if isinstance(v, np.generic) else v for v in raw.tolist()}, key=str)
    task: Task = "binary" if len(seen) <= 2 else "multiclass"
    warnings.append(f"Read as a {task} classifier returning labels; classes seen on {n} sample rows: {seen} ({hint}).")
    return task, seen, "labels"


def _metadata(paired: LoadedModel | None, url: str, server_version: str | None, warnings: list[str]) -> ModelMetadata:
    endpoint_info: dict[str, Any] = {"endpoint": url}
    if server_version:
        endpoint_info["server_mlflow_version"] = server_version
    if paired is None:
        warnings.insert(0, "A bare endpoint: hyperparameters and artifact hash are unknown.")
        return ModelMetadata(flavor="endpoint", mlflow=endpoint_info, location=url, warnings=warnings)
    m = paired.metadata
    warnings.insert(
        0,
        f"Hash, parameters and schema are those of {paired.source}, which the endpoint is said to serve; "
        "the serving parity check tests that claim.",
    )
    return ModelMetadata(
        flavor="endpoint",
        model_class=m.model_class,
        sha256=m.sha256,
        library_versions=dict(m.library_versions),
        python_version=m.python_version,
        mlflow={**m.mlflow, **endpoint_info, "paired_with": paired.source},
        git=dict(m.git),
        location=url,
        warnings=warnings + [w for w in m.warnings if w not in warnings],
    )


def _looks_like_probability(raw: np.ndarray) -> bool:
    if raw.dtype.kind != "f" or raw.size == 0:
        return False
    finite = raw[~np.isnan(raw)]
    return bool(finite.size and np.all((finite >= 0) & (finite <= 1)) and np.any(finite != np.round(finite)))


def _as_float(raw: np.ndarray, where: str) -> np.ndarray:
    try:
        return np.asarray(raw, dtype=float).reshape(len(raw))
    except (TypeError, ValueError) as exc:
        raise EndpointError(f"{where} returned values that are not numbers.", "Check the served model.") from exc


def _pick(classes: list[Any], proba: np.ndarray) -> np.ndarray:
    labels = np.empty(len(proba), dtype=object)
    labels[:] = [classes[i] for i in np.argmax(proba, axis=1)]
    return _compact(labels)


def _to_classes(raw: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Labels as the paired model's class objects (JSON turns 1 into 1, "1" stays "1", 1.0 may become 1)."""
    if not classes:
        return raw
    lookup = {str(c): c for c in classes}
    mapped = np.empty(len(raw), dtype=object)
    for i, v in enumerate(raw.tolist()):
        key = str(v)
        if key not in lookup and isinstance(v, float) and v.is_integer():
            key = str(int(v))
        mapped[i] = lookup.get(key, v)
    return _compact(mapped)


def _compact(labels: np.ndarray) -> np.ndarray:
    """An object array of plain ints/floats/bools becomes a typed numpy array, like a native model's predict."""
    values = labels.tolist()
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.asarray(values, dtype=bool)
    if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    if values and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float)
    return labels


def _frame_key(df: pd.DataFrame) -> Any:
    try:
        hashed = pd.util.hash_pandas_object(df, index=True).to_numpy()
    except (TypeError, ValueError):
        return None
    return (tuple(map(str, df.columns)), len(df), hashed.tobytes())
