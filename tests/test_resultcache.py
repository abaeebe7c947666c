"""The disk cache of comparison results (modelgap/resultcache.py, resultkeys.py) and its use by the app.

Every comparison here is computed from small real models (skops files) or the demo workspace; the stored and
the loaded comparisons are compared through their JSON reports. Files are damaged, re-signed or planted the
way a disk fault, another modelgap version or an attacker would leave them.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import pickle
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import fitted, save_skops

from modelgap.comparison import CompareOptions, Comparison
from modelgap.report import comparison_to_dict
from modelgap.request import ComparisonRequest, compare
from modelgap.resultcache import (
    CACHE_DIR_ENV,
    KEY_FILE,
    MAGIC,
    SUFFIX,
    ResultCache,
    cache_dir,
    default_cache,
    load_result,
    save_result,
)
from modelgap.resultkeys import request_key
from modelgap.sources.origins import Trust

APP = Path(__file__).resolve().parent.parent / "app.py"


@dataclasses.dataclass
class Workspace:
    root: Path
    request: ComparisonRequest
    comparison: Comparison


def _request(root: Path, **options: Any) -> ComparisonRequest:
    return ComparisonRequest(
        repo=str(root / "repo.skops"),
        deployed=str(root / "deployed.skops"),
        data_path=str(root / "data.csv"),
        options=CompareOptions(target="y", shap_rows=options.pop("shap_rows", 40), **options),
        trust=Trust(code_dirs=(root,), code_registries=()),
    )


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("cached")
    repo, X, y = fitted("gbm", seed=0)
    deployed, _, _ = fitted("gbm", seed=0, learning_rate=0.3)
    save_skops(repo, root / "repo.skops")
    save_skops(deployed, root / "deployed.skops")
    X.assign(y=y).to_csv(root / "data.csv", index=False)
    request = _request(root)
    return Workspace(root, request, compare(request))


def _report(comparison: Comparison) -> dict[str, Any]:
    return json.loads(json.dumps(comparison_to_dict(comparison), default=str))


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


def _signed(directory: Path, header: dict[str, Any], payload: bytes, key: bytes | None = None) -> bytes:
    """A result file as the cache writes it, signed with `key` (default: the folder's own key)."""
    signing = key if key is not None else (directory / KEY_FILE).read_bytes()
    raw = json.dumps(header).encode()
    body = len(raw).to_bytes(4, "big") + raw + payload
    return MAGIC + hmac.new(signing, body, hashlib.sha256).digest() + body


def _header(path: Path) -> dict[str, Any]:
    blob = path.read_bytes()
    start = len(MAGIC) + 32 + 4
    size = int.from_bytes(blob[start - 4 : start], "big")
    return dict(json.loads(blob[start : start + size]))


def test_a_stored_comparison_comes_back_with_the_same_numbers_and_working_models(ws: Workspace, tmp_path: Path):
    cache = ResultCache(tmp_path / "cache")
    key, found = load_result(ws.request, cache=cache)
    assert key is not None and found is None  # a miss before anything is stored
    assert save_result(key, ws.request, ws.comparison, cache=cache)
    again, loaded = load_result(ws.request, cache=cache)
    assert again == key and loaded is not None and loaded is not ws.comparison
    assert _report(loaded) == _report(ws.comparison)
    assert loaded.options.trust == ws.request.trust  # the trust policy is the caller's, never stored
    sample = ws.comparison.sample
    assert sample is not None
    rows = sample.head(25)
    assert (loaded.repo.predict_proba(rows) == ws.comparison.repo.predict_proba(rows)).all()
    assert (loaded.deployed.predict_labels(rows) == ws.comparison.deployed.predict_labels(rows)).all()
    assert os.stat(tmp_path / "cache" / KEY_FILE).st_mode & 0o777 == 0o600


_READ_BACK = """
import json, sys
import pandas as pd
from modelgap.report import comparison_to_dict
from modelgap.resultcache import ResultCache
cache_dir, key, rows_csv = sys.argv[1:4]
loaded = ResultCache(cache_dir).get(key)
report = json.loads(json.dumps(comparison_to_dict(loaded), default=str))
before = {"sklearn": "sklearn" in sys.modules, "scipy": "scipy" in sys.modules, "models": [type(loaded.repo).__name__,
    loaded.repo.heavy_loaded, loaded.deployed.heavy_loaded]}
proba = loaded.repo.predict_proba(pd.read_csv(rows_csv)).tolist()
print(json.dumps({"report": report, "before": before, "proba": proba, "after": "sklearn" in sys.modules}))
"""


def test_a_stored_comparison_is_read_without_importing_the_model_libraries_until_a_model_is_used(
    ws: Workspace, tmp_path: Path
):
    """The Overview's numbers come back without scikit-learn (seconds of imports on a fresh server); the models
    load, whole and working, the first time one predicts. A fresh interpreter: this one has sklearn already."""
    cache = ResultCache(tmp_path / "cache")
    key, _ = load_result(ws.request, cache=cache)
    assert key is not None and save_result(key, ws.request, ws.comparison, cache=cache)
    sample = ws.comparison.sample
    assert sample is not None
    rows = sample.head(10)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _READ_BACK, str(tmp_path / "cache"), key, str(tmp_path / "rows.csv")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["before"] == {"sklearn": False, "scipy": False, "models": ["StoredModel", False, False]}
    assert out["report"] == _report(ws.comparison)  # every number, read from the light part alone
    expected = ws.comparison.repo.predict_proba(pd.read_csv(tmp_path / "rows.csv"))
    assert out["proba"] == expected.tolist() and out["after"] is True  # the model loaded when first used


def test_a_changed_model_data_file_or_option_misses(ws: Workspace, tmp_path: Path):
    root = tmp_path / "copy"
    root.mkdir()
    for name in ("repo.skops", "deployed.skops", "data.csv"):
        (root / name).write_bytes((ws.root / name).read_bytes())
    base = request_key(_request(root))
    assert base is not None and base == request_key(_request(root))  # stable when nothing changed
    assert request_key(_request(root, shap_rows=41)) != base
    assert request_key(_request(root, tolerance=0.5)) != base
    data = root / "data.csv"
    os.utime(data, ns=(1, 1))  # same bytes, another mtime: treated as a change
    changed_data = request_key(_request(root))
    assert changed_data != base
    model = root / "repo.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    assert request_key(_request(root)) not in (base, changed_data)
    (root / "policy.toml").write_text("")
    with_policy = request_key(_request(root, policy_path=str(root / "policy.toml")))
    (root / "policy.toml").write_text("[checks]\n")
    assert request_key(_request(root, policy_path=str(root / "policy.toml"))) != with_policy


def test_a_registry_that_was_written_to_misses(ws: Workspace, tmp_path: Path):
    db = tmp_path / "mlflow.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (x)")
    uri = f"sqlite:///{db}"
    request = dataclasses.replace(
        ws.request,
        deployed="models:/credit@champion",
        tracking_uri=uri,
        trust=Trust(code_dirs=(ws.root,), code_registries=(uri,)),
    )
    before = request_key(request)
    assert before is not None
    with sqlite3.connect(db) as con:  # a moved alias or a new version is a write to the store
        con.execute("insert into t values (1)")
    assert request_key(request) not in (None, before)
    assert request_key(dataclasses.replace(request, trust=Trust(code_dirs=(ws.root,), code_registries=()))) is None
    assert request_key(dataclasses.replace(request, tracking_uri="http://127.0.0.1:5000")) is None


def test_uploads_endpoints_git_and_untrusted_origins_are_never_cached(ws: Workspace, tmp_path: Path):
    assert request_key(ws.request) is not None
    assert request_key(ws.request, private=[ws.root]) is None  # a session's upload folder
    never = Trust(code_dirs=(ws.root,), never_dirs=(ws.root,), code_registries=())
    assert request_key(dataclasses.replace(ws.request, trust=never)) is None
    assert request_key(dataclasses.replace(ws.request, trust=Trust.nothing())) is None
    for deployed in ("http://127.0.0.1:5001/invocations", "https://scoring.internal/invocations", "git:HEAD:m.skops"):
        assert request_key(dataclasses.replace(ws.request, deployed=deployed)) is None
    assert request_key(dataclasses.replace(ws.request, data_path="db.table")) is None
    cache = ResultCache(tmp_path / "cache")
    assert not save_result(None, ws.request, ws.comparison, cache=cache)
    with_frame = dataclasses.replace(ws.comparison, data=ws.comparison.sample)  # a caller's in-memory upload
    assert not cache.put("k" * 64, with_frame)
    assert _files(tmp_path / "cache") == []


def test_a_payload_holding_a_credential_is_not_stored(ws: Workspace, tmp_path: Path, monkeypatch):
    cache = ResultCache(tmp_path / "cache")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", str(ws.root / "data.csv"))  # a string the payload holds
    assert not cache.put("a" * 64, ws.comparison)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    leaky = dataclasses.replace(ws.comparison, notes=[*ws.comparison.notes, "see https://bob:hunter2@mlflow.x/"])
    assert not cache.put("b" * 64, leaky)
    assert _files(tmp_path / "cache") == []
    assert cache.put("c" * 64, ws.comparison)  # the control: the same comparison without them is stored


def test_a_corrupt_or_truncated_file_is_ignored_and_rewritten(ws: Workspace, tmp_path: Path, caplog):
    cache = ResultCache(tmp_path / "cache")
    key = request_key(ws.request)
    assert key is not None and cache.put(key, ws.comparison)
    (path,) = _files(tmp_path / "cache")
    good = path.read_bytes()
    for damaged in (b"garbage", good[: len(good) // 2], good[:-1] + bytes([good[-1] ^ 1])):
        path.write_bytes(damaged)
        with caplog.at_level(logging.WARNING, logger="modelgap.cache"):
            assert cache.get(key) is None
        assert "Ignored result file" in caplog.text
        assert cache.put(key, ws.comparison)
        loaded = cache.get(key)
        assert loaded is not None and _report(loaded) == _report(ws.comparison)


def test_a_file_of_another_version_is_ignored_and_rewritten(ws: Workspace, tmp_path: Path):
    directory = tmp_path / "cache"
    cache = ResultCache(directory)
    key = request_key(ws.request)
    assert key is not None and cache.put(key, ws.comparison)
    (path,) = _files(directory)
    header = _header(path)
    payload = path.read_bytes()[len(_signed(directory, header, b"")) :]
    path.write_bytes(_signed(directory, {**header, "code": "another-version"}, payload))
    assert cache.get(key) is None
    # signed by this folder but not loadable here (a class another version had): ignored, never a crash
    path.write_bytes(_signed(directory, header, b"\x80\x05\x95garbage"))
    assert cache.get(key) is None
    assert cache.put(key, ws.comparison)
    assert _header(path)["code"] == header["code"] and cache.get(key) is not None


class _Planted:
    """A pickle that creates a marker file when it is loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def test_a_file_with_a_wrong_signature_is_never_unpickled(ws: Workspace, tmp_path: Path):
    directory = tmp_path / "cache"
    cache = ResultCache(directory)
    key = request_key(ws.request)
    assert key is not None and cache.put(key, ws.comparison)
    (path,) = _files(directory)
    marker = tmp_path / "unpickled"
    planted = pickle.dumps(_Planted(marker))
    header = _header(path)
    path.write_bytes(_signed(directory, header, planted, key=os.urandom(32)))
    assert cache.get(key) is None
    assert not marker.exists()
    assert not path.exists()  # refused and removed
    # the control: the same payload signed with the folder's key does run when loaded (so the test can fail)
    path.write_bytes(_signed(directory, header, planted))
    assert cache.get(key) is None  # not a Comparison: ignored
    assert marker.exists()


def test_an_unsafe_signing_key_turns_the_cache_off(ws: Workspace, tmp_path: Path, caplog):
    directory = tmp_path / "cache"
    directory.mkdir()
    (directory / KEY_FILE).write_bytes(os.urandom(32))
    (directory / KEY_FILE).chmod(0o644)  # another user could read it and sign a planted file
    cache = ResultCache(directory)
    with caplog.at_level(logging.WARNING, logger="modelgap.cache"):
        assert not cache.put("d" * 64, ws.comparison)
    assert cache.disabled and "readable by others" in caplog.text
    assert _files(directory) == []


def test_an_unwritable_folder_means_no_cache_and_one_log_line(ws: Workspace, tmp_path: Path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache = ResultCache(blocker / "cache")
    key = request_key(ws.request)
    assert key is not None
    with caplog.at_level(logging.WARNING, logger="modelgap.cache"):
        for _ in range(3):
            assert not cache.put(key, ws.comparison)
            assert cache.get(key) is None
    lines = [r for r in caplog.records if r.name == "modelgap.cache"]
    assert len(lines) == 1 and "Result cache off" in lines[0].getMessage()


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_means_no_cache_one_log_line_and_no_partial_file(ws: Workspace, tmp_path: Path, caplog):
    directory = tmp_path / "cache"
    cache = ResultCache(directory)
    assert cache.put("e" * 64, ws.comparison)  # the folder and its key exist; the next write cannot finish
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))  # writes beyond 64 KiB fail (EFBIG)
    try:
        with caplog.at_level(logging.WARNING, logger="modelgap.cache"):
            assert not cache.put("f" * 64, ws.comparison)
            assert not cache.put("g" * 64, ws.comparison)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert len([r for r in caplog.records if r.name == "modelgap.cache"]) == 1
    assert sorted(p.name for p in directory.iterdir()) == sorted([KEY_FILE, f"{'e' * 40}{SUFFIX}"])


def test_the_cache_is_bounded_least_recently_used_first(ws: Workspace, tmp_path: Path):
    directory = tmp_path / "cache"
    cache = ResultCache(directory, max_entries=2)
    for i, key in enumerate(("1" * 64, "2" * 64)):
        assert cache.put(key, ws.comparison)
        os.utime(directory / f"{key[:40]}{SUFFIX}", (1000 + i, 1000 + i))
    assert cache.get("1" * 64) is not None  # used now: the other one is the least recently used
    assert cache.put("3" * 64, ws.comparison)
    assert [p.name[0] for p in _files(directory)] == ["1", "3"]
    size = _files(directory)[0].stat().st_size
    small = ResultCache(directory, max_entries=10, max_bytes=int(size * 1.5))
    assert small.put("4" * 64, ws.comparison)
    assert [p.name[0] for p in _files(directory)] == ["4"]
    assert not ResultCache(directory, max_bytes=size // 2).put("5" * 64, ws.comparison)  # too big to keep


def test_modelgap_cache_dir_moves_the_cache(ws: Workspace, tmp_path: Path, monkeypatch):
    target = tmp_path / "elsewhere"
    monkeypatch.setenv(CACHE_DIR_ENV, str(target))
    assert cache_dir() == target and default_cache().directory == target
    assert default_cache() is default_cache()  # one object per folder: "off" is said once per process
    key, _ = load_result(ws.request)
    assert save_result(key, ws.request, ws.comparison)
    assert len(_files(target)) == 1
    monkeypatch.delenv(CACHE_DIR_ENV)
    assert cache_dir() != target


def test_a_source_changed_while_computing_is_not_stored(ws: Workspace, tmp_path: Path):
    root = tmp_path / "copy"
    root.mkdir()
    for name in ("repo.skops", "deployed.skops", "data.csv"):
        (root / name).write_bytes((ws.root / name).read_bytes())
    request = _request(root)
    cache = ResultCache(tmp_path / "cache")
    key, _ = load_result(request, cache=cache)
    os.utime(root / "data.csv", ns=(5, 5))
    assert not save_result(key, request, ws.comparison, cache=cache)
    assert _files(tmp_path / "cache") == []


def test_a_shared_comparison_is_read_only_and_a_copy_may_change(ws: Workspace):
    sys.path.insert(0, str(APP.parent))
    import cloudpickle

    from components.cache import read_only

    shared = read_only(copy.deepcopy(ws.comparison))
    assert read_only(shared) is shared and isinstance(shared, Comparison)
    assert _report(shared) == _report(ws.comparison)  # reading is unchanged
    for change in (
        lambda: setattr(shared, "sample", None),
        lambda: delattr(shared, "notes"),
        lambda: shared.notes.append("mine"),
        lambda: shared.notes.__setitem__(slice(None), []),
        lambda: shared.errors.__setitem__("predictions", "mine"),
        lambda: shared.errors.update(verdict="mine"),
        lambda: setattr(shared.sections, "verdict", None),
        lambda: shared.sections.__setitem__("predictions", None),
    ):
        with pytest.raises(FrozenInstanceError):
            change()
    assert _report(shared) == _report(ws.comparison)
    mine = dataclasses.replace(shared, notes=[*shared.notes, "mine"], sample=None)  # a view's own copy
    mine.notes.append("more")
    mine.errors = {"x": "y"}
    assert mine.notes[-2:] == ["mine", "more"] and shared.notes == ws.comparison.notes
    again = pickle.loads(cloudpickle.dumps(shared))  # a sealed comparison still pickles (workers, copies)
    assert _report(again) == _report(ws.comparison)


# ------------------------------------------------------------------ the demo and the app


@pytest.fixture(scope="module")
def warmed(demo_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """`make demo`'s step: the demo comparison computed into a fresh cache folder."""
    from modelgap.demo import warm_cache

    directory = tmp_path_factory.mktemp("demo-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_DIR_ENV, str(directory))
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MODELGAP_ALLOWED_DIRS", raising=False)
        mp.delenv("MODELGAP_ENGINE", raising=False)
        assert warm_cache(demo_workspace.directory, say=lambda _m: None)
        yield demo_workspace, directory


def test_the_demo_step_stores_what_the_app_asks_for(warmed: tuple[Any, Path]):
    sys.path.insert(0, str(APP.parent))
    from components.compute import demo_spec, request_for
    from components.config import upload_root
    from modelgap.demo import demo_request

    ws, directory = warmed
    spec = demo_spec()
    assert spec is not None
    app_key = request_key(request_for(spec), private=[upload_root()])
    assert app_key is not None and app_key == request_key(demo_request(ws))
    assert [p.name for p in _files(directory)] == [f"{app_key[:40]}{SUFFIX}"]


def test_the_app_opens_the_demo_from_the_disk_cache_without_computing(warmed: tuple[Any, Path], monkeypatch):
    from appdata import changed_params
    from streamlit.testing.v1 import AppTest

    import components.compute as compute_module

    ws, _directory = warmed
    calls: list[str] = []
    real_compare = compute_module.compare

    def counting(request: ComparisonRequest, **kwargs: Any) -> Comparison:
        calls.append(request.repo)
        return real_compare(request, **kwargs)

    monkeypatch.setattr(compute_module, "compare", counting)
    import streamlit as st

    st.cache_resource.clear()  # a restarted server: nothing in memory
    at = AppTest.from_file(str(APP), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    assert calls == []  # read from disk: nothing was loaded or compared
    spec = compute_module.demo_spec()
    assert spec is not None
    shared = compute_module._comparison_slot(compute_module.comparison_key(spec)).value
    with pytest.raises(FrozenInstanceError):  # what every session shares is read-only
        shared.notes.append("changed by one session")
    values = [m.value for m in at.metric if m.label == "Settings changed"]
    assert values and int(str(values[0])) == changed_params(ws, ws.deployed_source)
