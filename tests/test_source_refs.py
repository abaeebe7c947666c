"""`parse_source`: every form of source string, and the malformed ones, each with a message naming the fix.

Also checks that the loader and the app's pickers read a string the way `parse_source` does: `load_model`
refuses a malformed string with the same message before touching anything, and `pickers.describe` pre-fills
the widgets from the parsed parts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelgap.errors import SourceError
from modelgap.sources import load_model
from modelgap.sources.refs import GitRevisionSource, ModelsUri, RunUri, SourceRef, parse_source, source_kind

# text -> the SourceRef it parses to
GOOD = {
    "models:/credit@champion": SourceRef(
        "registry", "models:/credit@champion", registry=ModelsUri("credit", alias="champion")
    ),
    "models:/credit/3": SourceRef("registry", "models:/credit/3", registry=ModelsUri("credit", version="3")),
    "models:/a/b/12": SourceRef("registry", "models:/a/b/12", registry=ModelsUri("a/b", version="12")),
    "models:/credit/Production": SourceRef(
        "registry", "models:/credit/Production", registry=ModelsUri("credit", stage="Production")
    ),
    "models:/m-0a1b2c": SourceRef("registry", "models:/m-0a1b2c", registry=ModelsUri("", logged_model_id="m-0a1b2c")),
    "runs:/abc123/model": SourceRef("run", "runs:/abc123/model", run=RunUri("abc123", "model")),
    "runs:/abc123/nested/dir/model": SourceRef(
        "run", "runs:/abc123/nested/dir/model", run=RunUri("abc123", "nested/dir/model")
    ),
    "git:HEAD~1:models/model.skops": SourceRef(
        "git", "git:HEAD~1:models/model.skops", git=GitRevisionSource("HEAD~1", "models/model.skops")
    ),
    "git:v1.2:/a//b.skops": SourceRef("git", "git:v1.2:/a//b.skops", git=GitRevisionSource("v1.2", "a/b.skops")),
    "http://localhost:5001/invocations": SourceRef("endpoint", "http://localhost:5001/invocations"),
    "https://scoring.example.com/invocations": SourceRef("endpoint", "https://scoring.example.com/invocations"),
    "models/model.skops": SourceRef("local", "models/model.skops"),
    "/abs/path/mlflow_model": SourceRef("local", "/abs/path/mlflow_model"),
    "C:model.joblib": SourceRef("local", "C:model.joblib"),
}


@pytest.mark.parametrize("text", list(GOOD))
def test_each_form_parses_to_its_kind_and_parts(text: str) -> None:
    assert parse_source(text) == GOOD[text]
    assert parse_source(f"  {text}\n") == GOOD[text]  # surrounding blanks are not part of the source
    assert source_kind(text) == GOOD[text].kind


def test_a_registry_reference_reads_back() -> None:
    refs = {t: parse_source(t).registry for t in ("models:/m@prod", "models:/m/4", "models:/m/staging", "models:/m-ff")}
    assert {t: r.reference for t, r in refs.items() if r is not None} == {
        "models:/m@prod": "@prod",
        "models:/m/4": "4",
        "models:/m/staging": "staging",
        "models:/m-ff": "",
    }


# text -> words the one-line message must contain (the problem and the form to use)
BAD = {
    "": ["source is empty", "runs:/"],
    "   ": ["source is empty", "git:<rev>:<path>"],
    "ftp://example.com/model.skops": ["Unknown model source form", "http(s)://host/invocations"],
    "s3://bucket/model": ["Unknown model source form", "models:/<name>@<alias>"],
    "runs:/": ["Cannot parse run URI", "runs:/<run_id>/<artifact path>"],
    "runs:/abc123": ["Cannot parse run URI", "runs:/<run_id>/<artifact path>"],
    "runs:/abc-123/model": ["Cannot parse run URI"],
    "models:/": ["Cannot parse model URI", "models:/<name>@<alias>"],
    "models:/credit": ["Cannot parse model URI", "models:/<name>/<version>"],
    "models:/credit@": ["Cannot parse model URI"],
    "models:/@champion": ["Cannot parse model URI"],
    "models:/credit@a/b": ["Cannot parse model URI"],
    "models:/credit/latestish": ["Cannot parse model URI", "models:/<name>/<stage>"],
    "git:HEAD": ["Cannot parse git source", "git:<revision>:<path>"],
    "git::model.skops": ["Cannot parse git source"],
    "git:HEAD:": ["Cannot parse git source"],
    "git:--output=x:model.skops": ["is not a git revision", "HEAD~N"],
    "http://": ["names no host", "http(s)://host:port/invocations"],
    "https:///invocations": ["names no host"],
    "http://host:port/invocations": ["Cannot parse endpoint URL", "http(s)://host:port/invocations"],
}


@pytest.mark.parametrize("text", list(BAD))
def test_malformed_strings_are_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_source(text)
    message = caught.value.one_line()
    assert "\n" not in message
    for words in BAD[text]:
        assert words in message, message


def test_credentials_in_a_bad_url_stay_out_of_the_message() -> None:
    with pytest.raises(SourceError) as caught:
        parse_source("https://ann:s3cr3t-token@host:notaport/invocations")
    assert "s3cr3t-token" not in caught.value.one_line()


@pytest.mark.parametrize("text", ["runs:/abc123", "models:/credit", "git:HEAD", "http://", "ftp://x/y", " "])
def test_the_loader_refuses_what_the_parser_refuses_with_the_same_message(text: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as parsed:
        parse_source(text)
    with pytest.raises(SourceError) as loaded:
        load_model(text, tracking_uri=(tmp_path / "no-store").as_uri())
    assert loaded.value.one_line() == parsed.value.one_line()
    assert not (tmp_path / "no-store").exists()  # refused before any store was created or asked


def test_the_pickers_prefill_from_the_parsed_parts() -> None:
    from components.pickers import describe

    assert describe("models:/credit@champion") == {"kind": "registry", "model": "credit", "ref": "@champion"}
    assert describe(" models:/a/b/12 ") == {"kind": "registry", "model": "a/b", "ref": "12"}
    assert describe("models:/credit/Staging") == {"kind": "registry", "model": "credit", "ref": "Staging"}
    assert describe("runs:/abc123/nested/model") == {"kind": "run", "run": "abc123", "artifact": "nested/model"}
    assert describe("git:HEAD~1:model.skops") == {"kind": "git", "git": "git:HEAD~1:model.skops"}
    assert describe("http://localhost:5001/invocations") == {
        "kind": "endpoint",
        "endpoint": "http://localhost:5001/invocations",
    }
    assert describe("models/model.skops") == {"kind": "local", "path": "models/model.skops"}
    # what has no picker of its own, or cannot be parsed, goes to the plain text field as typed
    for text in ("models:/m-0a1b", "models:/credit", "runs:/abc123", "git:HEAD", "http://", "ftp://x/y"):
        assert describe(text) == {"kind": "text", "text": text}, text


def test_a_sign_off_reads_a_run_uri_as_the_loader_does() -> None:
    from modelgap.signoff.record import SignoffError
    from modelgap.signoff.target import resolve_candidate

    with pytest.raises(SignoffError) as caught:
        resolve_candidate("runs:/abc-123/model", None)
    with pytest.raises(SourceError) as parsed:
        parse_source("runs:/abc-123/model")
    assert caught.value.one_line() == parsed.value.one_line()
