"""`python -m modelgap signoff` against a real `mlflow server`: where a sign-off lands (one tag on the
candidate's registry version or run, never on the deployed model), what it binds (the report's bytes and both
fingerprints, checked here with hashlib on the file and the report's own keys), and what is refused with exit 2
and one line while nothing is written (stale reports, files with no run, bad input, a server that is down)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import fitted, log_registered, save_mlflow, save_skops
from servers import free_port
from test_writeback import snapshot

from modelgap.cli import main
from modelgap.signoff import SignoffError, SignoffRecord
from modelgap.signoff.record import MAX_COMMENT, TAG_PREFIX, tag_key

pytestmark = pytest.mark.server

NAME = "signoff-credit"


@dataclass
class Store:
    uri: str
    dir: Path
    data: Path
    runs: dict[str, str]  # version -> run id


def client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri, uri)


def register(uri: str, name: str, X: Any, *models: Any) -> dict[str, str]:
    c = client(uri)
    out = {}
    for model in models:
        version = log_registered(model, X, name, uri)
        out[version] = c.get_model_version(name, version).run_id
    return out


@pytest.fixture(scope="module")
def store(mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """v1 = the deployed @champion, v2 = the candidate @challenger, v3 = another model to move aliases to."""
    uri = mlflow_server.url
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
    other, _, _ = fitted("rf")
    runs = register(uri, NAME, X, deployed, repo, other)
    c = client(uri)
    c.set_registered_model_alias(NAME, "champion", "1")
    c.set_registered_model_alias(NAME, "challenger", "2")
    work = tmp_path_factory.mktemp("signoff")
    X.assign(y=y).to_csv(work / "sample.csv", index=False)
    save_skops(repo, work / "repo.skops")
    save_mlflow(repo, work / "saved_model", X)
    return Store(uri=uri, dir=work, data=work / "sample.csv", runs=runs)


def compare(store: Store, out: Path, repo: str, deployed: str = f"models:/{NAME}@champion") -> Path:
    args = ["compare", "--repo", repo, "--deployed", deployed, "--data", str(store.data), "--target", "y"]
    assert main([*args, "--no-shap", "--tracking-uri", store.uri, "--json", str(out), "--fail-on", "never"]) == 0
    return out


def signoff(store: Store, *args: str) -> int:
    return main(["signoff", *args, "--tracking-uri", store.uri])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("modelgap: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


def new_tags(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    assert all(after.get(k) == v for k, v in before.items()), "an existing tag changed"
    return {k: v for k, v in after.items() if k not in before}


def changed_entities(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Which runs / versions / models / experiments differ between two snapshots."""
    out = []
    for part in ("runs", "versions", "models"):
        for key in set(before[part]) | set(after[part]):
            if before[part].get(key) != after[part].get(key):
                out.append(f"{part}:{key}")
    if before["experiments"] != after["experiments"]:
        out.append("experiments")
    return out


@pytest.fixture(scope="module")
def alias_report(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compare(store, tmp_path_factory.mktemp("alias") / "report.json", f"models:/{NAME}@challenger")


# ---------------------------------------------------------------- where a sign-off lands


def test_alias_signoff_is_one_tag_on_that_version_bound_to_the_report(
    store: Store, alias_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(store.uri)
    start = datetime.now(tz=UTC).replace(microsecond=0)
    code = signoff(
        store,
        "--report",
        str(alias_report),
        "--decision",
        "approve",
        "--reviewer",
        "Ann Lee",
        "--role",
        "manager",
        "--comment",
        "Disagreement is within policy.\nShip it.",
    )
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    after = snapshot(store.uri)

    assert changed_entities(before, after) == [f"versions:{(NAME, '2')}"]  # nothing else, not v1 (deployed)
    added = new_tags(before["versions"][(NAME, "2")]["tags"], after["versions"][(NAME, "2")]["tags"])
    assert len(added) == 1
    ((key, value),) = added.items()
    assert key.startswith(TAG_PREFIX) and key in out and "version 2" in out
    record = json.loads(value)
    report = json.loads(alias_report.read_text())
    assert set(record) == {
        "decision", "reviewer", "role", "comment", "report_sha256", "repo_sha256", "deployed_sha256",
        "repo_source", "deployed_source", "verdict", "at",
    }  # fmt: skip
    assert record["report_sha256"] == hashlib.sha256(alias_report.read_bytes()).hexdigest()
    assert record["repo_sha256"] == report["repo"]["sha256"] and report["repo"]["mlflow"]["version"] == "2"
    assert record["deployed_sha256"] == report["deployed"]["sha256"]
    assert record["repo_source"] == f"models:/{NAME}@challenger"
    assert record["deployed_source"] == f"models:/{NAME}@champion"
    assert record["verdict"] == report["verdict"]["status"]
    assert (record["decision"], record["reviewer"], record["role"]) == ("approve", "Ann Lee", "manager")
    assert record["comment"] == "Disagreement is within policy.\nShip it."
    at = datetime.fromisoformat(record["at"])
    assert at.utcoffset() is not None and start <= at <= datetime.now(tz=UTC)
    stamp = datetime.strptime(key[len(TAG_PREFIX) :], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    assert stamp.replace(microsecond=0) == at  # the key is the record's time, to the microsecond


def test_a_run_candidate_gets_a_run_tag(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = store.runs["2"]
    report = compare(store, tmp_path / "run.json", f"runs:/{run}/model")
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "needs-changes", "--reviewer", "bo") == 0
    after = snapshot(store.uri)
    assert changed_entities(before, after) == [f"runs:{run}"]
    added = new_tags(before["runs"][run]["tags"], after["runs"][run]["tags"])
    ((key, value),) = added.items()
    assert key.startswith(TAG_PREFIX)
    record = SignoffRecord.from_json(value)
    assert record.decision == "needs-changes" and record.repo_source == f"runs:/{run}/model"
    assert record.report_sha256 == hashlib.sha256(report.read_bytes()).hexdigest()
    assert f"run {run}" in capsys.readouterr().out


def test_an_mlflow_folder_logged_from_a_run_gets_that_run_tag(store: Store, tmp_path: Path) -> None:
    """A model directory downloaded from its run keeps the run_id in MLmodel: the sign-off goes to that run."""
    import mlflow.artifacts
    import yaml

    run = store.runs["2"]
    folder = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{NAME}/2", dst_path=str(tmp_path / "dl"), tracking_uri=store.uri
        )
    )
    assert yaml.safe_load((folder / "MLmodel").read_text())["run_id"] == run
    report = compare(store, tmp_path / "dir.json", str(folder))
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "reject", "--reviewer", "cy") == 0
    after = snapshot(store.uri)
    assert changed_entities(before, after) == [f"runs:{run}"]
    assert len(new_tags(before["runs"][run]["tags"], after["runs"][run]["tags"])) == 1


@pytest.mark.parametrize(
    ("what", "needle"),
    [("repo.skops", "is a file, not a model logged to MLflow"), ("saved_model", "saved, not logged")],
)
def test_a_local_file_candidate_is_refused(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, needle: str
) -> None:
    report = compare(store, tmp_path / "local.json", str(store.dir / what))
    capsys.readouterr()
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "approve", "--reviewer", "ann") == 2
    line = one_line_error(capsys)
    assert needle in line and "Log or register the model first" in line
    assert snapshot(store.uri) == before


def test_the_deployed_version_is_never_signed(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The repo model is the deployed version itself (models:/NAME/1 vs @champion -> v1)."""
    report = compare(store, tmp_path / "same.json", f"models:/{NAME}/1")
    capsys.readouterr()
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "approve", "--reviewer", "ann") == 2
    assert "never recorded on the deployed model" in one_line_error(capsys)
    assert snapshot(store.uri) == before


# ---------------------------------------------------------------- stale reports


def test_a_report_whose_alias_moved_is_stale(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = client(store.uri)
    c.set_registered_model_alias(NAME, "moving", "2")
    report = compare(store, tmp_path / "moving.json", f"models:/{NAME}@moving")
    c.set_registered_model_alias(NAME, "moving", "3")  # the alias moves after the comparison
    capsys.readouterr()
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "approve", "--reviewer", "ann") == 2
    line = one_line_error(capsys)
    assert "stale" in line and "Compare again" in line
    assert snapshot(store.uri) == before


def test_a_report_whose_deployed_alias_moved_is_stale(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = client(store.uri)
    c.set_registered_model_alias(NAME, "prod-moving", "1")
    report = compare(store, tmp_path / "deployed.json", f"models:/{NAME}/2", f"models:/{NAME}@prod-moving")
    c.set_registered_model_alias(NAME, "prod-moving", "3")
    capsys.readouterr()
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "approve", "--reviewer", "ann") == 2
    line = one_line_error(capsys)
    assert "stale" in line and "deployed model" in line
    assert snapshot(store.uri) == before


def test_a_report_whose_model_folder_changed_is_stale(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlflow.artifacts

    folder = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{NAME}/2", dst_path=str(tmp_path / "dl"), tracking_uri=store.uri
        )
    )
    report = compare(store, tmp_path / "changed.json", str(folder))
    with (folder / "requirements.txt").open("a") as f:
        f.write("numpy\n")  # the folder changes after the comparison
    capsys.readouterr()
    before = snapshot(store.uri)
    assert signoff(store, "--report", str(report), "--decision", "approve", "--reviewer", "ann") == 2
    assert "stale" in one_line_error(capsys)
    assert snapshot(store.uri) == before


# ---------------------------------------------------------------- --list and --require


def test_list_and_require_follow_the_newest_sign_off_that_still_matches(
    mlflow_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = mlflow_server.url
    name = "signoff-gate"
    deployed, X, y = fitted("gbm")
    repo, _, _ = fitted("gbm", n_estimators=40, learning_rate=0.05)
    other, _, _ = fitted("rf")
    register(uri, name, X, deployed, repo, other)
    c = client(uri)
    c.set_registered_model_alias(name, "champion", "1")
    c.set_registered_model_alias(name, "candidate", "2")
    X.assign(y=y).to_csv(tmp_path / "sample.csv", index=False)
    gate = Store(uri=uri, dir=tmp_path, data=tmp_path / "sample.csv", runs={})
    source = f"models:/{name}@candidate"
    report = compare(gate, tmp_path / "r.json", source, f"models:/{name}@champion")

    def require() -> tuple[int, str]:
        capsys.readouterr()
        code = signoff(gate, "--require", "approve", source)
        return code, capsys.readouterr().out

    assert require()[0] == 1  # no sign-off yet
    assert signoff(gate, "--report", str(report), "--decision", "approve", "--reviewer", "ann") == 0
    code, out = require()
    assert code == 0 and "approve by ann" in out
    assert signoff(gate, "--report", str(report), "--decision", "reject", "--reviewer", "bo") == 0
    code, out = require()
    assert code == 1 and "reject by bo" in out  # a later decision overrides the approval

    capsys.readouterr()
    assert signoff(gate, "--list", source, "--json", str(tmp_path / "history.json")) == 0
    listed = capsys.readouterr().out.splitlines()
    rows = [line for line in listed if "[current]" in line]
    assert len(rows) == 2 and "reject" in rows[0] and "approve" in rows[1]  # newest first
    history = json.loads((tmp_path / "history.json").read_text())
    assert [s["decision"] for s in history["signoffs"]] == ["reject", "approve"]
    assert {s["status"] for s in history["signoffs"]} == {"current"}
    sha = hashlib.sha256(report.read_bytes()).hexdigest()
    assert all(s["report_sha256"] == sha for s in history["signoffs"])
    assert history["candidate"]["version"] == "2" and history["candidate"]["kind"] == "version"

    assert signoff(gate, "--report", str(report), "--decision", "approve", "--reviewer", "cy") == 0
    assert require()[0] == 0
    c.set_registered_model_alias(name, "champion", "3")  # the deployed model changes: the approval is stale
    code, out = require()
    assert code == 1 and "none bound to the models as they are now" in out
    capsys.readouterr()
    assert signoff(gate, "--list", source) == 0
    assert sum("[STALE]" in line for line in capsys.readouterr().out.splitlines()) == 3


def test_list_shows_the_checks_logged_with_log_to_mlflow(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = store.runs["3"]
    args = ["compare", "--repo", f"runs:/{run}/model", "--deployed", f"models:/{NAME}@champion", "--no-shap"]
    assert main([*args, "--tracking-uri", store.uri, "--log-to-mlflow", "--quiet", "--fail-on", "never"]) == 0
    verdict = client(store.uri).get_run(run).data.tags["modelgap.verdict"]
    capsys.readouterr()
    assert signoff(store, "--list", f"models:/{NAME}/3", "--json", str(tmp_path / "h.json")) == 0
    out = capsys.readouterr().out
    assert f"Check logged with --log-to-mlflow on run {run}" in out and f"verdict {verdict}" in out
    checks = json.loads((tmp_path / "h.json").read_text())["checks"]
    assert [(c["run_id"], c["verdict"], c["compared_with"]) for c in checks] == [
        (run, verdict, f"models:/{NAME}@champion")
    ]


def test_a_deployed_path_named_in_a_tag_is_never_loaded_by_list(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tags are other people's writing: --list re-resolves only models:/ and runs:/ sources named in them."""
    run = store.runs["3"]
    report = compare(store, tmp_path / "file-deployed.json", f"runs:/{run}/model", str(store.dir / "repo.skops"))
    assert signoff(store, "--report", str(report), "--decision", "approve", "--reviewer", "di") == 0
    capsys.readouterr()
    assert signoff(store, "--list", f"runs:/{run}/model", "--json", str(tmp_path / "h.json")) == 0
    assert "[unchecked]" in capsys.readouterr().out
    entries = json.loads((tmp_path / "h.json").read_text())["signoffs"]
    assert [(e["reviewer"], e["status"]) for e in entries] == [("di", "unknown")]


# ---------------------------------------------------------------- bad input: exit 2, one line, nothing written


def _bad_reports(tmp_path: Path, good: Path) -> dict[str, Path]:
    report = json.loads(good.read_text())
    files = {
        "not-json": "this is not json",
        "not-a-report": json.dumps({"name": "something else"}),
        "other-schema": json.dumps({**report, "schema_version": 2}),
        "no-fingerprint": json.dumps({**report, "deployed": {**report["deployed"], "sha256": None}}),
    }
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.json"
        out[name].write_text(text)
    return out


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("not-json", "not JSON"),
        ("not-a-report", "not a modelgap report"),
        ("other-schema", "schema_version 2"),
        ("no-fingerprint", "no SHA-256 for the deployed model"),
        ("missing", "Cannot read the report"),
        ("decision", "invalid choice: 'maybe'"),
        ("comment", f"at most {MAX_COMMENT}"),
        ("reviewer", "reviewer contains control characters"),
        ("role", "role contains control characters"),
        ("server-down", "Cannot reach the MLflow tracking server"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    store: Store, alias_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, needle: str
) -> None:
    bad = _bad_reports(tmp_path, alias_report)
    report, extra, uri = str(alias_report), ["--reviewer", "ann"], store.uri
    if case in bad:
        report = str(bad[case])
    elif case == "missing":
        report = str(tmp_path / "nope.json")
    elif case == "comment":
        extra += ["--comment", "x" * (MAX_COMMENT + 1)]
    elif case == "reviewer":
        extra = ["--reviewer", "ann\x1b[31m"]
    elif case == "role":
        extra += ["--role", "boss\r\nX-Injected: 1"]
    elif case == "server-down":
        uri = f"http://127.0.0.1:{free_port()}"
    decision = "maybe" if case == "decision" else "approve"
    before = snapshot(store.uri)
    capsys.readouterr()
    try:
        code = main(["signoff", "--report", report, "--decision", decision, *extra, "--tracking-uri", uri])
    except SystemExit as exit_:  # argparse refuses the decision itself, with the same one-line form
        code = int(exit_.code or 0)
    assert code == 2
    assert needle in one_line_error(capsys)
    assert snapshot(store.uri) == before


def test_signoff_modes_need_their_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signoff", "--report", "r.json"]) == 2
    assert "--report needs --decision" in one_line_error(capsys)
    assert main(["signoff", "--require", "approve"]) == 2
    assert "--require needs the candidate SOURCE" in one_line_error(capsys)
    with pytest.raises(SystemExit) as exit_:
        main(["signoff", "--decision", "approve"])
    assert exit_.value.code == 2
    assert "one of the arguments --report --list --require is required" in capsys.readouterr().err


# ---------------------------------------------------------------- the record itself


def test_a_record_round_trips_and_garbage_tags_are_not_records() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    record = SignoffRecord.create(
        decision="needs-changes",
        reviewer="Zoë Ñ",
        role=None,
        comment='quote " and newline\n ok',
        report_sha256=sha,
        repo_sha256=sha,
        deployed_sha256=sha,
        repo_source="models:/m/2",
        deployed_source="models:/m@champion",
        verdict="warn",
        at=at,
    )
    assert SignoffRecord.from_json(record.to_json()) == record
    assert record.at == "2026-01-02T03:04:05+00:00"
    assert tag_key(at) == "modelgap.signoff.20260102T030405.678901Z"
    for garbage in ("not json", "[]", json.dumps({**record.to_dict(), "decision": "maybe"})):
        with pytest.raises(SignoffError):
            SignoffRecord.from_json(garbage)
    with pytest.raises(SignoffError, match="report_sha256"):
        SignoffRecord.from_json(json.dumps({**record.to_dict(), "report_sha256": "abc"}))
    with pytest.raises(SignoffError, match="encoded"):  # characters that JSON escapes twice over
        SignoffRecord.create(**{**_kwargs(record), "comment": '"' * MAX_COMMENT, "repo_source": "m" * 1000, "at": at})
    long_source = "models:/" + "m" * 2000
    with pytest.raises(SignoffError, match="repo source"):
        SignoffRecord.create(**{**_kwargs(record), "repo_source": long_source, "at": at})


def _kwargs(record: SignoffRecord) -> dict[str, Any]:
    data = record.to_dict()
    data.pop("at")
    return data
