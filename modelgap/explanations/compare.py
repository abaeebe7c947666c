"""How two models' explanations differ: importance and ranks, sign flips, per-row and per-feature changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelgap.errors import IncompatibleModelsError
from modelgap.explanations import rows as row_choice
from modelgap.explanations import stats
from modelgap.explanations.result import Additivity, Explanation

Importance = dict[str, tuple[pd.Series, pd.Series]]  # target -> (repo, deployed) mean |SHAP| per feature


@dataclass
class ExplanationComparison:
    """Both explanations of the same rows for one target (a class, or "value"), and how they differ.

    `repo_values` / `deployed_values`: SHAP per row (index = row) and input column (the union of both models'
    columns; 0 for a column a model does not use). `features`: one row per feature, most important first.
    `features`, the ranks, their agreement and the sign flips come from `random_rows` only (rows.py: the
    uniform random rows); the per-row views use every explained row, the largest disagreements included.
    """

    repo: Explanation
    deployed: Explanation
    target: str
    targets: list[str]
    X: pd.DataFrame
    repo_values: pd.DataFrame
    deployed_values: pd.DataFrame
    features: pd.DataFrame
    rank_correlation: float | None
    top_k: int
    top_k_repo: list[str]
    top_k_deployed: list[str]
    top_k_overlap: float
    sign_flips: list[str]
    notes: list[str] = field(default_factory=list)
    importance: Importance | None = None  # per target, computed elsewhere (the Spark engine aggregates it)
    rank_biased_overlap: float | None = None  # top-weighted agreement of the rankings (p = stats.RBO_P)
    selection: row_choice.RowSelection | None = None  # how the rows were chosen (None: by the caller)
    random_rows: pd.Index | None = None  # the rows behind the global statistics (None: every explained row)

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def output(self) -> str:
        return self.repo.output

    @property
    def method(self) -> dict[str, str]:
        return {"repo": self.repo.method, "deployed": self.deployed.method}

    @property
    def additivity(self) -> dict[str, Additivity]:
        return {"repo": self.repo.additivity, "deployed": self.deployed.additivity}

    @property
    def feature_names(self) -> list[str]:
        return list(self.repo_values.columns)

    @property
    def rows(self) -> list[Any]:
        return list(self.X.index)

    @property
    def default_row(self) -> Any:
        """The first explained row (the builder puts the largest disagreement first)."""
        return self.X.index[0] if len(self.X) else None

    @property
    def class_label(self) -> Any:
        return self.repo.class_labels.get(self.target)

    @property
    def is_multiclass(self) -> bool:
        return len(self.targets) > 1

    @property
    def repo_base(self) -> float:
        return self.repo.base_values[self.target]

    @property
    def deployed_base(self) -> float:
        return self.deployed.base_values[_deployed_key(self.repo, self.deployed, self.target)]

    @property
    def repo_output(self) -> pd.Series:
        return self.repo.outputs[self.target].loc[self.X.index]

    @property
    def deployed_output(self) -> pd.Series:
        return self.deployed.outputs[_deployed_key(self.repo, self.deployed, self.target)].loc[self.X.index]

    @property
    def differences(self) -> pd.DataFrame:
        """SHAP(repo) - SHAP(deployed) per row and feature."""
        return self.repo_values - self.deployed_values

    def for_target(self, target: str) -> ExplanationComparison:
        """The same comparison for another class (multiclass)."""
        return compare_explanations(
            self.repo,
            self.deployed,
            top_k=self.top_k,
            target=target,
            importance=self.importance,
            selection=self.selection,
        )

    def row(self, row: Any) -> pd.DataFrame:
        """One row's two explanations side by side: value, repo, deployed, change; largest |change| first."""
        frame = pd.DataFrame(
            {
                "value": [self.X.at[row, f] if f in self.X.columns else None for f in self.feature_names],
                "repo": self.repo_values.loc[row].to_numpy(dtype=float),
                "deployed": self.deployed_values.loc[row].to_numpy(dtype=float),
            },
            index=pd.Index(self.feature_names, name="feature"),
        )
        frame["change"] = frame["repo"] - frame["deployed"]
        return frame.iloc[np.argsort(-frame["change"].abs().to_numpy(), kind="stable")]

    def row_summary(self, row: Any) -> dict[str, float]:
        """Why a row's output moved: base change + sum of per-feature changes = output change."""
        repo_out = float(self.repo_output.loc[row])
        dep_out = float(self.deployed_output.loc[row])
        return {
            "repo_output": repo_out,
            "deployed_output": dep_out,
            "output_change": repo_out - dep_out,
            "repo_base": self.repo_base,
            "deployed_base": self.deployed_base,
            "base_change": self.repo_base - self.deployed_base,
            "contribution_change": float(self.differences.loc[row].sum()),
        }

    def dependence(self, feature: str) -> pd.DataFrame:
        """Feature value against both models' SHAP for it, one row per explained row."""
        return pd.DataFrame(
            {
                "value": self.X[feature] if feature in self.X.columns else np.nan,
                "repo": self.repo_values[feature],
                "deployed": self.deployed_values[feature],
            },
            index=self.X.index,
        )

    def difference_long(self, features: list[str] | None = None) -> pd.DataFrame:
        """Long table for difference distributions: row, feature, diff, value, value_scaled (0..1 colour)."""
        chosen = features if features is not None else list(self.features.index)
        diffs = self.differences
        parts = []
        for f in chosen:
            values = self.X[f] if f in self.X.columns else pd.Series(np.nan, index=self.X.index)
            parts.append(
                pd.DataFrame(
                    {
                        "row": self.X.index,
                        "feature": f,
                        "diff": diffs[f].to_numpy(dtype=float),
                        "value": values.astype(object).to_numpy(),
                        "value_scaled": stats.scaled(values).to_numpy(dtype=float),
                    }
                )
            )
        if not parts:
            return pd.DataFrame(columns=["row", "feature", "diff", "value", "value_scaled"])
        return pd.concat(parts, ignore_index=True)

    def feature_records(self) -> list[dict[str, Any]]:
        """The feature table as JSON-ready records, most important first."""
        return [
            {
                "feature": str(name),
                "repo_importance": float(r["repo_importance"]),
                "deployed_importance": float(r["deployed_importance"]),
                "repo_rank": int(r["repo_rank"]),
                "deployed_rank": int(r["deployed_rank"]),
                "rank_change": int(r["rank_change"]),
                "mean_diff": float(r["mean_diff"]),
                "sign_flip": bool(r["sign_flip"]),
            }
            for name, r in self.features.iterrows()
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_rows": self.n_rows,
            "output": self.output,
            "method": self.method,
            "features": self.feature_records(),
            "rank_correlation": self.rank_correlation,
            "rank_biased_overlap": self.rank_biased_overlap,
            "rank_biased_overlap_p": stats.RBO_P,
            "top_k": self.top_k,
            "top_k_overlap": self.top_k_overlap,
            "top_k_repo": self.top_k_repo,
            "top_k_deployed": self.top_k_deployed,
            "sign_flips": self.sign_flips,
            "additivity": {side: a.to_dict() for side, a in self.additivity.items()},
            "base_values": {"repo": self.repo_base, "deployed": self.deployed_base},
            "complete": {"repo": not self.repo.stopped, "deployed": not self.deployed.stopped},
            "row_selection": row_choice.selection_dict(self.selection, self.statistics_rows, self.X.index),
            "where_they_disagree": self.where_they_disagree(),
        }
        if self.class_label is not None:
            out["class"] = self.class_label
        if self.is_multiclass:
            out["classes"] = [self.repo.class_labels[t] for t in self.targets]
            per_class: dict[str, Any] = {}
            for t in self.targets:
                c = self if t == self.target else self.for_target(t)
                per_class[t] = {
                    "rank_correlation": c.rank_correlation,
                    "rank_biased_overlap": c.rank_biased_overlap,
                    "top_k_overlap": c.top_k_overlap,
                    "sign_flips": c.sign_flips,
                    "features": c.feature_records(),
                    "where_they_disagree": c.where_they_disagree(),
                }
            out["per_class"] = per_class
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @property
    def statistics_rows(self) -> pd.Index:
        """The rows the importance, ranks and sign flips come from (the random rows)."""
        return self.random_rows if self.random_rows is not None else self.X.index

    def where_they_disagree(self) -> dict[str, Any] | None:
        """Mean |SHAP| per feature on the explained rows whose predictions disagree (None: not known)."""
        return row_choice.where_they_disagree(self.selection, self.repo_values, self.deployed_values)

    def summary_lines(self, top_n: int = 8) -> list[str]:
        from modelgap.explanations.summary import summary_lines

        return summary_lines(self, top_n=top_n)


def _deployed_key(repo: Explanation, deployed: Explanation, target: str) -> str:
    """The deployed model's key for a repo target (binary models with different label names pair up)."""
    if target in deployed.targets:
        return target
    if len(repo.targets) == 1 and len(deployed.targets) == 1:
        return deployed.targets[0]
    raise IncompatibleModelsError(f"The deployed model has no class {target!r}.", "Pick a class both models predict.")


def common_targets(repo: Explanation, deployed: Explanation) -> list[str]:
    shared = [t for t in repo.targets if t in deployed.targets]
    if shared:
        return shared
    if len(repo.targets) == 1 and len(deployed.targets) == 1:
        return list(repo.targets)  # binary with different label names: positive class against positive class
    raise IncompatibleModelsError(
        f"The two models share no class to explain (repo {repo.targets}, deployed {deployed.targets}).",
        "Compare models trained on the same classes.",
    )


def compare_explanations(
    repo_exp: Explanation,
    deployed_exp: Explanation,
    *,
    top_k: int = 5,
    target: str | None = None,
    importance: Importance | None = None,
    selection: row_choice.RowSelection | None = None,
) -> ExplanationComparison:
    """Compare two explanations of the same rows in the same output space, for one target.

    `selection` (rows.choose_rows) says which rows are the random ones: the feature table, ranks, rank agreement
    and sign flips come from them only. `importance` (target -> (repo, deployed) mean |SHAP| per feature over
    those rows) replaces the importance computed here from the values: the Spark engine aggregates it.
    """
    if repo_exp.output != deployed_exp.output:
        raise IncompatibleModelsError(
            f"The explanations are in different output spaces ({repo_exp.output} vs {deployed_exp.output}).",
            "Explain both models with the output chosen by choose_output_space().",
        )
    targets = common_targets(repo_exp, deployed_exp)
    target = target if target is not None else targets[0]
    if target not in targets:
        raise IncompatibleModelsError(f"No class {target!r} in both models.", f"Pick one of {targets}.")
    dkey = _deployed_key(repo_exp, deployed_exp, target)
    notes: list[str] = []
    if dkey != target:
        notes.append(f"Positive classes differ: repo {target!r}, deployed {dkey!r}; compared with each other.")
    rows = repo_exp.X.index[repo_exp.X.index.isin(deployed_exp.X.index)]
    dropped = max(repo_exp.n_rows, deployed_exp.n_rows) - len(rows)
    if dropped:
        notes.append(f"{len(rows)} rows explained by both models are compared ({dropped} explained by one only).")
    feats = list(dict.fromkeys([*repo_exp.features, *deployed_exp.features]))
    X = repo_exp.X.loc[rows]
    extra = [c for c in deployed_exp.X.columns if c not in X.columns]
    if extra:
        X = pd.concat([X, deployed_exp.X.loc[rows, extra]], axis=1)
    rv = repo_exp.values[target].loc[rows].reindex(columns=feats, fill_value=0.0)
    dv = deployed_exp.values[dkey].loc[rows].reindex(columns=feats, fill_value=0.0)
    given = importance.get(target) if importance is not None else None
    picked, fell_back = row_choice.global_rows(selection, rows)
    if fell_back:
        notes.append(row_choice.FALLBACK_NOTE)
    table = _feature_table(X.loc[picked], rv.loc[picked], dv.loc[picked], given)
    k = max(1, min(top_k, len(feats)))
    top_r = stats.top_k(table["repo_importance"].reindex(feats), k)
    top_d = stats.top_k(table["deployed_importance"].reindex(feats), k)
    for side, exp in (("repo", repo_exp), ("deployed", deployed_exp)):
        notes += [f"{side}: {n}" for n in exp.notes]  # additivity failures are in `additivity`, not here
    return ExplanationComparison(
        repo=repo_exp,
        deployed=deployed_exp,
        target=target,
        targets=targets,
        X=X,
        repo_values=rv,
        deployed_values=dv,
        features=table,
        rank_correlation=stats.rank_correlation(
            table["repo_importance"].reindex(feats), table["deployed_importance"].reindex(feats)
        ),
        top_k=k,
        top_k_repo=top_r,
        top_k_deployed=top_d,
        top_k_overlap=len(set(top_r) & set(top_d)) / k,
        sign_flips=[str(f) for f in table.index[table["sign_flip"]]],
        notes=notes,
        importance=importance,
        rank_biased_overlap=stats.rank_biased_overlap(
            table["repo_importance"].reindex(feats), table["deployed_importance"].reindex(feats)
        ),
        selection=selection,
        random_rows=picked if selection is not None else None,
    )


def _feature_table(
    X: pd.DataFrame, rv: pd.DataFrame, dv: pd.DataFrame, given: tuple[pd.Series, pd.Series] | None = None
) -> pd.DataFrame:
    if given is not None:
        imp_r = given[0].reindex(rv.columns, fill_value=0.0).astype(float)
        imp_d = given[1].reindex(dv.columns, fill_value=0.0).astype(float)
    else:
        imp_r, imp_d = stats.importance(rv), stats.importance(dv)
    diff = rv - dv
    table = pd.DataFrame(
        {
            "repo_importance": imp_r,
            "deployed_importance": imp_d,
            "repo_rank": stats.ranks(imp_r),
            "deployed_rank": stats.ranks(imp_d),
        }
    )
    table["rank_change"] = table["deployed_rank"] - table["repo_rank"]
    table["mean_diff"] = diff.mean() if len(diff) else 0.0
    table["mean_abs_diff"] = diff.abs().mean() if len(diff) else 0.0
    dirs_r, dirs_d, flips = [], [], []
    top_r, top_d = float(imp_r.max() or 0.0), float(imp_d.max() or 0.0)
    for f in table.index:
        values = X[f] if f in X.columns else pd.Series(np.nan, index=X.index)
        dr, dd = stats.direction(values, rv[f]), stats.direction(values, dv[f])
        dirs_r.append(dr)
        dirs_d.append(dd)
        used = imp_r[f] > stats.FLIP_MIN_SHARE * top_r and imp_d[f] > stats.FLIP_MIN_SHARE * top_d
        if not used:
            flips.append(False)
        elif dr is None or dd is None:  # categories: the models push the same rows opposite ways
            r = stats.correlation(rv[f].to_numpy(dtype=float), dv[f].to_numpy(dtype=float))
            flips.append(r <= -stats.DIRECTION_MIN_CORR)
        else:
            flips.append(dr * dd < 0)
    table["repo_direction"] = pd.Series(dirs_r, index=table.index, dtype=object)
    table["deployed_direction"] = pd.Series(dirs_d, index=table.index, dtype=object)
    table["sign_flip"] = pd.Series(flips, index=table.index, dtype=bool)
    order = np.argsort(-(imp_r + imp_d).to_numpy(), kind="stable")
    table = table.iloc[order]
    table.index.name = "feature"
    return table
