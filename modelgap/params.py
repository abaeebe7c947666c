"""Parameter, schema, environment and metadata differences between two LoadedModels."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from modelgap.model import LoadedModel

FLOAT_RTOL = 1e-9
FLOAT_ATOL = 1e-12
_MISSING = object()


def values_equal(a: Any, b: Any) -> bool:
    """Type-aware equality: 1 == 1.0, None != "None", nested containers by key, floats within a tiny tolerance."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=FLOAT_RTOL, abs_tol=FLOAT_ATOL)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and bool(a == b)


def nested_changes(a: Any, b: Any, path: str = "") -> list[dict[str, Any]]:
    """Where two nested values differ, as [{path, repo, deployed}], for a readable diff of long values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append({"path": sub, "repo": a.get(key, "(absent)"), "deployed": b.get(key, "(absent)")})
            else:
                out.extend(nested_changes(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(nested_changes(x, y, f"{path}[{i}]"))
        return out
    return [] if values_equal(a, b) else [{"path": path or "(value)", "repo": a, "deployed": b}]


@dataclass
class KeyedDiff:
    """changed / only_in_repo / only_in_deployed over two flat name -> value mappings."""

    changed: list[dict[str, Any]] = field(default_factory=list)
    only_in_repo: list[dict[str, Any]] = field(default_factory=list)
    only_in_deployed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    known: bool = True  # False when one side cannot know these values (an endpoint's hyperparameters)
    # Names one side's artifact does not record (xgboost's own format): [{name, repo, deployed, unknown_in}].
    unknown: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """True only when every value is known on both sides and equal."""
        return self.known and not (self.changed or self.only_in_repo or self.only_in_deployed or self.unknown)

    @property
    def n_differences(self) -> int:
        return len(self.changed) + len(self.only_in_repo) + len(self.only_in_deployed)

    def to_dict(self, *, include_unchanged: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "identical": self.identical,
            "known": self.known,
            "changed": self.changed,
            "only_in_repo": self.only_in_repo,
            "only_in_deployed": self.only_in_deployed,
            "unknown": self.unknown,
        }
        if include_unchanged:
            out["unchanged"] = self.unchanged
        return out


def diff_mappings(
    repo: dict[str, Any] | None,
    deployed: dict[str, Any] | None,
    *,
    unknown_in_repo: Collection[str] = (),
    unknown_in_deployed: Collection[str] = (),
) -> KeyedDiff:
    """Compare two flat mappings; names a side does not record (`unknown_in_*`) are neither equal nor changed."""
    if repo is None or deployed is None:
        return KeyedDiff(known=False)
    result = KeyedDiff()
    unknown_r, unknown_d = set(unknown_in_repo), set(unknown_in_deployed)
    for name in sorted(set(repo) | set(deployed) | unknown_r | unknown_d):
        a, b = repo.get(name, _MISSING), deployed.get(name, _MISSING)
        if name in unknown_r or name in unknown_d:
            result.unknown.append(
                {
                    "name": name,
                    "repo": None if a is _MISSING else a,
                    "deployed": None if b is _MISSING else b,
                    "unknown_in": [side for side, u in (("repo", unknown_r), ("deployed", unknown_d)) if name in u],
                }
            )
        elif b is _MISSING:
            result.only_in_repo.append({"name": name, "value": a})
        elif a is _MISSING:
            result.only_in_deployed.append({"name": name, "value": b})
        elif values_equal(a, b):
            result.unchanged.append({"name": name, "value": a})
        else:
            entry = {"name": name, "repo": a, "deployed": b}
            details = nested_changes(a, b) if isinstance(a, (dict, list)) and isinstance(b, (dict, list)) else []
            if details:
                entry["details"] = details
            result.changed.append(entry)
    return result


@dataclass
class SchemaDiff:
    only_in_repo: list[str]
    only_in_deployed: list[str]
    dtype_changes: list[dict[str, str]]
    order_changed: bool
    repo_columns: list[str]
    deployed_columns: list[str]

    @property
    def identical(self) -> bool:
        return not (self.only_in_repo or self.only_in_deployed or self.dtype_changes or self.order_changed)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "identical": self.identical}


def diff_schema(repo: LoadedModel, deployed: LoadedModel) -> SchemaDiff:
    r = {f.name: f.dtype for f in repo.features}
    d = {f.name: f.dtype for f in deployed.features}
    common = [n for n in repo.feature_names if n in d]
    dtype_changes = [
        {"column": n, "repo": r[n], "deployed": d[n]} for n in common if r[n] != d[n] and "unknown" not in (r[n], d[n])
    ]
    deployed_common = [n for n in deployed.feature_names if n in r]
    return SchemaDiff(
        only_in_repo=[n for n in repo.feature_names if n not in d],
        only_in_deployed=[n for n in deployed.feature_names if n not in r],
        dtype_changes=dtype_changes,
        order_changed=common != deployed_common,
        repo_columns=repo.feature_names,
        deployed_columns=deployed.feature_names,
    )


def pipeline_structure(params: dict[str, Any] | None) -> dict[str, Any]:
    """Structural parameters out of flat params: step/transformer lists and the slots holding nested estimators."""
    if not params:
        return {}
    structural = ("steps", "transformers", "transformer_list", "estimators")
    return {k: v for k, v in params.items() if k.split("__")[-1] in structural or _is_slot(k, params)}


def _is_slot(name: str, params: dict[str, Any]) -> bool:
    """True when `name` holds a nested estimator, i.e. other params hang below it."""
    prefix = name + "__"
    return any(k.startswith(prefix) for k in params)


def hyperparameters(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    structure = pipeline_structure(params)
    return {k: v for k, v in params.items() if k not in structure}


def environment_of(model: LoadedModel) -> dict[str, Any]:
    env: dict[str, Any] = dict(model.metadata.library_versions)
    if model.metadata.python_version:
        env["python"] = model.metadata.python_version
    return env


def metadata_of(model: LoadedModel) -> dict[str, Any]:
    """Flat MLflow metadata (run params kept apart under `run_params.` names, never mixed into hyperparameters)."""
    m = model.metadata
    out: dict[str, Any] = {"flavor": m.flavor, "model_class": m.model_class, "sha256": m.sha256}
    for key, value in m.mlflow.items():
        if key in ("run_params", "tags", "run_tags") and isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        elif key != "tracking_uri":
            out[key] = value
    for key, value in m.git.items():
        out[f"git.{key}"] = value
    return out


@dataclass
class ParameterComparison:
    hyperparameters: KeyedDiff
    pipeline: KeyedDiff
    schema: SchemaDiff
    environment: KeyedDiff
    run_params: KeyedDiff
    metadata: KeyedDiff
    same_artifact: bool | None  # None: a side has no artifact hash

    @property
    def identical(self) -> bool:
        return self.hyperparameters.identical and self.pipeline.identical

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's `parameters` section (DESIGN.md) plus the other groups under their own keys."""
        all_params = self._all_params()
        return {
            **all_params.to_dict(),
            "same_artifact": self.same_artifact,
            "groups": {
                "hyperparameters": self.hyperparameters.to_dict(),
                "pipeline": self.pipeline.to_dict(),
                "environment": self.environment.to_dict(),
                "run_params": self.run_params.to_dict(),
                "metadata": self.metadata.to_dict(),
            },
            "schema": self.schema.to_dict(),
        }

    def _all_params(self) -> KeyedDiff:
        merged = KeyedDiff(known=self.hyperparameters.known and self.pipeline.known)
        for part in (self.pipeline, self.hyperparameters):
            merged.changed += part.changed
            merged.only_in_repo += part.only_in_repo
            merged.only_in_deployed += part.only_in_deployed
            merged.unchanged += part.unchanged
            merged.unknown += part.unknown
        for lst in (merged.changed, merged.only_in_repo, merged.only_in_deployed, merged.unchanged, merged.unknown):
            lst.sort(key=lambda e: e["name"])
        return merged


def compare_parameters(repo: LoadedModel, deployed: LoadedModel) -> ParameterComparison:
    r_run = repo.metadata.mlflow.get("run_params")
    d_run = deployed.metadata.mlflow.get("run_params")
    r_meta, d_meta = metadata_of(repo), metadata_of(deployed)
    for key in ("sha256",):
        r_meta.pop(key, None)
        d_meta.pop(key, None)
    r_meta = {k: v for k, v in r_meta.items() if not k.startswith("run_params.")}
    d_meta = {k: v for k, v in d_meta.items() if not k.startswith("run_params.")}
    same = None
    if repo.metadata.sha256 and deployed.metadata.sha256:
        same = repo.metadata.sha256 == deployed.metadata.sha256
    return ParameterComparison(
        hyperparameters=diff_mappings(
            hyperparameters(repo.params),
            hyperparameters(deployed.params),
            unknown_in_repo=repo.unknown_params,
            unknown_in_deployed=deployed.unknown_params,
        ),
        pipeline=diff_mappings(
            pipeline_structure(repo.params) if repo.params is not None else None,
            pipeline_structure(deployed.params) if deployed.params is not None else None,
        ),
        schema=diff_schema(repo, deployed),
        environment=diff_mappings(environment_of(repo), environment_of(deployed)),
        run_params=diff_mappings(
            r_run if r_run is not None else {},
            d_run if d_run is not None else {},
        ),
        metadata=diff_mappings(r_meta, d_meta),
        same_artifact=same,
    )
