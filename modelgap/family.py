"""What kind of change separates two models: the very same artifact, or another estimator family.

Both facts change how every other difference reads. Byte-identical artifacts cannot differ in anything; a
gradient-boosting model against a logistic regression has two unrelated sets of settings, which are not
"changes" one by one. These functions read the JSON form of the parameters section (so saved reports render
the same) and never guess: a fact the report does not carry gives None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PARAMETER_LISTS = ("changed", "only_in_repo", "only_in_deployed")


@dataclass(frozen=True)
class FamilyChange:
    """The final estimator's class differs. `slot` is the parameter holding it in a pipeline ("" for a bare
    estimator, whose every setting belongs to it); settings under the slot belong to the change."""

    repo: str
    deployed: str
    slot: str

    def owns(self, name: str) -> bool:
        """Whether a flattened parameter name is one of the two estimators' own settings (or the slot itself)."""
        if not self.slot:
            return not _structural(name)
        parent = self.slot.rsplit("__", 1)[0] + "__steps" if "__" in self.slot else "steps"
        return name in (self.slot, parent) or name.startswith(self.slot + "__")

    def words(self) -> str:
        return f"{self.repo} (repo) replaces {self.deployed} (deployed)"


def _structural(name: str) -> bool:
    return name.split("__")[-1] in ("steps", "transformers", "transformer_list")


def _short(cls: Any) -> str:
    return str(cls).rsplit(".", 1)[-1]


def _changed(parameters: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for entry in parameters.get("changed") or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            return entry
    return None


def _final_step(steps: Any) -> tuple[str, str] | None:
    """(step name, class name) of a pipeline's last step, from the flattened `steps` value."""
    if isinstance(steps, list) and steps:
        last = steps[-1]
        if isinstance(last, (list, tuple)) and len(last) >= 2:
            return str(last[0]), _short(last[1])
    return None


def family_change(report: Mapping[str, Any]) -> FamilyChange | None:
    """The final estimator's class on each side when it differs, from a report dict; None when equal or unknown.

    A pipeline's final estimator is its last step, followed into nested pipelines (`classifier__steps`); a
    model that is not a pipeline is its own final estimator (its `model_class`).
    """
    parameters = report.get("parameters")
    if not isinstance(parameters, Mapping) or parameters.get("known") is False:
        return None
    prefix = ""
    while True:
        entry = _changed(parameters, f"{prefix}steps")
        if entry is None:
            break
        repo, deployed = _final_step(entry.get("repo")), _final_step(entry.get("deployed"))
        if repo is None or deployed is None:
            return None
        if repo[1] != deployed[1] or repo[0] != deployed[0]:
            if repo[1] == deployed[1]:
                return None  # a renamed step holding the same class
            return FamilyChange(repo=repo[1], deployed=deployed[1], slot=f"{prefix}{repo[0]}")
        nested = f"{prefix}{repo[0]}__"
        if _changed(parameters, f"{nested}steps") is None:
            return None
        prefix = nested
    if prefix:
        return None
    if _is_pipeline(report, "repo") or _is_pipeline(report, "deployed"):
        return None  # same steps: the final estimator's class is the same
    classes = [_model_class(report, side) for side in ("repo", "deployed")]
    if None in classes or classes[0] == classes[1]:
        return None
    return FamilyChange(repo=_short(classes[0]), deployed=_short(classes[1]), slot="")


def _model_class(report: Mapping[str, Any], side: str) -> str | None:
    model = report.get(side)
    cls = model.get("model_class") if isinstance(model, Mapping) else None
    return str(cls) if cls and cls != "unknown" else None


def _is_pipeline(report: Mapping[str, Any], side: str) -> bool:
    cls = _model_class(report, side) or ""
    return _short(cls) == "Pipeline"


def split_parameters(
    parameters: Mapping[str, Any], change: FamilyChange | None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """The changed / only-in lists split into (the rest, the family change's own settings)."""
    rest: dict[str, list[dict[str, Any]]] = {k: [] for k in PARAMETER_LISTS}
    own: dict[str, list[dict[str, Any]]] = {k: [] for k in PARAMETER_LISTS}
    for key in PARAMETER_LISTS:
        for entry in parameters.get(key) or []:
            if not isinstance(entry, Mapping):
                continue
            target = own if change is not None and change.owns(str(entry.get("name"))) else rest
            target[key].append(dict(entry))
    return rest, own


def same_artifact(report: Mapping[str, Any]) -> bool:
    """Both artifacts have a SHA-256 and it is the same (a scoring endpoint's claimed hash does not count)."""
    parameters = report.get("parameters")
    if not isinstance(parameters, Mapping) or parameters.get("same_artifact") is not True:
        return False
    for side in ("repo", "deployed"):
        model = report.get(side)
        if not isinstance(model, Mapping) or not model.get("sha256") or model.get("flavor") == "endpoint":
            return False
        mlflow = model.get("mlflow")
        if isinstance(mlflow, Mapping) and mlflow.get("paired_with"):
            return False
    return True
