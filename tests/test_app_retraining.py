"""AppTest of the Retraining page: re-run training in the background, progress, Cancel, the result, the Overview.

Two small random forests (seeds 0 and 1) saved as skops files, with their training data named in the link
(`repo_train`, `deployed_train`), like the CLI's --repo/--deployed-training-data. The noise floor shown is
recomputed here with sklearn on the same rows; the background job is awaited by joining its thread (no sleep).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import save_skops, tabular
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGE = "pages/retraining.py"
TIMEOUT = 120
FEATURES = ["x1", "x2", "x3"]
SEEDS_KEY = "modelgap.widget.retraining.seeds"
ROWS_KEY = "modelgap.widget.retraining.max_rows"
RUN_KEY = "modelgap.retraining.run"
CANCEL_KEY = "modelgap.retraining.cancel"
JOB_WAIT_S = 600


def _rf(seed: int, trees: int = 120) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=trees, max_depth=8, random_state=seed)


@dataclass
class Work:
    folder: Path
    train: pd.DataFrame
    sample: pd.DataFrame
    params: dict[str, str]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Work]:
    folder = tmp_path_factory.mktemp("retraining-app")
    X, y = tabular(n=1500, seed=11)
    train = X[FEATURES].assign(y=y.to_numpy())
    train.to_csv(folder / "train.csv", index=False)
    train = pd.read_csv(folder / "train.csv")
    Xs, ys = tabular(n=800, seed=12)
    sample = Xs[FEATURES].assign(y=ys.to_numpy())
    sample.to_csv(folder / "sample.csv", index=False)
    for name, seed in (("deployed", 0), ("repo", 1)):
        save_skops(_rf(seed).fit(train[FEATURES], train["y"]), folder / f"{name}.skops")
    params = {
        "repo": str(folder / "repo.skops"),
        "deployed": str(folder / "deployed.skops"),
        "data": str(folder / "sample.csv"),
        "target": "y",
        "repo_train": str(folder / "train.csv"),
        "deployed_train": str(folder / "train.csv"),
        "shap": "0",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_ALLOWED_DIRS", str(folder))
        mp.setenv("MODELGAP_DEMO_DIR", str(folder / "no-demo"))
        for name in ("MLFLOW_TRACKING_URI", "MODELGAP_ALLOW_PICKLE_UPLOADS"):
            mp.delenv(name, raising=False)
        yield Work(folder, train, sample, params)


def open_page(work: Work) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in work.params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def wait_for_jobs() -> None:
    """Join the background retraining threads (the job runs outside the script run)."""
    for thread in threading.enumerate():
        if thread.name.startswith("modelgap-retraining-"):
            thread.join(JOB_WAIT_S)
            assert not thread.is_alive(), "the retraining job did not finish"


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.info, at.success, at.warning, at.error) for e in kind]
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert len(found) == 1, [m.label for m in at.metric]
    return str(found[0])


def test_re_run_training_shows_both_statuses_the_noise_and_the_overview(work: Work) -> None:
    at = open_page(work)
    assert "Nothing has been retrained" in texts(at)
    at.number_input(key=SEEDS_KEY).set_value(3).run()
    at.button(key=RUN_KEY).click().run()
    assert not at.exception, [e.value for e in at.exception]
    wait_for_jobs()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Deployed model") == "Reproduced" and metric(at, "Repo model") == "Reproduced"
    # the noise floor, recomputed with sklearn on the same rows
    rows, X, y = work.sample[FEATURES], work.train[FEATURES], work.train["y"]
    labels = [_rf(seed).fit(X, y).predict(rows) for seed in range(3)]
    noise = float(np.mean([np.mean(labels[i] != labels[j]) for i, j in combinations(range(3), 2)]))
    assert noise > 0 and metric(at, "Retraining noise") == f"{noise * 100:.2f}%"
    rate = float(np.mean(labels[1] != labels[0]))  # the saved repo (seed 1) vs deployed (seed 0) forests
    assert metric(at, "Repo vs deployed") == f"{rate * 100:.2f}%"
    assert metric(at, "Beyond noise") == f"{rate / noise:.3g}×"
    assert at.get("plotly_chart"), "the noise band chart is missing"
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "**Retraining:** deployed model reproduced, repo model reproduced" in shown
    assert f"{rate / noise:.3g}× more than retraining noise" in shown


def test_cancel_stops_the_refits_that_have_not_run(work: Work) -> None:
    at = open_page(work)
    at.number_input(key=SEEDS_KEY).set_value(20).run()  # another job than the first test's: 21 refits
    at.number_input(key=ROWS_KEY).set_value(1400).run()
    at.button(key=RUN_KEY).click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key=CANCEL_KEY).click().run()  # drawn while the job runs, inside its st.status
    wait_for_jobs()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Cancelled" in w.value for w in at.warning)
    assert "the refits that had not finished were dropped" in texts(at)
