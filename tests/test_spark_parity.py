"""Whole-section parity: one comparison run on the pandas engine and on the Spark engine (local[2]) on the same
models and data, and the WHOLE JSON form of every section compared (predictions, metrics, explanations, data,
verdict), key by key, so that a key added to a section is compared without anyone listing it here.

What may differ is listed, with its reason, in tests/engine_parity.py (keys only one engine writes, notes that
name the engine, timing, and the floats the engines sum in another order, compared within 1e-9); nothing else
may. Counts, ranks, levels, lists and every other float compare exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import factories as fx
from tests.engine_parity import differences

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

SECTIONS = ("predictions", "metrics", "explanations", "data", "verdict")


def _data(tmp: Path, task: str) -> tuple[Any, Any, Path, dict[str, str]]:
    """Two pipelines, sample data, and two training snapshots (the data section's drift pairs)."""
    from modelgap.sources import load_model

    m1, _, _ = fx.fitted("pipeline", task)
    m2, _, _ = fx.fitted("pipeline", task, seed=1)
    repo = load_model(str(fx.save_skops(m1, tmp / "repo.skops")))
    dep = load_model(str(fx.save_skops(m2, tmp / "dep.skops")))
    paths = {}
    for name, seed, shift in (("train_2024", 1, 0.0), ("train_2025", 0, 1.0), ("sample", 2, 0.3)):
        df, y = fx.tabular(n=600, seed=seed, task=task)
        df["x2"] = df["x2"] + shift
        if name != "sample":  # missing values in the training data only: the models cannot score them
            df.loc[df.index % (17 + seed) == 0, "x1"] = np.nan
        paths[name] = tmp / f"{name}.parquet"
        df.assign(y=y).to_parquet(paths[name], row_group_size=250)
    training = {"repo_training_data": str(paths["train_2025"]), "deployed_training_data": str(paths["train_2024"])}
    return repo, dep, paths["sample"], training


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_section_is_the_same_on_both_engines(spark: Any, tmp_path: Path, task: str) -> None:
    from modelgap.comparison import CompareOptions, run_comparison
    from modelgap.options import DataOptions
    from modelgap.report.json_report import comparison_to_dict

    repo, dep, path, training = _data(tmp_path, task)
    reports = {}
    for engine in ("pandas", "spark"):
        options = CompareOptions(target="y", shap_rows=60, top_n=10, engine=engine, data=DataOptions(**training))
        comparison = run_comparison(repo, dep, data_path=path, options=options)
        assert not comparison.errors, comparison.errors
        reports[engine] = comparison_to_dict(comparison)
    a, b = reports["pandas"], reports["spark"]
    assert b["engine"] == "spark" and b["predictions"]["engine"] == "spark" and b["predictions"]["rows_read"] == 600
    problems = []
    for section in SECTIONS:
        assert section in a and section in b, section
        problems += differences(a[section], b[section], section)
    assert not problems, "\n".join(problems)
    # the comparison is not empty: the sections hold what the test claims to compare
    assert a["predictions"]["n_disagreements"] > 0 and a["explanations"]["n_rows"] == 60
    assert a["metrics"] and len(a["data"]["drift"]) == 3 and a["verdict"]["checks"]


def test_the_comparer_finds_a_difference() -> None:
    """The comparer fails on what it must not let through (a test that cannot fail is no test)."""
    found = differences(
        {"n": [1, 2], "mean_abs_diff": 0.1 + 0.2, "rate": 0.3},
        {"n": [1, 3], "mean_abs_diff": 0.3, "rate": 0.1 + 0.2, "extra": 1},
        "s",
    )
    assert found == [
        "s.extra: only on the spark engine",
        "s.n[1]: 2 on pandas, 3 on spark",
        "s.rate: 0.3 on pandas, 0.30000000000000004 on spark",  # exact: not a key summed in another order
    ]
    assert differences({"mean_abs_diff": 1.0}, {"mean_abs_diff": 1.0 + 1e-6}, "s")  # beyond the rounding
    assert differences({"v": 1}, {"v": 1.0}, "s") == ["s.v: 1 on pandas, 1.0 on spark (types differ)"]
    assert differences({}, {"engine": "spark"}, "predictions") == []  # allow-listed for that section only
    assert differences({}, {"engine": "spark"}, "data") == ["data.engine: only on the spark engine"]
    assert differences({}, {"notes": ["Spark engine: ran here"], "rows_read": 3}, "predictions") == []
    assert differences({"notes": ["a"]}, {"notes": ["b", "Spark engine: here"]}, "s") == [
        "s.notes[0]: 'a' on pandas, 'b' on spark"
    ]
