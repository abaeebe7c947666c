"""What the demo contains: synthetic credit-risk data made offline from fixed seeds, and the recipes of the
models trained on it. Pure pandas/scikit-learn; the MLflow side is in `modelgap.demo`.

The generative model is the same in every snapshot; what changes between snapshots is who applies (incomes
in region North rise, applicants make more recent credit inquiries). Because `recent_inquiries` matters
strongly for high-income applicants in the North, a model that ignores it (the champion) and one that uses
it (the repo model) disagree mostly in that growing slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Snapshot = Literal["2025-q2", "2025-q4", "2026-q2"]

TARGET = "default"
REGIONS = ("North", "South", "East", "West")
HOME_OWNERSHIP = ("rent", "own", "mortgage")
PURPOSES = ("car", "home", "education", "business", "debt_consolidation")
TERMS = (12, 24, 36, 60)
NUMERIC_COLUMNS = (
    "age",
    "income",
    "loan_amount",
    "loan_term_months",
    "credit_score",
    "debt_to_income",
    "employment_years",
    "num_open_accounts",
    "recent_inquiries",
)
CATEGORICAL_COLUMNS = ("region", "home_ownership", "purpose")
NORTH_HIGH_INCOME = 75_000.0  # above this, recent inquiries weigh heavily in region North


@dataclass(frozen=True)
class _Shift:
    """How one snapshot's applicant population differs from the base one."""

    north_income: float  # multiplier on incomes in region North
    income: float  # multiplier on all incomes
    inquiries: float  # Poisson rate of recent credit inquiries
    missing_employment: float  # share of rows whose employment_years is unknown


_SHIFTS: dict[str, _Shift] = {
    "2025-q2": _Shift(north_income=1.00, income=0.97, inquiries=0.9, missing_employment=0.02),
    "2025-q4": _Shift(north_income=1.05, income=1.00, inquiries=1.1, missing_employment=0.03),
    "2026-q2": _Shift(north_income=1.45, income=1.03, inquiries=1.9, missing_employment=0.03),
}


def make_credit_data(n: int, seed: int, snapshot: Snapshot = "2025-q4") -> pd.DataFrame:
    """`n` loan applications from `snapshot`'s population with a 0/1 `default` label; same seed, same rows."""
    if snapshot not in _SHIFTS:
        raise ValueError(f"Unknown snapshot {snapshot!r}; use one of {', '.join(_SHIFTS)}.")
    shift = _SHIFTS[snapshot]
    rng = np.random.default_rng(seed)

    region = rng.choice(REGIONS, n, p=[0.28, 0.24, 0.24, 0.24])
    age = np.clip(rng.normal(41, 12, n), 21, 75).round().astype(int)
    employment = np.minimum(rng.gamma(2.0, 3.5, n), age - 18).clip(0, 45).round(1)
    region_income = np.select(
        [region == "North", region == "South", region == "East"], [shift.north_income, 0.9, 1.05], 1.1
    )
    income = np.exp(rng.normal(np.log(52_000) + 0.012 * (age - 40) + 0.02 * employment, 0.45))
    income = (income * region_income * shift.income).clip(12_000, 600_000).round(2)

    p_own = np.clip(0.1 + 0.012 * (age - 21), 0.1, 0.6)
    home_u = rng.uniform(size=n)
    home = np.where(home_u < p_own, "own", np.where(home_u < p_own + 0.3, "mortgage", "rent"))
    purpose = rng.choice(PURPOSES, n, p=[0.25, 0.15, 0.1, 0.15, 0.35])
    term = np.where(
        np.isin(purpose, ["home", "business"]),
        rng.choice(TERMS, n, p=[0.05, 0.15, 0.3, 0.5]),
        rng.choice(TERMS, n, p=[0.2, 0.35, 0.3, 0.15]),
    )
    loan = (income * rng.lognormal(np.log(0.25), 0.5, n)).clip(1_000, 150_000).round(-2).astype(float)
    credit = np.clip(rng.normal(665 + 3 * employment - 25 * (home == "rent"), 60), 300, 850).round().astype(int)
    dti = (rng.beta(2, 5, n) * 0.6 + 0.3 * loan / income / (term / 36) ** 0.5).clip(0.01, 1.5).round(3)
    accounts = rng.poisson(np.clip(3.5 + 0.05 * (age - 40), 1, None)).astype(int)
    inquiries = rng.poisson(shift.inquiries * np.where(home == "rent", 1.3, 1.0)).astype(int)

    logit = _default_logit(region, income, loan, term, credit, dti, employment, age, home, purpose, inquiries)
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)

    employment_seen = employment.astype(float)
    employment_seen[rng.uniform(size=n) < shift.missing_employment] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "loan_amount": loan,
            "loan_term_months": term.astype(int),
            "credit_score": credit,
            "debt_to_income": dti,
            "employment_years": employment_seen,
            "num_open_accounts": accounts,
            "recent_inquiries": inquiries,
            "region": region,
            "home_ownership": home,
            "purpose": purpose,
            TARGET: default,
        }
    )


def _default_logit(
    region: np.ndarray,
    income: np.ndarray,
    loan: np.ndarray,
    term: np.ndarray,
    credit: np.ndarray,
    dti: np.ndarray,
    employment: np.ndarray,
    age: np.ndarray,
    home: np.ndarray,
    purpose: np.ndarray,
    inquiries: np.ndarray,
) -> np.ndarray:
    """Log-odds of default: the usual suspects plus two interactions a linear model cannot see."""
    score = (credit - 680) / 60
    load = (dti - 0.3) / 0.15
    north_rich = (region == "North") & (income > NORTH_HIGH_INCOME)
    purpose_effect = np.select(
        [purpose == "business", purpose == "debt_consolidation", purpose == "education", purpose == "home"],
        [0.45, 0.25, 0.1, -0.2],
        0.0,
    )
    return (
        -2.2
        - 0.9 * score
        + 0.7 * load
        + 0.5 * np.clip(load, 0, None) * np.clip(-score, 0, None)  # stretched and weak credit: worse together
        + 0.6 * np.clip(loan / income - 0.25, -0.25, 1.5)
        - 0.03 * employment
        - 0.01 * (age - 40)
        + 0.2 * (term == 60)
        + 0.2 * (home == "rent")
        - 0.2 * (home == "own")
        + purpose_effect
        + 0.03 * inquiries
        + north_rich * 1.8 * (inquiries - 1.5)  # in the North, richer applicants shopping for credit default
    )


@dataclass(frozen=True)
class VersionRecipe:
    """One registered version: what it is, what it learnt from, and how the registry describes it."""

    run_name: str
    snapshot: Snapshot
    estimator: str  # "logreg" or "gbm"
    features: tuple[str, ...]
    imputer: str
    learning_rate: float
    n_estimators: int
    description: str
    tags: dict[str, str]


CHAMPION_FEATURES = tuple(c for c in NUMERIC_COLUMNS if c != "recent_inquiries") + CATEGORICAL_COLUMNS
REPO_FEATURES = NUMERIC_COLUMNS + CATEGORICAL_COLUMNS
BASELINE = VersionRecipe(
    run_name="baseline-logreg-2025q2",
    snapshot="2025-q2",
    estimator="logreg",
    features=CHAMPION_FEATURES,
    imputer="mean",
    learning_rate=0.0,
    n_estimators=0,
    description="Logistic-regression baseline on the 2025-Q2 applications. Superseded by v2.",
    tags={"validation_status": "retired", "training_snapshot": "2025-q2"},
)
CHAMPION = VersionRecipe(
    run_name="gbm-2025q4",
    snapshot="2025-q4",
    estimator="gbm",
    features=CHAMPION_FEATURES,
    imputer="mean",
    learning_rate=0.1,
    n_estimators=150,
    description="Gradient boosting on the 2025-Q4 applications. Approved by model risk; serving since 2026-01.",
    tags={"validation_status": "approved", "training_snapshot": "2025-q4"},
)
# The repo model is this challenger: the change a data scientist made and wants to release.
CHALLENGER = VersionRecipe(
    run_name="gbm-2026q2-inquiries",
    snapshot="2026-q2",
    estimator="gbm",
    features=REPO_FEATURES,
    imputer="median",
    learning_rate=0.05,
    n_estimators=250,
    description="Retrained on 2026-Q2: adds recent_inquiries, median imputation, slower learning rate, more trees.",
    tags={"validation_status": "pending", "training_snapshot": "2026-q2"},
)


def build_pipeline(spec: VersionRecipe) -> Any:
    """Impute + scale the numeric columns, one-hot the categorical ones, then the spec's classifier."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in spec.features if c in NUMERIC_COLUMNS]
    categorical = [c for c in spec.features if c in CATEGORICAL_COLUMNS]
    numeric_steps = Pipeline([("impute", SimpleImputer(strategy=spec.imputer)), ("scale", StandardScaler())])
    preprocess = ColumnTransformer(
        [("num", numeric_steps, numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
    )
    classifier: Any = (
        LogisticRegression(max_iter=1000)
        if spec.estimator == "logreg"
        else GradientBoostingClassifier(
            n_estimators=spec.n_estimators, learning_rate=spec.learning_rate, max_depth=3, random_state=0
        )
    )
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])
