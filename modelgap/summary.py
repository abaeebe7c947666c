"""Human-readable summary of a comparison for the terminal (the CLI's stdout)."""

from __future__ import annotations

from typing import Any

from modelgap.comparison import Comparison
from modelgap.model import LoadedModel

MAX_PARAMETER_LINES = 25  # terminal summary only; the JSON/HTML reports list every difference


def _model_line(label: str, model: LoadedModel) -> str:
    m = model.metadata
    bits = [m.model_class.rsplit(".", 1)[-1], model.task]
    if m.sha256:
        bits.append(f"sha256 {m.sha256[:12]}")
    if m.mlflow.get("version"):
        bits.append(f"v{m.mlflow['version']}")
    if m.mlflow.get("aliases"):
        bits.append("@" + ",@".join(m.mlflow["aliases"]))
    return f"{label:<9}{model.source}  ({', '.join(bits)})"


def _value(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def parameter_lines(comparison: Comparison) -> list[str]:
    p = comparison.parameters
    lines = ["", "Parameters"]
    if p.same_artifact:
        lines.append("  The two artifacts are byte-identical (same SHA-256).")
    hp = p.to_dict()
    if not hp["known"]:
        lines.append("  Hyperparameters: unknown for one side (e.g. a bare endpoint).")
    elif hp["identical"]:
        lines.append("  Hyperparameters and pipeline: identical.")
    else:
        lines.append(
            f"  {len(hp['changed'])} changed, {len(hp['only_in_repo'])} only in repo, "
            f"{len(hp['only_in_deployed'])} only in deployed"
        )
        listed = [f"  ~ {c['name']}: {_value(c['deployed'])} -> {_value(c['repo'])}" for c in hp["changed"]]
        listed += [f"  + {c['name']} = {_value(c['value'])}" for c in hp["only_in_repo"]]
        listed += [f"  - {c['name']} = {_value(c['value'])}" for c in hp["only_in_deployed"]]
        lines.extend(listed[:MAX_PARAMETER_LINES])
        if len(listed) > MAX_PARAMETER_LINES:
            # a refactor can rename hundreds of nested params: the terminal gets the start, the reports get all
            lines.append(f"  ... {len(listed) - MAX_PARAMETER_LINES} more (all of them in --json / --html)")
        unknown = [c["name"] for c in hp.get("unknown", [])]
        if unknown:
            more = ", ..." if len(unknown) > 8 else ""
            lines.append(f"  ? {len(unknown)} not recorded in a model file (unknown): {', '.join(unknown[:8])}{more}")
    s = p.schema
    if not s.identical:
        if s.only_in_repo:
            lines.append(f"  Input columns only in repo: {', '.join(s.only_in_repo)}")
        if s.only_in_deployed:
            lines.append(f"  Input columns only in deployed: {', '.join(s.only_in_deployed)}")
        for d in s.dtype_changes:
            lines.append(f"  Column {d['column']}: {d['deployed']} -> {d['repo']}")
        if s.order_changed:
            lines.append("  Column order differs (aligned automatically).")
    env = p.environment
    for c in env.changed:
        lines.append(f"  Environment {c['name']}: {c['deployed']} -> {c['repo']}")
    return lines


def summary_lines(comparison: Comparison) -> list[str]:
    lines = [
        "modelgap comparison",
        _model_line("repo", comparison.repo),
        _model_line("deployed", comparison.deployed),
    ]
    for model in (comparison.repo, comparison.deployed):
        for w in model.metadata.warnings:
            lines.append(f"  note ({model.source}): {w}")
    lines += parameter_lines(comparison)
    for name, result in comparison.sections.items():
        fn = getattr(result, "summary_lines", None)
        if callable(fn):
            lines += ["", *fn()]
        elif name in comparison.errors:
            lines += ["", f"{name}: {comparison.errors[name]}"]
    for name, reason in comparison.errors.items():
        if name not in comparison.sections:
            lines += ["", f"{name}: not computed ({reason})"]
    for note in comparison.notes:
        lines.append(f"note: {note}")
    return lines
