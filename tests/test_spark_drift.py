"""Drift on Spark (local[2]) against the pandas engine on the same full data: PSI, missing rates and means within
1e-9, the same levels and severities, KS / Wasserstein on the (here complete) samples; an independent numpy PSI;
bad sources become errors in the section; and a whole comparison's `data` section equal to the pandas engine's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests import factories as fx
from tests.engine_parity import differences

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

N = 2000
MANY = 60  # levels of `many`: more than MAX_LEVELS, so the tail is pooled


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current tables: numbers, ties at the deciles, missing values (NaN, ±inf, None), categories
    with new and vanished levels, many pooled levels, booleans, a number-vs-text column and an identifier."""
    rng = np.random.default_rng(11)
    out = []
    for side in (0, 1):
        num = rng.normal(side * 0.4, 1 + 0.2 * side, N)
        ties = rng.choice([0.0, 1.0, 2.0, 5.0], N, p=[0.5, 0.3, 0.15, 0.05] if side == 0 else [0.3, 0.3, 0.3, 0.1])
        miss = rng.exponential(2.0, N)
        miss[rng.random(N) < (0.05 if side == 0 else 0.2)] = np.nan
        miss[:7] = [np.inf, -np.inf, np.inf, np.nan, np.nan, np.inf, -np.inf]
        counts = {"a": 700, "b": 500, "c": 350, "d": 200, "e": 100, "f": 50} if side == 0 else {}
        if side == 1:
            counts = {"a": 600, "b": 640, "c": 300, "d": 210, "e": 60, "z": 35, "y": 25}
        cat = np.array([k for k, n in counts.items() for _ in range(n)], dtype=object)
        cat = np.concatenate([cat, [None] * (N - len(cat))])
        many = [f"L{i:02d}" for i in range(MANY) for _ in range(MANY - i + (i % 3 if side else 0))]
        many = np.array(many + [None] * (N - len(many)), dtype=object)
        ints = rng.integers(0, 20 + 5 * side, N).astype(float)
        ints[rng.random(N) < 0.1] = np.nan  # integers with nulls: read as floats by pandas
        flags = np.where(rng.random(N) < 0.3 + 0.3 * side, True, False).astype(object)
        flags[rng.random(N) < 0.05] = None
        base = rng.choice([1.5, 2.0, 3.25], N)
        mixed: Any = base if side == 0 else np.where(rng.random(N) < 0.1, "x", base.astype(str)).astype(object)
        frame = pd.DataFrame(
            {
                "num": num,
                "ties": ties,
                "miss": miss,
                "cat": rng.permutation(cat),
                "many": rng.permutation(many),
                "ints": pd.array(ints, dtype="Int64"),
                "flags": flags,
                "mixed": mixed,
                "id": [f"id-{side}-{i}" for i in range(N)],
                "empty": np.full(N, np.nan) if side == 1 else rng.normal(size=N),
            }
        )
        out.append(frame)
    return out[0], out[1]


@pytest.fixture(scope="module")
def drifts(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Both engines' ColumnDrift of every column, by name (the pandas engine on the Parquet files read whole),
    the folder, and the two SparkTables."""
    from modelgap.data import compare_frames
    from modelgap.spark.data_tables import SparkTable, SparkTableReader
    from modelgap.spark.drift import compare_spark_columns

    folder = tmp_path_factory.mktemp("spark-drift")
    ref, cur = _frames()
    paths = [folder / "ref.parquet", folder / "cur.parquet"]
    ref.to_parquet(paths[0], row_group_size=700)
    cur.to_parquet(paths[1], row_group_size=900)
    reader = SparkTableReader(spark)
    tables = [reader.read_file(str(p), label=p.stem, digest=False) for p in paths]
    assert all(isinstance(t, SparkTable) for t in tables)
    columns = list(ref.columns)
    on_spark = compare_spark_columns(tables[0], tables[1], columns)  # type: ignore[arg-type]
    on_pandas = compare_frames(pd.read_parquet(paths[0]), pd.read_parquet(paths[1]), columns)
    assert [c.column for c in on_spark] == [c.column for c in on_pandas]  # the same ranking
    yield {c.column: c for c in on_spark}, {c.column: c for c in on_pandas}, folder, tables
    reader.release()


NUMBERS = ("psi", "ks", "ks_pvalue", "wasserstein", "wasserstein_std", "chi2", "chi2_pvalue")
RATES = ("reference_missing_rate", "current_missing_rate", "missing_rate_change", "reference_mean", "current_mean")
SAME = ("kind", "severity", "note", "new_levels", "vanished_levels", "n_new_levels", "n_vanished_levels")


@pytest.mark.parametrize("column", ["num", "ties", "miss", "cat", "many", "ints", "flags", "mixed", "id", "empty"])
def test_spark_drift_equals_pandas(drifts: Any, column: str) -> None:
    on_spark, on_pandas = drifts[0][column], drifts[1][column]
    for key in (*SAME, "reference_n", "current_n"):
        assert getattr(on_spark, key) == getattr(on_pandas, key), key
    for key in NUMBERS + RATES:
        a, b = getattr(on_spark, key), getattr(on_pandas, key)
        assert (a is None) == (b is None), key
        if b is not None:
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9), key


def test_the_columns_exercise_what_they_claim(drifts: Any) -> None:
    """Guards the fixture: each column really has the property its name says (else the equality above is weak)."""
    d = drifts[0]
    assert d["cat"].new_levels == ["z", "y"] and d["cat"].vanished_levels == ["f"]
    assert d["many"].kind == "categorical" and d["many"].chi2 is not None and d["many"].psi > 0
    assert d["mixed"].kind == "categorical" and d["mixed"].new_levels == ["x"]
    assert d["id"].kind == "identifier" and d["empty"].psi is None
    assert d["miss"].current_missing_rate > d["miss"].reference_missing_rate > 0.05
    assert d["num"].severity in ("moderate", "high") and d["flags"].psi > 0.02
    ref = pd.read_parquet(drifts[2] / "ref.parquet")["ties"].to_numpy()
    assert len(np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))) < 5  # deciles tie: edges merged


@pytest.mark.parametrize("column", ["num", "ties"])
def test_psi_matches_numpy_by_hand(drifts: Any, column: str) -> None:
    ref = pd.read_parquet(drifts[2] / "ref.parquet")[column].to_numpy(dtype=float)
    cur = pd.read_parquet(drifts[2] / "cur.parquet")[column].to_numpy(dtype=float)
    edges = np.unique(np.quantile(ref, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]))
    bounds = [-np.inf, *edges, np.inf]
    psi = 0.0
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        r = max(np.sum((ref > lo) & (ref <= hi)) / len(ref), 1e-4)
        c = max(np.sum((cur > lo) & (cur <= hi)) / len(cur), 1e-4)
        psi += (c - r) * np.log(c / r)
    assert drifts[0][column].psi == pytest.approx(psi, abs=1e-12)


def test_levels_ranked_in_spark_equal_pandas(drifts: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns with more levels than FEW_LEVELS are joined and ranked in Spark instead of collected per table:
    lowered here so that the small test columns take that route too."""
    from modelgap.spark import drift_levels
    from modelgap.spark.drift import compare_spark_columns

    ref, cur = drifts[3]
    monkeypatch.setattr(drift_levels, "FEW_LEVELS", 3)
    for table in (ref, cur):
        table.cache.pop("levels", None)
    columns = ["cat", "many", "flags", "mixed"]
    ranked = {d.column: d for d in compare_spark_columns(ref, cur, columns)}
    assert all(ref.cache["levels"][c] is None for c in ("cat", "many"))  # not collected: ranked in Spark
    for c in columns:
        on_pandas = drifts[1][c]
        for key in SAME:
            assert getattr(ranked[c], key) == getattr(on_pandas, key), (c, key)
        for key in ("psi", "chi2", "chi2_pvalue"):
            assert getattr(ranked[c], key) == pytest.approx(getattr(on_pandas, key), rel=1e-9, abs=1e-9), (c, key)


def test_approximate_quantiles_are_an_option(drifts: Any) -> None:
    from modelgap.spark.drift import compare_spark_columns

    ref, cur = drifts[3]
    rough = compare_spark_columns(ref, cur, ["num"], relative_error=0.05)[0]
    assert rough.psi != drifts[0]["num"].psi and rough.psi == pytest.approx(drifts[0]["num"].psi, abs=0.05)


# ------------------------------------------------------------------ the section


def _models(folder: Path) -> tuple[Any, Any]:
    from modelgap.sources import load_model

    m1, _, _ = fx.fitted("pipeline", "binary")
    m2, _, _ = fx.fitted("pipeline", "binary", seed=1)
    return (
        load_model(str(fx.save_skops(m1, folder / "repo.skops"))),
        load_model(str(fx.save_skops(m2, folder / "dep.skops"))),
    )


def test_missing_table_and_unreadable_training_data_are_section_errors(spark: Any, tmp_path: Path) -> None:
    from modelgap.comparison import CompareOptions, Comparison
    from modelgap.options import DataOptions
    from modelgap.params import compare_parameters
    from modelgap.spark.data_section import build_data_spark

    repo, dep = _models(tmp_path)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x07" * 200)
    good = tmp_path / "good.parquet"
    df, y = fx.tabular(n=300, seed=4)
    df.assign(y=y).to_parquet(good)
    training = DataOptions(repo_training_data=str(broken), deployed_training_data=str(good))
    options = CompareOptions(target="y", engine="spark", data=training)
    comparison = Comparison(
        repo=repo,
        deployed=dep,
        options=options,
        parameters=compare_parameters(repo, dep),
        data_path="no_such_db.no_such_table",
    )
    build_data_spark(comparison, lambda _m, _f: None)
    assert "data" not in comparison.errors
    section = comparison.sections["data"]
    errors = " | ".join(section.errors)
    assert "Could not read the repo model's training data" in errors and "Parquet" in errors
    assert "Could not read the sample data" in errors and "does not exist" in errors
    assert section.drift == [] and section.lineage["deployed"].training.n_rows == 300
    assert all("\n" not in e for e in section.errors)


def test_spark_data_section_equals_pandas(spark: Any, tmp_path: Path) -> None:
    from modelgap.comparison import CompareOptions, run_comparison
    from modelgap.options import DataOptions

    repo, dep = _models(tmp_path)
    paths = {}
    for name, seed, shift in (("train_2024", 1, 0.0), ("train_2025", 0, 1.0), ("sample", 2, 0.3)):
        df, y = fx.tabular(n=500, seed=seed)
        df["x2"] = df["x2"] + shift
        if name != "sample":  # missing values in the training data only: the models cannot score them
            df.loc[df.index % (17 + seed) == 0, "x1"] = np.nan
        paths[name] = tmp_path / f"{name}.parquet"
        df.assign(y=y).to_parquet(paths[name], row_group_size=200)
    training = DataOptions(repo_training_data=str(paths["train_2025"]), deployed_training_data=str(paths["train_2024"]))
    sections = {}
    for engine in ("pandas", "spark"):
        options = CompareOptions(target="y", no_shap=True, engine=engine, data=training)
        comparison = run_comparison(repo, dep, data_path=paths["sample"], options=options)
        assert "data" not in comparison.errors, comparison.errors
        sections[engine] = comparison.sections["data"].to_dict()
    a, b = sections["pandas"], sections["spark"]
    assert a["errors"] == [] and len(a["drift"]) == 3 and a["training_data_relation"] == "different_snapshots"
    assert a["lineage"]["repo"]["training"]["computed_digest"] is not None
    _assert_close(b, a)
    problems = differences(a, b, "data")  # exact but for the floats summed in another order (engine_parity.py)
    assert not problems, "\n".join(problems)


def _assert_close(a: Any, b: Any, path: str = "data") -> None:
    """Equal, but floats within 1e-9 (a mean summed in another order)."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and set(a) == set(b), path
        for key in b:
            _assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(b, float) and not isinstance(a, bool):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-9), path
    else:
        assert a == b, path


def test_in_memory_data_and_a_csv_training_file(spark: Any, tmp_path: Path) -> None:
    """The caller's frame is taken into Spark; a CSV training file is read by the pandas engine's reader and its
    pairs fall back to the pandas measures (with a note); everything else equals the pandas builder's section."""
    from modelgap.comparison import CompareOptions, Comparison
    from modelgap.data import build_data
    from modelgap.options import DataOptions
    from modelgap.params import compare_parameters
    from modelgap.spark.data_section import build_data_spark

    repo, dep = _models(tmp_path)
    frames = {name: fx.tabular(n=400, seed=seed)[0] for name, seed in (("csv", 5), ("pq", 6), ("data", 7))}
    frames["pq"]["x1"] = frames["pq"]["x1"] ** 2
    frames["csv"].to_csv(tmp_path / "train.csv", index=False)
    frames["pq"].to_parquet(tmp_path / "train.parquet")
    training = DataOptions(
        repo_training_data=str(tmp_path / "train.csv"), deployed_training_data=str(tmp_path / "train.parquet")
    )
    built = {}
    for name, build in (("pandas", build_data), ("spark", build_data_spark)):
        comparison = Comparison(
            repo=repo,
            deployed=dep,
            options=CompareOptions(engine=name, data=training),
            parameters=compare_parameters(repo, dep),
            data=frames["data"],
        )
        build(comparison, lambda _m, _f: None)
        assert "data" not in comparison.errors, comparison.errors
        built[name] = comparison.sections["data"].to_dict()
    a, b = built["pandas"], built["spark"]
    fallback = [p for p in b["drift"] if any("pandas engine's bounded samples" in n for n in p["notes"])]
    assert [p["name"] for p in fallback] == [
        "repo training data vs deployed training data",
        "sample data vs repo training data",
    ]
    assert any("train.csv" in n for n in b["notes"])
    for pair in b["drift"]:
        pair["notes"] = [n for n in pair["notes"] if "Spark engine" not in n]
    b["notes"] = [n for n in b["notes"] if "Spark engine" not in n]
    _assert_close(b, a)
    assert a["drift"][0]["columns"][0]["column"] == "x1" and a["drift"][0]["columns"][0]["severity"] == "high"
