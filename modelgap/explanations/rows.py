"""Which sample rows the explanations section explains, and which of them its global statistics rest on.

A seeded uniform random sample of the sample rows gives the global importance (mean |SHAP|), the ranks, the
rank agreement and the sign flips: over it, mean |SHAP| estimates each feature's importance on the data. The
largest disagreements (from the predictions section) are explained as well, for the "where they disagree"
view and the per-row views, but never enter the global statistics: a linear pair whose coefficients differ in
one feature would otherwise show that feature well above its closed-form importance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelgap.explanations import stats

RANDOM = "random"  # every explained row was drawn at random (no disagreement to rank rows by)
RANDOM_PLUS_DISAGREEMENTS = "random_plus_disagreements"  # random rows, plus the largest disagreements apart
STATISTICS_FROM_RANDOM = "random_rows"
STATISTICS_FROM_ALL = "all_explained_rows"  # no random row was explained, or the rows were not chosen here
FALLBACK_NOTE = (
    "No randomly chosen row was explained (row or time budget), so the importance, ranks and sign flips use "
    "every explained row; they lean toward the rows where the models disagree."
)


@dataclass(frozen=True)
class RowSelection:
    """How the explained rows were chosen.

    `random`: the uniform draw, in draw order (any prefix of it is a uniform sample too); `disagreement`: the
    largest disagreements that the draw did not hold, largest first; `order`: every row to explain, in the
    order the engines explain them (the largest disagreements first). `disagrees`: per chosen row, whether
    the two models' predictions disagree (None when the predictions section did not say).
    """

    random: pd.Index
    disagreement: pd.Index
    order: pd.Index
    seed: int
    sample_rows: int
    disagrees: pd.Series | None = None

    @property
    def method(self) -> str:
        return RANDOM_PLUS_DISAGREEMENTS if len(self.disagreement) else RANDOM

    def statistics_rows(self, explained: pd.Index) -> pd.Index:
        """The random rows the global statistics use: the longest prefix of the draw that was explained.

        A run cut short (time budget, model-agnostic row budget) explains a prefix of `order`; a prefix of the
        draw keeps the rows a uniform sample, whereas "every random row that happened to be explained" would
        favour the drawn rows that are also large disagreements (they are explained first).
        """
        done = np.asarray(self.random.isin(explained), dtype=bool)
        n = len(done) if done.all() else int(np.argmin(done))
        return self.random[:n]

    def flags(self, rows: pd.Index) -> pd.Series | None:
        """Whether each of `rows` disagrees (False where unknown), or None when no row's status is known."""
        if self.disagrees is None:
            return None
        return self.disagrees.reindex(rows, fill_value=False).astype(bool)


def choose_rows(
    sample: pd.DataFrame,
    disagreement: pd.Series | None,
    n: int,
    *,
    seed: int = 0,
    top: int = 20,
    disagrees: pd.Series | None = None,
) -> RowSelection:
    """Up to n rows: a seeded uniform draw of n - t rows, plus the t largest disagreements the draw missed.

    t = at least `top`, or a tenth of n, and at most the number of rows with a positive disagreement. The draw
    is over every sample row (a large disagreement may be drawn too: it then counts as a random row), so the
    random rows are a uniform sample whatever the disagreements are. When n covers the sample, every row is
    "random" (in a random order): the statistics are then the sample's own, the largest disagreements still first.
    """
    index = sample.index
    n = max(0, min(n, len(index)))
    candidates = index[:0]
    n_top = 0
    if disagreement is not None and n:
        d = pd.to_numeric(disagreement, errors="coerce")
        d = d[d.index.isin(index) & (d > 0)]
        candidates = pd.Index(d.sort_values(ascending=False, kind="stable").index)
        n_top = min(n, max(top, n // 10), len(candidates))
    rng = np.random.default_rng(seed)
    k = len(index) if n == len(index) else n - n_top  # every row: the statistics are the sample's own
    random = index[rng.choice(len(index), size=k, replace=False)]
    others = candidates[~candidates.isin(random)][:n_top]
    head = candidates[:n_top]  # the n_top largest overall: each was drawn or is among `others`
    order = head.append(others[~others.isin(head)]).append(random[~random.isin(head)])
    flags = None
    if disagrees is not None:
        flags = disagrees.reindex(order, fill_value=False).astype(bool)
    return RowSelection(
        random=random, disagreement=others, order=order, seed=seed, sample_rows=len(index), disagrees=flags
    )


def global_rows(selection: RowSelection | None, explained: pd.Index) -> tuple[pd.Index, bool]:
    """(rows behind the global statistics, whether they fell back to every explained row).

    Without a selection (rows chosen elsewhere, e.g. one row explained on demand) every explained row counts.
    """
    if selection is None:
        return explained, False
    rows = selection.statistics_rows(explained)
    if len(rows) == 0 and len(explained):
        return explained, True
    return rows, False


def selection_dict(selection: RowSelection | None, statistics: pd.Index, explained: pd.Index) -> dict[str, Any] | None:
    """The report's `explanations.row_selection`, or None when the rows were not chosen by choose_rows."""
    if selection is None:
        return None
    fell_back = bool(len(statistics)) and not bool(statistics.isin(selection.random).all())
    flags = selection.flags(statistics)
    disagreeing = int(flags.sum()) if flags is not None else None
    return {
        "method": selection.method,
        "statistics_from": STATISTICS_FROM_ALL if fell_back else STATISTICS_FROM_RANDOM,
        "random_rows": 0 if fell_back else len(statistics),
        "disagreement_rows": int(selection.disagreement.isin(explained).sum()),
        "seed": selection.seed,
        "sample_rows": selection.sample_rows,
        "random_rows_disagreeing": None if fell_back else disagreeing,
        "random_rows_disagreement_rate": (
            disagreeing / len(statistics) if disagreeing is not None and len(statistics) and not fell_back else None
        ),
    }


def where_they_disagree(
    selection: RowSelection | None, repo_values: pd.DataFrame, deployed_values: pd.DataFrame
) -> dict[str, Any] | None:
    """Mean |SHAP| per feature over the explained rows whose predictions disagree (random and chosen alike).

    None when no row's disagreement is known. Rank 1 = most important, as in the global table.
    """
    flags = selection.flags(repo_values.index) if selection is not None else None
    if flags is None:
        return None
    rows = repo_values.index[flags.to_numpy(dtype=bool)]
    imp_r = stats.importance(repo_values.loc[rows])
    imp_d = stats.importance(deployed_values.loc[rows])
    r_rank, d_rank = stats.ranks(imp_r), stats.ranks(imp_d)
    order = np.argsort(-(imp_r + imp_d).to_numpy(), kind="stable")[: len(imp_r) if len(rows) else 0]
    features = [
        {
            "feature": str(f),
            "repo_importance": float(imp_r[f]),
            "deployed_importance": float(imp_d[f]),
            "repo_rank": int(r_rank[f]),
            "deployed_rank": int(d_rank[f]),
        }
        for f in imp_r.index[order]
    ]
    return {"n_rows": len(rows), "features": features}
