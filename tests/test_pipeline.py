"""The pipeline (modelgap/pipeline.py): the builders' order, and the one place a section's failure is caught."""

from __future__ import annotations

from typing import Any

import pytest

from modelgap.errors import DataError, PolicyError
from modelgap.pipeline import check_order, run_pipeline, run_section, section_builders


class _Comparison:
    """What run_section touches of a Comparison: its errors."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}


def _quiet(_message: str, _fraction: float) -> None:
    return None


def test_the_order_is_predictions_first_and_verdict_last() -> None:
    names = [name for name, _ in section_builders()]
    assert names[0] == "predictions" and names[-1] == "verdict" and len(set(names)) == len(names)
    build = section_builders()[0][1]
    for bad in (["metrics", "predictions", "verdict"], ["predictions", "verdict", "data"], ["predictions", "data"]):
        with pytest.raises(RuntimeError, match="out of order"):
            check_order([(name, build) for name in bad])
    with pytest.raises(RuntimeError, match="out of order"):
        check_order([("predictions", build), ("data", build), ("data", build), ("verdict", build)])


def test_a_failure_is_recorded_once_as_one_redacted_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELGAP_DEBUG", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cr3t-token")
    comparison: Any = _Comparison()

    def known(_c: Any, _p: Any) -> None:
        raise DataError("No labelled rows.", "Check --target.")

    def unexpected(_c: Any, _p: Any) -> None:
        raise ValueError("bad\nvalue from https://user:pw@host/x with s3cr3t-token " + "x" * 400)

    run_section(comparison, "metrics", known, _quiet)
    run_section(comparison, "data", unexpected, _quiet)
    assert comparison.errors["metrics"] == "No labelled rows. Check --target."
    text = comparison.errors["data"]
    assert text.startswith("unexpected ValueError: bad value from https://***@host/x with ***")
    assert "\n" not in text and "s3cr3t" not in text and "pw@" not in text
    assert len(text) <= len("unexpected ValueError: ") + 300

    monkeypatch.setenv("MODELGAP_DEBUG", "1")  # a developer's run raises the unexpected, still records the known
    with pytest.raises(ValueError):
        run_section(comparison, "parity", unexpected, _quiet)
    run_section(comparison, "retraining", known, _quiet)
    assert "parity" not in comparison.errors and "retraining" in comparison.errors


def test_predictions_and_verdict_raise_and_a_cancel_propagates() -> None:
    comparison: Any = _Comparison()

    def policy(_c: Any, _p: Any) -> None:
        raise PolicyError("Bad policy file.", "Fix it.")

    for name in ("predictions", "verdict"):
        with pytest.raises(PolicyError):
            run_section(comparison, name, policy, _quiet)

    class Cancelled(Exception):
        pass

    def cancel(_message: str, _fraction: float) -> None:
        raise Cancelled

    def reports(_c: Any, progress: Any) -> None:
        try:
            progress("working", 0.5)
        except Cancelled as exc:  # a builder that wraps whatever its progress callback raised
            raise DataError("Stopped.") from exc

    with pytest.raises(DataError, match="Stopped"):
        run_section(comparison, "explanations", reports, cancel)
    assert comparison.errors == {}


def test_run_pipeline_runs_in_order_and_goes_on_after_a_failure() -> None:
    comparison: Any = _Comparison()
    ran: list[str] = []

    def ok(name: str) -> Any:
        return lambda _c, _p: ran.append(name)

    def broken(_c: Any, _p: Any) -> None:
        ran.append("data")
        raise DataError("Unreadable training data.")

    seen: list[tuple[str, float]] = []
    builders = [("predictions", ok("predictions")), ("data", broken), ("verdict", ok("verdict"))]
    run_pipeline(comparison, lambda m, f: seen.append((m, f)), builders)
    assert ran == ["predictions", "data", "verdict"]
    assert comparison.errors == {"data": "Unreadable training data."}
    assert seen[0] == ("Computing predictions", 0.0) and seen[-1] == ("Done", 1.0)
