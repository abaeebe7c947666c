"""A realistic comparison for report tests: two real sklearn models, real SHAP explanations from modelgap, and
predictions / metrics / slices / flips sections computed here independently with numpy and sklearn.metrics.

The predictions work of modelgap is built elsewhere; these sections follow DESIGN.md's contract so the
reports can be tested on every part they render, and their numbers are known to the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from factories import fitted, save_skops

import modelgap
from modelgap.comparison import CompareOptions, Comparison
from modelgap.params import compare_parameters


def independent_predictions(repo: Any, deployed: Any, X: pd.DataFrame, y: pd.Series, top: int = 20) -> dict[str, Any]:
    """The predictions section of two binary classifiers, by DESIGN.md's definitions, with numpy."""
    pr, pd_ = repo.predict_proba(X)[:, 1], deployed.predict_proba(X)[:, 1]
    lr, ld = repo.classes_[(pr > 0.5).astype(int)], deployed.classes_[(pd_ > 0.5).astype(int)]
    disagree = lr != ld
    diff = np.abs(pr - pd_)
    order = np.argsort(-diff, kind="stable")[:top]
    frame = X.assign(_d=disagree)
    slices = []
    for column, keys in (("x1", pd.qcut(X["x1"], 4).astype(str)), ("x3", X["x3"].astype(str))):
        for label, part in frame.groupby(keys, observed=True):
            slices.append(
                {"column": column, "slice": str(label), "n_rows": len(part), "rate": float(part["_d"].mean())}
            )
    negative = (ld == y.to_numpy()) & (lr != y.to_numpy())
    return {
        "n_rows": len(X),
        "task": "binary",
        "disagreement_rate": float(disagree.mean()),
        "n_disagreements": int(disagree.sum()),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff": float(diff.max()),
        "top": [
            {"row": int(i), "repo": float(pr[i]), "deployed": float(pd_[i]), "abs_diff": float(diff[i])} for i in order
        ],
        "slices": slices,
        "flips": {"negative_flips": int(negative.sum()), "negative_flip_rate": float(negative.mean())},
    }


def independent_metrics(repo: Any, deployed: Any, X: pd.DataFrame, y: pd.Series, n_boot: int = 200) -> dict[str, Any]:
    """Accuracy, ROC AUC and log loss of both models with a paired bootstrap 95% interval of repo - deployed."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    pr, pd_ = repo.predict_proba(X)[:, 1], deployed.predict_proba(X)[:, 1]
    yy = y.to_numpy()
    fns = {
        "accuracy": lambda t, p: accuracy_score(t, p > 0.5),
        "roc_auc": roc_auc_score,
        "log_loss": lambda t, p: log_loss(t, p, labels=[0, 1]),
    }
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(yy), size=(n_boot, len(yy)))
    out: dict[str, Any] = {}
    for name, fn in fns.items():
        r, d = float(fn(yy, pr)), float(fn(yy, pd_))
        boot = [fn(yy[i], pr[i]) - fn(yy[i], pd_[i]) for i in idx]
        lo, hi = np.percentile(boot, [2.5, 97.5])
        out[name] = {"repo": r, "deployed": d, "delta": r - d, "ci_low": float(lo), "ci_high": float(hi)}
    return out


def rich_comparison(directory: Path) -> Comparison:
    """Repo GBM (30 trees) vs deployed GBM (8 shallow trees) on 600 rows, every section present."""
    from modelgap.explanations import build_explanations
    from modelgap.readiness import build_verdict

    repo_est, X, y = fitted("gbm")
    deployed_est = type(repo_est)(n_estimators=8, max_depth=2, random_state=0).fit(X, y)
    repo = modelgap.load_model(str(save_skops(repo_est, directory / "repo.skops")))
    deployed = modelgap.load_model(str(save_skops(deployed_est, directory / "deployed.skops")))
    comparison = Comparison(
        repo=repo,
        deployed=deployed,
        options=CompareOptions(shap_rows=150, policy_path=None),
        parameters=compare_parameters(repo, deployed),
        data_path=str(directory / "data.csv"),
        sample=X,
    )
    comparison.sections["predictions"] = independent_predictions(repo_est, deployed_est, X, y)
    comparison.sections["metrics"] = independent_metrics(repo_est, deployed_est, X, y)
    build_explanations(comparison, lambda _m, _f: None)
    assert "explanations" in comparison.sections, comparison.errors
    build_verdict(comparison, lambda _m, _f: None)
    return comparison
