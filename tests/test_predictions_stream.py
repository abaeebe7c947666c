"""Per-row outputs are filled in place when the row count is known; the numbers are those of joining chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import fitted, tabular

import modelgap.predictions.stream as stream_module
from modelgap.comparison import CompareOptions
from modelgap.model import ModelMetadata
from modelgap.predictions import compare_metrics, compare_predictions
from modelgap.sources.native import from_native


def _blocks(rng: np.random.Generator, sizes: list[int], late_dtype: type = np.float64) -> list[dict[str, np.ndarray]]:
    out = []
    for i, m in enumerate(sizes):
        values = rng.normal(size=m).astype(late_dtype if i == len(sizes) - 1 else np.float64)
        out.append({"codes": rng.integers(0, 3, m).astype(np.int32), "proba": rng.uniform(size=(m, 3)), "v": values})
    return out


@pytest.mark.parametrize(
    ("total", "late_dtype"),
    [
        (None, np.float64),  # unknown count: chunks joined
        (1_000, np.float64),  # exact count: filled in place
        (1_400, np.float64),  # an estimate above the rows (a CSV field holding newlines): trimmed
        (700, np.float64),  # an estimate below the rows: filled, then the rest joined
        (1_000, np.float32),  # a later chunk of another dtype: joined, as before
    ],
)
def test_row_arrays_equal_numpys_concatenation(total: int | None, late_dtype: type) -> None:
    blocks = _blocks(np.random.default_rng(3), [300, 300, 250, 150], late_dtype)
    rows = stream_module._RowArrays(total)
    for block in blocks:
        rows.add(block)
    joined = rows.joined()
    assert set(joined) == {"codes", "proba", "v"}
    for name in joined:
        expected = np.concatenate([b[name] for b in blocks])
        assert joined[name].dtype == expected.dtype and joined[name].shape == expected.shape
        np.testing.assert_array_equal(joined[name], expected)


def _compare(data: pd.DataFrame | None = None, path: Path | None = None) -> tuple[dict, dict]:
    repo = from_native(fitted("pipeline", "binary")[0], "repo", ModelMetadata())
    deployed = from_native(fitted("lightgbm", "binary", seed=1)[0], "deployed", ModelMetadata())
    options = CompareOptions(target="y", top_n=20)
    result, _ = compare_predictions(repo, deployed, data=data, data_path=path, options=options)
    metrics = compare_metrics(result.outputs, n_resamples=50)
    return result.to_dict(), metrics.to_dict()


def test_200k_rows_give_the_same_numbers_as_joined_chunks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    X, y = tabular(n=200_000, seed=5)
    data = X.assign(y=y.to_numpy())
    in_place = _compare(data=data)
    path = tmp_path / "rows.csv"
    data.to_csv(path, index=False)
    from_file = _compare(path=path)  # the count read from the file's newlines
    real = stream_module._RowArrays
    monkeypatch.setattr(stream_module, "_RowArrays", lambda _total: real(None))  # today's path: join the chunks
    joined = _compare(data=data)
    assert in_place == joined
    assert from_file[0]["flips"] == joined[0]["flips"] and from_file[1] == joined[1]
