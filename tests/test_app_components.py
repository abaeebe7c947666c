"""The app's pure pieces: upload checks and safe unzipping, allowed folders, shareable specs, view numbers."""

from __future__ import annotations

import io
import pickle
import secrets
import stat
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from components import config, diff_table, summaries, uploads
from components.state import DEFAULT_SHAP_ROWS, ComparisonSpec
from modelgap import load_model
from modelgap.errors import DataError, SourceError, UntrustedModelError
from modelgap.params import diff_mappings


def zip_bytes(entries: dict[str, bytes], *, links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def zip_dir(folder: Path, prefix: str = "") -> bytes:
    return zip_bytes(
        {prefix + p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    )


@pytest.fixture()
def no_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.PICKLE_UPLOADS_ENV, raising=False)


@pytest.fixture()
def folder() -> Path:
    """A session's private upload folder (as `uploads.current_folder` makes one for a Streamlit session)."""
    return uploads.session_folder(secrets.token_hex(16))


def test_uploads_are_judged_by_content_not_name(demo_workspace: Any) -> None:
    import skops.io as sio

    estimator = load_model(str(demo_workspace.repo_model_dir)).estimator
    assert uploads.classify_model_bytes(sio.dumps(estimator), "model.pkl") == "skops"
    assert uploads.classify_model_bytes(zip_dir(demo_workspace.repo_model_dir), "x.skops") == "mlflow-zip"
    assert uploads.classify_model_bytes(pickle.dumps({"a": 1}, protocol=4), "model.skops") == "pickle"
    with pytest.raises(SourceError, match="not a model format"):
        uploads.classify_model_bytes(b"name,value\n1,2\n", "model.skops")
    with pytest.raises(SourceError, match="neither an MLflow model"):
        uploads.classify_model_bytes(zip_bytes({"readme.txt": b"hi"}), "model.zip")


def test_pickle_uploads_are_refused_unless_the_operator_allows_them(
    no_pickles: None, monkeypatch: pytest.MonkeyPatch, folder: Path
) -> None:
    data = pickle.dumps({"not": "a model"}, protocol=4)
    with pytest.raises(UntrustedModelError, match="runs any code") as err:
        uploads.store_model_upload(data, "model.skops", folder)
    assert config.PICKLE_UPLOADS_ENV in str(err.value)
    monkeypatch.setenv(config.PICKLE_UPLOADS_ENV, "1")
    stored = Path(uploads.store_model_upload(data, "model.skops", folder))
    assert stored.suffix == ".pkl" and stored.read_bytes() == data
    assert config.is_upload(stored) and stored.parent.name == uploads.sha256_bytes(data)
    assert stored.parent.parent == folder  # in the session's own folder


def test_an_mlflow_zip_upload_loads_as_the_same_model(demo_workspace: Any, folder: Path) -> None:
    original = load_model(str(demo_workspace.repo_model_dir))
    data = zip_dir(demo_workspace.repo_model_dir, "repo_model/")
    source = uploads.store_model_upload(data, "repo_model.zip", folder)
    assert (Path(source) / "MLmodel").is_file() and config.is_upload(source)
    uploaded = load_model(source, allow_pickle=False)
    assert uploaded.metadata.sha256 == original.metadata.sha256
    assert uploads.store_model_upload(data, "again.zip", folder) == source  # same bytes: stored once, by content


@pytest.mark.parametrize(
    "entries, links",
    [
        ({"MLmodel": b"x", "../escaped.txt": b"boom"}, ()),
        ({"MLmodel": b"x", "/abs/escaped.txt": b"boom"}, ()),
        ({"MLmodel": b"x", "sub/../../escaped.txt": b"boom"}, ()),
        ({"MLmodel": b"x"}, ("model.pkl",)),
    ],
)
def test_unsafe_zip_entries_are_refused_and_nothing_escapes(
    entries: dict[str, bytes], links: tuple[str, ...], folder: Path
) -> None:
    data = zip_bytes(entries, links=links)
    with pytest.raises(SourceError, match="unsafe entry"):
        uploads.store_model_upload(data, "evil.zip", folder)
    root = config.upload_root()
    for base in (folder, root, root.parent):
        assert not (base / "escaped.txt").exists()
    assert not (folder / uploads.sha256_bytes(data)).exists()


def test_zip_bombs_are_refused_by_size(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setattr(uploads, "MAX_UNZIPPED_BYTES", 10_000)
    with pytest.raises(SourceError, match="more than"):
        uploads.store_model_upload(zip_bytes({"MLmodel": b"x", "big.bin": b"\0" * 50_000}), "bomb.zip", folder)


def test_data_uploads_keep_their_format(tmp_path: Path, folder: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "d.parquet")
    parquet = uploads.store_data_upload((tmp_path / "d.parquet").read_bytes(), "d.csv", folder)
    csv = uploads.store_data_upload(b"a,b\n1,x\n2,y\n", "d.parquet", folder)
    assert parquet.endswith("d.parquet") and csv.endswith("d.csv")  # the user's name, the content's format
    assert pd.read_parquet(parquet).equals(frame)
    with pytest.raises(DataError, match="binary"):
        uploads.store_data_upload(b"\x00\x01\x02" * 10, "d.csv", folder)


def test_server_paths_must_be_below_the_allowed_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "model.skops").write_bytes(b"x")
    (allowed / "link.skops").symlink_to(outside / "model.skops")
    monkeypatch.setenv(config.ALLOWED_DIRS_ENV, str(allowed))
    assert config.check_allowed_path(allowed / "m.skops") == (allowed / "m.skops").resolve()
    for bad in (outside / "model.skops", allowed / ".." / "outside" / "model.skops", allowed / "link.skops"):
        with pytest.raises(SourceError, match="outside the folders"):
            config.check_allowed_path(bad)
    offered = f"sqlite:///{outside / 'mlflow.db'}"
    monkeypatch.setenv("MODELGAP_TRUSTED_TRACKING_URIS", f"{offered},http://mlflow.internal:5000")
    with pytest.raises(SourceError, match="outside the folders"):  # offered, but a file store must be allowed too
        config.check_tracking_uri(offered)
    config.check_tracking_uri("http://mlflow.internal:5000")  # servers are not paths
    with pytest.raises(SourceError, match="not one this server offers"):
        config.check_tracking_uri("http://mlflow.elsewhere:5000")


def test_a_spec_survives_the_round_trip_through_the_url() -> None:
    spec = ComparisonSpec("models:/m/1", "models:/m@champion", "sqlite:///x.db", "/d/s.csv", "label", 0.5, 200)
    params = spec.to_params()
    assert params == {
        "repo": "models:/m/1",
        "deployed": "models:/m@champion",
        "data": "/d/s.csv",
        "target": "label",
        "uri": "sqlite:///x.db",
        "tol": "0.5",
        "shap": "200",
    }
    assert ComparisonSpec.from_params(params, None) == spec
    plain = ComparisonSpec("a", "b")
    assert plain.to_params() == {"repo": "a", "deployed": "b"} and plain.shap_rows == DEFAULT_SHAP_ROWS
    defaults = ComparisonSpec("repo_dir", "models:/m@champion", "sqlite:///demo.db", "/s.csv", "y")
    linked = ComparisonSpec.from_params({"deployed": "models:/m/3"}, defaults)
    assert linked == ComparisonSpec("repo_dir", "models:/m/3", "sqlite:///demo.db", "/s.csv", "y")
    assert ComparisonSpec.from_params({"target": ""}, defaults).target is None  # type: ignore[union-attr]
    assert ComparisonSpec.from_params({"repo": "a"}, None) is None  # a link needs both models


def test_worst_slice_and_importance_changes() -> None:
    predictions = {
        "slices": [
            {"column": "region", "slice": "north", "n_rows": 400, "rate": 0.12},
            {"column": "region", "slice": "tiny", "n_rows": 5, "rate": 0.9},  # too small to decide
            {"column": "score", "slice": "in [1, 2]", "n_rows": 300, "rate": 0.2},
        ]
    }
    worst = summaries.worst_slice(predictions)
    assert worst is not None and worst["rate"] == 0.2 and summaries.slice_name(worst) == "score in [1, 2]"
    assert summaries.worst_slice({}) is None
    # The readiness check decides when it ran: its slice and the policy's floor, not the page's own rule.
    verdict = {
        "checks": [{"name": "worst_slice", "details": {"slice": {"column": "region", "label": "tiny", "rate": 0.9}}}],
        "policy": {"checks": {"worst_slice": {"min_rows": 3}}},
    }
    assert summaries.worst_slice(predictions, verdict) == {"column": "region", "label": "tiny", "rate": 0.9}
    assert summaries.slice_floor(verdict) == 3 and summaries.slice_floor(None) == summaries.MIN_SLICE_ROWS
    without_check = {"checks": [], "policy": verdict["policy"]}
    assert summaries.worst_slice(predictions, without_check)["rate"] == 0.9  # the policy's floor lets it in
    explanations = {
        "features": [
            {"feature": "a", "repo_importance": 0.5, "deployed_importance": 0.5, "repo_rank": 1, "deployed_rank": 1},
            {"feature": "b", "repo_importance": 0.1, "deployed_importance": 0.4, "repo_rank": 3, "deployed_rank": 2},
            {"feature": "c", "repo_importance": 0.3, "deployed_importance": 0.05, "repo_rank": 2, "deployed_rank": 3},
            {"bad": "row"},
        ]
    }
    assert [r["feature"] for r in summaries.importance_changes(explanations)] == ["b", "c"]


def test_diff_rows_filter_and_readable_diff() -> None:
    diff = diff_mappings(
        {"lr": 0.1, "cols": ["a", "b", "c"], "same": 1, "gone": 2},
        {"lr": 0.2, "cols": ["a", "b"], "same": 1, "new": 3},
    )
    rows = diff_table.keyed_rows(diff, show_all=False)
    assert {(r["name"], r["change"]) for r in rows} == {
        ("lr", "changed"),
        ("cols", "changed"),
        ("gone", "only in repo"),
        ("new", "only in deployed"),
    }
    assert len(diff_table.keyed_rows(diff, show_all=True)) == 5
    assert [r["name"] for r in diff_table.filter_rows(rows, "LR")] == ["lr"]
    text = diff_table.unified(["a", "b"], ["a", "b", "c"])
    assert '+  "c"' in text and text.startswith("--- deployed")


def test_nested_list_changes_read_as_added_and_removed() -> None:
    line = diff_table.detail_line({"path": "[0][2]", "repo": ["a", "b", "c"], "deployed": ["a", "b", "z"]})
    assert line == 'at `[0][2]`: only in repo: `["c"]`; only deployed: `["z"]`'
    assert diff_table.detail_line({"path": "x", "repo": 2, "deployed": 1}) == "at `x`: deployed `1` → repo `2`"
