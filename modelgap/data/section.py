"""The `data` section of a comparison: lineage of both models' training data, drift, diagnosis.

Options read: `comparison.options.data` (the training-data paths the user names, `row_budget`: rows per
dataset, default 200,000, `chunk_rows`) and `options.sources.tracking_uri` (for a local MLflow model that
records a run). A dataset that cannot be read, a schema that does not match or an empty
file becomes a message in the section's `errors`; the rest of the comparison goes on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelgap.data.diagnosis import build_diagnosis
from modelgap.data.lineage import model_lineage
from modelgap.data.pairs import DatasetDrift, compare_tables
from modelgap.data.refs import DatasetRef, ModelLineage
from modelgap.data.relation import classify_relation, compare_schemas, ref_schema
from modelgap.data.result import DataComparison
from modelgap.data.sampling import TableSample, read_sample, sample_frame
from modelgap.errors import ModelgapError

if TYPE_CHECKING:
    from modelgap.comparison import Comparison, ProgressFn

SIDES = ("repo", "deployed")


@dataclasses.dataclass
class DataEngine:
    """How the section reads a dataset and measures drift: the pandas engine's functions by default; the Spark
    engine (modelgap.spark.data_section) passes its own. Same signatures as read_sample, sample_frame and
    compare_tables."""

    read_file: Callable[..., TableSample] = read_sample
    read_frame: Callable[..., TableSample] = sample_frame
    compare: Callable[..., DatasetDrift] = compare_tables


def build_data(comparison: Comparison, progress: ProgressFn, engine: DataEngine | None = None) -> None:
    """Section builder: store a DataComparison in comparison.sections.data. Bad data becomes a line in the
    section's errors; a failure of the whole section is recorded by modelgap.pipeline."""
    comparison.sections.data = compare_data(comparison, progress, engine)


def compare_data(comparison: Comparison, progress: ProgressFn, engine: DataEngine | None = None) -> DataComparison:
    engine = engine or DataEngine()
    options = comparison.options
    budget = options.data.row_budget
    chunk_rows = options.data.chunk_rows
    models = {"repo": comparison.repo, "deployed": comparison.deployed}
    progress("Data: reading the training-data lineage", 0.0)
    lineage = {
        side: model_lineage(
            models[side],
            side,
            training_path=options.data.training_data(side),
            tracking_uri=options.sources.tracking_uri,
        )
        for side in SIDES
    }
    errors: list[str] = []
    notes: list[str] = []
    tables: dict[str, TableSample] = {}
    for i, side in enumerate(SIDES):
        progress(f"Data: reading the {side} model's training data", 0.1 + 0.3 * i)
        ref = lineage[side].training
        table = _read_training(side, ref, lineage, tables, budget, options.seed, chunk_rows, errors, engine)
        if table is not None:
            tables[f"{side}_training"] = table
    progress("Data: reading the sample data", 0.6)
    sample = _read_sample(comparison, budget, chunk_rows, errors, engine)
    if sample is not None:
        tables["sample"] = sample
    notes += list(dict.fromkeys(n for t in tables.values() if (n := t.notice())))
    repo_ref, deployed_ref = lineage["repo"].training, lineage["deployed"].training
    relation = classify_relation(repo_ref, deployed_ref)
    schema = compare_schemas(
        ref_schema(repo_ref, _frame(tables.get("repo_training"))),
        ref_schema(deployed_ref, _frame(tables.get("deployed_training"))),
    )
    progress("Data: comparing distributions", 0.7)
    columns = _input_columns(comparison)
    drift = _pairs(tables, relation.kind, columns, options.target, errors, engine)
    if not lineage["repo"].known or not lineage["deployed"].known:
        notes += [f"{side}: {n}" for side in SIDES for n in lineage[side].notes if not lineage[side].known]
    result = DataComparison(
        lineage=lineage,
        relation=relation,
        schema=schema,
        drift=drift,
        tables=tables,
        row_budget=budget,
        notes=list(dict.fromkeys(notes)),
        errors=errors,
    )
    result.diagnosis = build_diagnosis(
        columns or list(dict.fromkeys(c.column for d in drift for c in d.columns)),
        training=result.training_pair,
        samples=result.pairs("sample_vs_training"),
        predictions=_section_dict(comparison, "predictions"),
        explanations=_section_dict(comparison, "explanations"),
    )
    return result


def _frame(table: TableSample | None) -> Any:
    return table.frame if table is not None else None


def _read_training(
    side: str,
    ref: DatasetRef | None,
    lineage: dict[str, ModelLineage],
    tables: dict[str, TableSample],
    budget: int,
    seed: int,
    chunk_rows: int,
    errors: list[str],
    engine: DataEngine,
) -> TableSample | None:
    if ref is None or ref.readable_path is None:
        return None
    other = tables.get("repo_training")
    if side == "deployed" and other is not None and _same_file(other.source, ref.readable_path):
        table = dataclasses.replace(other, label="training data of both models")  # same frame, digest, kind
        other.label = table.label
    else:
        try:
            table = engine.read_file(
                ref.readable_path, label=f"{side} training data", budget=budget, seed=seed, chunk_rows=chunk_rows
            )
        except ModelgapError as err:
            errors.append(f"Could not read the {side} model's training data: {err.one_line()}")
            return None
    ref.computed_digest = table.digest
    ref.n_rows = ref.n_rows if ref.n_rows is not None else table.n_rows
    if ref.digest and table.digest and ref.digest != table.digest:
        ref.notes.append(
            f"The file read now gives digest {table.digest}, the run recorded {ref.digest}: it may have changed "
            "since training (or the logged frame was typed differently)."
        )
    return table


def _same_file(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _read_sample(
    comparison: Comparison, budget: int, chunk_rows: int, errors: list[str], engine: DataEngine
) -> TableSample | None:
    """The sample data: the caller's frame, else the data file (streamed), else the rows other sections use."""
    seed, label = comparison.options.seed, "sample data"
    try:
        if comparison.data is not None:
            return engine.read_frame(comparison.data, label=label, budget=budget, seed=seed)
        if comparison.data_path is not None:
            return engine.read_file(
                comparison.data_path,
                label=label,
                budget=budget,
                seed=seed,
                max_rows=comparison.options.max_rows,
                chunk_rows=chunk_rows,
                digest=False,
            )
        if comparison.sample is not None:
            return sample_frame(comparison.sample, label=label, budget=budget, seed=seed)
    except ModelgapError as err:
        errors.append(f"Could not read the sample data: {err.one_line()}")
    return None


def _input_columns(comparison: Comparison) -> list[str] | None:
    """The models' input columns (repo's order, then the deployed model's extras); None when neither says."""
    names = [*comparison.repo.feature_names, *comparison.deployed.feature_names]
    return list(dict.fromkeys(names)) or None


def _pairs(
    tables: dict[str, TableSample],
    relation: str,
    columns: list[str] | None,
    target: str | None,
    errors: list[str],
    engine: DataEngine,
) -> list[DatasetDrift]:
    """Training sets against each other (unless one file), then the sample against each training set."""
    wanted: list[tuple[str, str, str]] = []
    repo_t, deployed_t = tables.get("repo_training"), tables.get("deployed_training")
    shared = repo_t is not None and deployed_t is not None and repo_t.frame is deployed_t.frame
    if repo_t is not None and deployed_t is not None and not shared:
        wanted.append(("training_vs_training", "deployed_training", "repo_training"))
    if "sample" in tables:
        for key in ("deployed_training", "repo_training"):
            if key in tables and not (shared and key == "repo_training"):
                wanted.append(("sample_vs_training", key, "sample"))
    out = []
    for kind, ref_key, cur_key in wanted:
        try:
            pair = engine.compare(tables[ref_key], tables[cur_key], kind=kind, columns=columns, target=target)
        except ModelgapError as err:
            errors.append(err.one_line())
            continue
        pair.reference_key, pair.current_key = ref_key, cur_key
        out.append(pair)
    if relation == "same_data" and not shared and out and out[0].kind == "training_vs_training":
        out[0].notes.append("Both training sets have the same fingerprint: the drift between them should be zero.")
    return out


def _section_dict(comparison: Comparison, name: str) -> dict[str, Any] | None:
    section = comparison.sections.get(name)
    if section is None:
        return None
    try:
        out = section.to_dict() if hasattr(section, "to_dict") else section
    except Exception as exc:  # noqa: BLE001 - another section's bad dict must not lose the data section
        comparison.notes.append(f"Data diagnosis: could not read the {name} section ({type(exc).__name__}).")
        return None
    return out if isinstance(out, dict) else None
