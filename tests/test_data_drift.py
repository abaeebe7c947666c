"""Drift statistics against independent computations (scipy, PSI by its formula), ranking, sampling."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelgap.data import compare_column, compare_frames, read_sample
from modelgap.data.drift import PSI_EPSILON
from modelgap.errors import DataError

REF = np.arange(100, dtype=float)  # 0..99: its deciles are 9.9, 19.8, ..., 89.1
CUR = np.concatenate([np.arange(50, 100, dtype=float), np.arange(50, 100, dtype=float) + 0.5, [150.0] * 20])


def psi_by_hand(ref: np.ndarray, cur: np.ndarray, edges: list[float]) -> float:
    """PSI = sum (c - r) ln(c / r) over right-closed bins (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    bounds = [-math.inf, *edges, math.inf]
    total = 0.0
    for lo, hi in itertools.pairwise(bounds):
        r = max(sum(lo < v <= hi for v in ref) / len(ref), PSI_EPSILON)
        c = max(sum(lo < v <= hi for v in cur) / len(cur), PSI_EPSILON)
        total += (c - r) * math.log(c / r)
    return total


def test_numeric_psi_ks_wasserstein_match_independent_computations() -> None:
    result = compare_column(pd.Series(REF), pd.Series(CUR), "x")
    edges = [9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1]  # np.quantile(0..99, 0.1..0.9), written out
    assert result.kind == "numeric"
    assert result.psi == pytest.approx(psi_by_hand(REF, CUR, edges), rel=1e-9)
    ks = stats.ks_2samp(REF, CUR)
    assert result.ks == pytest.approx(ks.statistic)
    assert result.ks_pvalue == pytest.approx(ks.pvalue)
    assert result.wasserstein == pytest.approx(stats.wasserstein_distance(REF, CUR))
    assert result.wasserstein_std == pytest.approx(stats.wasserstein_distance(REF, CUR) / REF.std())
    assert result.severity == "high"
    assert result.reference_mean == pytest.approx(REF.mean()) and result.current_mean == pytest.approx(CUR.mean())


def test_missing_and_infinite_values_count_as_missing() -> None:
    ref = pd.Series([1.0, 2.0, 3.0, np.nan] * 50)
    cur = pd.Series([1.0, 2.0, np.inf, np.nan, np.nan] * 40)
    result = compare_column(ref, cur, "m")
    assert result.reference_missing_rate == pytest.approx(0.25)
    assert result.current_missing_rate == pytest.approx(0.6)
    assert result.missing_rate_change == pytest.approx(0.35)
    finite_cur = np.array([1.0, 2.0] * 40)
    assert result.ks == pytest.approx(stats.ks_2samp(np.array([1.0, 2.0, 3.0] * 50), finite_cur).statistic)
    assert result.severity == "high"  # a 35-point jump in missing values alone


def test_timestamps_are_compared_in_seconds_whatever_their_unit() -> None:
    """pandas 3 reads Parquet timestamps as microseconds and parses CSV ones as nanoseconds: same seconds."""
    start = np.datetime64("2026-01-01T00:00:00")
    ref_seconds = np.arange(0, 86_400 * 10, 3_600, dtype=np.int64)
    cur_seconds = ref_seconds + 7_200
    expected_mean = float((cur_seconds + (start - np.datetime64("1970-01-01T00:00:00")).astype(np.int64)).mean())
    for unit in ("ns", "us", "s"):
        ref = pd.Series((start + ref_seconds.astype("timedelta64[s]")).astype(f"datetime64[{unit}]"))
        cur = pd.Series((start + cur_seconds.astype("timedelta64[s]")).astype(f"datetime64[{unit}]"))
        d = compare_column(ref, cur, "t")
        assert d.kind == "numeric"
        assert d.current_mean == pytest.approx(expected_mean, rel=0, abs=1e-3)
        assert d.wasserstein == pytest.approx(7_200.0, abs=1e-6)  # a shift of two hours, in seconds


def test_categorical_psi_chi2_and_levels() -> None:
    ref = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    cur = pd.Series(["a"] * 20 + ["b"] * 30 + ["d"] * 40 + [None] * 10)
    result = compare_column(ref, cur, "k")
    assert result.kind == "categorical"
    assert result.new_levels == ["d"] and result.vanished_levels == ["c"]
    frame = pd.DataFrame({"side": ["ref"] * len(ref) + ["cur"] * len(cur), "v": pd.concat([ref, cur])}).dropna()
    table = pd.crosstab(frame["side"], frame["v"])
    chi = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert result.chi2 == pytest.approx(chi.statistic) and result.chi2_pvalue == pytest.approx(chi.pvalue)
    r = {"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.0}
    c = {"a": 20 / 90, "b": 30 / 90, "c": 0.0, "d": 40 / 90}
    expected = sum(
        (max(c[k], PSI_EPSILON) - max(r[k], PSI_EPSILON)) * math.log(max(c[k], PSI_EPSILON) / max(r[k], PSI_EPSILON))
        for k in r
    )
    assert result.psi == pytest.approx(expected)
    assert result.missing_rate_change == pytest.approx(0.1)


def test_identical_datasets_give_zero_drift() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"n": rng.normal(size=500), "i": rng.integers(0, 5, 500), "c": rng.choice(list("xyz"), 500), "b": [True] * 500}
    )
    for col in compare_frames(df, df.copy()):
        assert col.severity == "none", col
        assert col.psi == pytest.approx(0.0, abs=1e-12)
        assert col.missing_rate_change == 0.0
        if col.kind == "numeric":
            assert col.ks == 0.0 and col.wasserstein == 0.0
        else:
            assert col.chi2 == pytest.approx(0.0, abs=1e-9) and not col.new_levels and not col.vanished_levels


def test_planted_shift_in_one_of_twenty_columns_ranks_first() -> None:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame(rng.normal(size=(4000, 20)), columns=[f"c{i}" for i in range(20)])
    cur = pd.DataFrame(rng.normal(size=(4000, 20)), columns=ref.columns)
    cur["c13"] = cur["c13"] * 1.3 + 0.6
    ranked = compare_frames(ref, cur)
    assert ranked[0].column == "c13"
    assert ranked[0].severity == "high"
    assert all(c.severity in ("none", "low") for c in ranked[1:])


def test_small_samples_need_significance_for_a_high_label() -> None:
    ref, cur = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), pd.Series([2.0, 3.0, 5.0, 6.0, 7.0])
    result = compare_column(ref, cur, "tiny")
    assert stats.ks_2samp(ref, cur).pvalue >= 0.01
    assert result.psi is not None and result.psi > 0.25  # PSI alone would say "high"
    assert result.severity == "low" and "not significant" in (result.note or "")


def test_mixed_kinds_are_compared_as_categories() -> None:
    result = compare_column(pd.Series([1, 2, 2, 3] * 20), pd.Series(["1", "2", "x", "x"] * 20), "mixed")
    assert result.kind == "categorical"
    assert "compared as categories" in (result.note or "")
    assert result.new_levels == ["x"] and result.vanished_levels == ["3"]


def test_identifier_columns_are_not_compared() -> None:
    ids = pd.Series([f"id-{i}" for i in range(3000)])
    result = compare_column(ids, pd.Series([f"id-{i}" for i in range(3000, 6000)]), "id")
    assert result.kind == "identifier" and result.psi is None and result.severity == "none"


# ---------------------------------------------------------------- reading on a row budget


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(11)
    df = pd.DataFrame(
        {
            "pos": np.arange(20_000),
            "x": rng.normal(size=20_000),
            "k": rng.choice(["a", "b"], 20_000),
            "gap": np.where(rng.uniform(size=20_000) < 0.1, np.nan, 1.0),
        }
    )
    df.loc[15_000, "k"] = None  # not every value of k is a string: MLflow leaves the column out of its digest
    path = tmp_path_factory.mktemp("sampling") / "big.csv"
    df.to_csv(path, index=False)
    return path, df


def test_row_budget_keeps_a_uniform_seeded_sample(big_csv: tuple[Path, pd.DataFrame]) -> None:
    path, _ = big_csv
    a = read_sample(path, label="sample data", budget=2_000, seed=1, chunk_rows=3_000)
    b = read_sample(path, label="sample data", budget=2_000, seed=1, chunk_rows=3_000)
    c = read_sample(path, label="sample data", budget=2_000, seed=2, chunk_rows=3_000)
    assert a.n_rows == 20_000 and len(a.frame) == 2_000 and a.sampled
    assert a.frame["pos"].is_unique and list(a.frame.index) == list(a.frame["pos"])  # index = row position
    assert a.frame["pos"].equals(b.frame["pos"]) and not a.frame["pos"].equals(c.frame["pos"])
    # uniform over the file: each quarter of the rows holds about a quarter of the sample
    quarters = np.bincount(a.frame["pos"].to_numpy() // 5_000, minlength=4)
    assert stats.chisquare(quarters).pvalue > 0.001
    assert "2,000 of them" in (a.notice() or "")
    whole = read_sample(path, label="sample data", budget=50_000, chunk_rows=3_000)
    assert not whole.sampled and whole.notice() is None and len(whole.frame) == 20_000


def test_streamed_digest_equals_mlflows_digest_of_the_whole_file(big_csv: tuple[Path, pd.DataFrame]) -> None:
    from mlflow.data.digest_utils import compute_pandas_digest

    path, _ = big_csv
    streamed = read_sample(path, label="training data", budget=100, chunk_rows=3_000)
    assert streamed.digest == compute_pandas_digest(pd.read_csv(path))


def test_empty_and_unreadable_files_raise_data_errors(tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    with pytest.raises(DataError, match="no data rows"):
        read_sample(header_only, label="repo training data")
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(DataError, match="neither CSV nor Parquet"):
        read_sample(binary, label="repo training data")
