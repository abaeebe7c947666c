"""One vocabulary across the app and the reports, on the demo: the same title and status words, EVERY failing check
listed (counts and lists agree), the same settings count, friendly names, relative paths, download names; the
estimator-family headline; the same-artifact banner and what it skips.

Expected values come from outside the app: the verdict of a `python -m modelgap compare` subprocess (the CLI's
contract), the models' flat params compared with plain `!=`, and hand-written strings.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from modelgap import load_model, words
from modelgap.predictions.slices import find_slices, range_label
from modelgap.report import render_html, render_markdown

APP = Path(__file__).resolve().parent.parent / "app.py"
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300
_MISSING = object()


# ---------------------------------------------------------------- words, one at a time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("roc_auc", "ROC AUC"),
        ("log_loss", "Log loss"),
        ("r2", "R²"),
        ("some_metric", "some metric"),
    ],
)
def test_metric_names(value: str, expected: str) -> None:
    assert words.metric_name(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("different_snapshots", "different snapshots of the same source"),
        ("log_odds", "log-odds"),
        ("same_data", "the same data"),
        ("brand_new_enum", "brand new enum"),
    ],
)
def test_enums_in_words(value: str, expected: str) -> None:
    assert words.friendly(value) == expected


@pytest.mark.parametrize(
    ("name", "delta", "low", "high", "expected"),
    [
        ("log_loss", -0.066, -0.078, -0.055, "better"),  # lower is better: a negative change improves
        ("accuracy", -0.03, -0.04, -0.02, "worse"),
        ("roc_auc", 0.01, -0.01, 0.03, "no clear change"),  # the interval contains 0
        ("rmse", 0.5, None, None, "worse"),
        ("accuracy", 0.0, 0.0, 0.0, "no change"),
        ("mystery", 0.2, 0.1, 0.3, "higher"),  # direction unknown: say only which way it moved
    ],
)
def test_a_metric_change_is_read_by_its_direction(
    name: str, delta: float, low: float | None, high: float | None, expected: str
) -> None:
    assert words.change_reading(name, delta, low, high) == expected


def test_counted_summary_agrees_with_the_lists() -> None:
    checks = [{"status": "fail"}] * 4 + [{"status": "warn"}] * 3 + [{"status": "pass"}] * 2
    assert words.verdict_summary({"status": "fail", "checks": checks}) == (
        "4 checks fail the release policy; 3 more checks need a look."
    )
    one = [{"status": "fail"}, {"status": "pass"}]
    assert words.verdict_summary({"status": "fail", "checks": one}) == "1 check fails the release policy."
    assert words.verdict_summary({"status": "warn", "checks": [{"status": "warn"}]}).startswith("1 check needs")


def test_paths_are_relative_to_the_repository_or_only_the_file_name(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    inside = root / "models" / "m.skops"
    assert words.display_path(str(inside), root) == "models/m.skops"
    assert words.display_path("/srv/uploads/abc123/model.skops", root) == "model.skops"  # never the server's folders
    assert words.display_path("models:/credit-risk@champion", root) == "models:/credit-risk@champion"
    assert words.display_path(f"sqlite:///{root}/mlflow.db", root) == "sqlite:///mlflow.db"
    assert words.display_path("relative/path.csv", root) == "relative/path.csv"
    assert words.relative_paths(f"read {root}/data/x.csv and {root}", root) == "read data/x.csv and ."
    assert words.repository_root(str(root / "models")) == root.resolve()


@pytest.mark.parametrize(
    ("source", "short"),
    [
        ("/work/main/.modelgap/demo/repo_model", "repo-model"),
        ("models:/credit-risk@champion", "credit-risk-champion"),
        ("models:/credit-risk/2", "credit-risk-v2"),
        ("runs:/0123456789abcdef/model", "run-01234567"),
        ("git:HEAD~1:models/model.skops", "model-head-1"),
        ("https://scoring.example.com:8443/invocations", "endpoint-scoring-example-com-8443"),
        ("C:\\models\\Fraud Model.joblib", "fraud-model"),
    ],
)
def test_download_names_carry_both_models_and_the_day(source: str, short: str) -> None:
    assert words.short_name(source) == short
    name = words.download_name(source, "models:/credit-risk@champion", "html", when=date(2026, 3, 9))
    assert name == f"modelgap_{short}_vs_credit-risk-champion_20260309.html"
    assert re.fullmatch(r"modelgap_[a-z0-9-]+_vs_[a-z0-9-]+_\d{8}\.html", name)


def test_numbers_read_the_same_on_every_page() -> None:
    assert words.format_value(76300.0) == words.format_value(np.int64(76300)) == "76,300"
    assert words.format_value(232736.38) == "232,736.38"
    assert words.format_value(np.float64("nan")) == words.format_value(None) == "(missing)"
    assert words.format_value("North") == "North"


# ---------------------------------------------------------------- slice labels


def test_interval_bounds_have_no_thousands_separators() -> None:
    assert range_label(127475.2, 454212.0, first=False) == "(127475, 454212]"
    assert range_label(0.39712, 0.9512, first=True) == "[0.3971, 0.9512]"


def test_a_whole_number_columns_slices_are_named_by_the_numbers_they_hold() -> None:
    assert range_label(3.0, 4.0, first=False, integer=True) == "4"
    assert range_label(3.0, 7.0, first=False, integer=True) == "[4, 7]"
    assert range_label(2.5, 3.5, first=False, integer=True) == "3"
    assert range_label(0.0, 2.0, first=True, integer=True) == "[0, 2]"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"n": rng.integers(0, 12, 3000), "x": rng.normal(1e5, 3e4, 3000)})
    disagree = ((frame["n"] == 4) | (rng.uniform(size=3000) < 0.05)).to_numpy()
    slices = find_slices(frame, disagree, limit=None)
    for s in (s for s in slices if s.column == "n" and s.kind == "range"):
        assert s.low is not None and s.high is not None
        held = sorted({int(v) for v in frame["n"] if (s.low <= v if s.closed_low else s.low < v) and v <= s.high})
        # the label names exactly the whole numbers the slice holds (checked on the data, not on the edges)
        assert s.label == (str(held[0]) if len(held) == 1 else f"[{held[0]}, {held[-1]}]"), s
        assert s.condition == (f"n = {s.label}" if len(held) == 1 else f"n in {s.label}")
        assert s.n_rows == int(frame["n"].isin(held).sum())
    four = [s for s in slices if s.column == "n" and s.label == "4"]
    assert four and four[0].n_rows == int((frame["n"] == 4).sum())
    for s in (s for s in slices if s.column == "x" and s.kind == "range"):
        assert "," in s.label and not re.search(r"\d,\d{3}", s.label)  # "(127475, 454212]", never "127,475"


# ---------------------------------------------------------------- the demo: CLI reports and the app


def compare(demo: Any, deployed: str, out: Path, *extra: str) -> dict[str, Any]:
    """`python -m modelgap compare` in a subprocess, absolute paths in: its JSON, Markdown and HTML reports."""
    out.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "modelgap",
        "compare",
        "--repo",
        str(Path(demo.repo_model_dir).resolve()),
        "--deployed",
        deployed,
        "--tracking-uri",
        demo.tracking_uri,
        "--data",
        str(Path(demo.sample_path).resolve()),
        "--target",
        demo.target,
        "--json",
        str(out / "r.json"),
        "--markdown",
        str(out / "r.md"),
        "--html",
        str(out / "r.html"),
        "--fail-on",
        "never",
        "--quiet",
        *extra,
    ]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {
        "repo_dir": str(demo.repo_model_dir),
        "report": json.loads((out / "r.json").read_text()),
        "markdown": (out / "r.md").read_text(),
        "html": (out / "r.html").read_text(),
    }


@pytest.fixture(scope="module")
def demo(demo_workspace: Any) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELGAP_DEMO_DIR", str(demo_workspace.directory))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MODELGAP_ALLOWED_DIRS", raising=False)
        yield demo_workspace


@pytest.fixture(scope="module")
def champion(demo: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compare(demo, demo.deployed_source, tmp_path_factory.mktemp("champion"))


@pytest.fixture(scope="module")
def app(demo: Any) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_html(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def listed(text: str, status: str) -> list[str]:
    """The checks a verdict panel lists with `status`, in order."""
    return re.findall(rf'data-reason="([^"]+)" data-status="{status}"', text)


def test_the_verdict_panels_list_every_failing_check(app: AppTest, champion: dict[str, Any]) -> None:
    checks = champion["report"]["verdict"]["checks"]
    fails = [c["name"] for c in checks if c["status"] == "fail"]
    warns = [c["name"] for c in checks if c["status"] == "warn"]
    assert len(fails) == 4  # the demo's four failures, the fourth being the importance order
    assert "importance_rank_correlation" in fails
    overview = page_html(app)
    assert listed(overview, "fail") == fails  # 4 of 4, in the verdict's order
    assert listed(overview, "warn") == warns[: words.WARNINGS_SHOWN]
    assert f'data-fails="{len(fails)}" data-warns="{len(warns)}"' in overview
    assert "4 checks fail the release policy" in overview and "… and" not in overview
    app.switch_page("pages/report.py").run()
    assert not app.exception
    assert listed(page_html(app), "fail") == fails
    # the Markdown and HTML reports list the same four, under the same count
    titles = [c["title"] for c in checks if c["status"] == "fail"]
    md_section = champion["markdown"].split("### ❌ Failing checks (4)")[1].split("###")[0]
    assert [t for t in titles if f"**{t}:**" in md_section.replace("\\", "")] == titles
    html_fails = champion["html"].split("Failing checks (4)</h3>")[1].split("</ul>")[0]
    assert html_fails.count("<li>") == 4 and all(t in html_fails for t in titles)


def test_app_and_reports_share_the_title_and_the_status_words(app: AppTest, champion: dict[str, Any]) -> None:
    app.switch_page("pages/overview.py").run()
    status = champion["report"]["verdict"]["status"]
    assert status == "fail"
    assert [t.value for t in app.title] == [words.TITLE]
    overview = page_html(app)
    assert "Not ready to release" in overview and ">FAIL<" in overview
    assert champion["markdown"].splitlines()[0] == f"## {words.TITLE}"
    assert "**❌ FAIL · Not ready to release**" in champion["markdown"]
    assert f"<h1>{words.TITLE}</h1>" in champion["html"] and "FAIL</span> Not ready to release" in champion["html"]
    for text in (overview, champion["markdown"], champion["html"]):
        assert "Ready with caveats" not in text and "release check: FAIL" not in text


def test_settings_are_counted_the_same_everywhere(app: AppTest, demo: Any, champion: dict[str, Any]) -> None:
    repo = load_model(str(demo.repo_model_dir)).params or {}
    other = load_model(demo.deployed_source, tracking_uri=demo.tracking_uri).params or {}
    differ = [k for k in set(repo) | set(other) if repo.get(k, _MISSING) != other.get(k, _MISSING)]

    def structural(name: str, params: dict[str, Any]) -> bool:
        return name.split("__")[-1] in ("steps", "transformers") or any(k.startswith(name + "__") for k in params)

    pipeline = [k for k in differ if structural(k, repo) or structural(k, other)]
    n_hyper, n_pipe = len(differ) - len(pipeline), len(pipeline)
    assert (n_hyper, n_pipe) == (3, 1)  # the "4 = 3 hyperparameters + 1 pipeline change"
    app.switch_page("pages/overview.py").run()
    [card] = [m for m in app.metric if m.label == "Settings changed"]
    assert card.value == "4" and card.proto.delta == "3 hyperparameters, 1 pipeline change"
    assert "| Settings changed | 4 (3 hyperparameters, 1 pipeline change) |" in champion["markdown"]
    assert "Hyperparameters that differ" not in champion["markdown"]
    app.switch_page("pages/parameters.py").run()
    assert not app.exception
    tabs = [t.label for t in app.tabs]
    assert f"Hyperparameters ({n_hyper})" in tabs and f"Pipeline structure ({n_pipe})" in tabs


def test_reports_use_friendly_names_repo_first_and_no_server_paths(champion: dict[str, Any]) -> None:
    md, html = champion["markdown"], champion["html"]
    for text in (md, html):
        assert str(ROOT) not in text  # absolute paths went in; the reports name them from the repository
        assert "ROC AUC" in text and "roc\\_auc" not in text and ">roc_auc<" not in text
        assert "different snapshots of the same source" in text and "different\\_snapshots" not in text
    repo = Path(champion["repo_dir"]).resolve()
    shown = repo.relative_to(ROOT).as_posix() if repo.is_relative_to(ROOT) else repo.name
    assert f"`{shown}`" in md and f"{shown} vs " in html
    assert "| setting | repo | deployed |" in md  # repo before deployed
    assert "| Log loss | " in md and " | better |" in md  # a lower log loss reads as better
    assert "output: log-odds" in html


def test_the_overview_importance_table_puts_repo_first(app: AppTest, champion: dict[str, Any]) -> None:
    app.switch_page("pages/overview.py").run()
    [table] = [t for t in app.table if "Input column" in t.value.columns]
    shown = table.value
    assert list(shown.columns) == ["Input column", "Rank, repo · deployed", "Importance, repo", "Importance, deployed"]
    # Each row against the CLI's JSON report of the same pair (another process): repo's rank and importance first.
    features = {f["feature"]: f for f in champion["report"]["explanations"]["features"]}
    assert len(shown) >= 1
    for _, row in shown.iterrows():
        f = features[row["Input column"]]
        assert row["Rank, repo · deployed"] == f"{f['repo_rank']} · {f['deployed_rank']}"
        assert row["Importance, repo"] == pytest.approx(f["repo_importance"], abs=1e-9)
        assert row["Importance, deployed"] == pytest.approx(f["deployed_importance"], abs=1e-9)
    assert not app.dataframe or all("ranks" not in d.value.columns for d in app.dataframe)  # no grid for 3 rows


# ---------------------------------------------------------------- another estimator family


def test_an_estimator_family_change_is_the_headline(demo: Any, tmp_path: Path) -> None:
    v1 = f"models:/{demo.model_name}/1"  # the demo's logistic regression
    repo = load_model(str(demo.repo_model_dir)).params or {}
    other = load_model(v1, tracking_uri=demo.tracking_uri).params or {}
    assert repo["classifier"] != other["classifier"]
    differ = {k for k in set(repo) | set(other) if repo.get(k, _MISSING) != other.get(k, _MISSING)}
    estimators = {k for k in differ if k == "classifier" or k.startswith("classifier__") or k == "steps"}
    rest = differ - estimators
    assert len(estimators) >= 28 and rest == {"preprocess__num__impute__strategy", "preprocess__transformers"}

    out = compare(demo, v1, tmp_path, "--no-shap")
    md = out["markdown"].replace("\\", "")
    assert "> **Estimator family changed:** GradientBoostingClassifier (repo) replaces LogisticRegression" in md
    table = md.split("| setting | repo | deployed |")[1].split("\n\n")[0]
    assert {line.split(" | ")[0].strip("| ") for line in table.splitlines()[2:]} == rest  # the main list
    assert (
        "Estimator family changed" in out["html"]
        and f"({len(estimators)} settings of the two estimators)" in (out["html"])
    )

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(
        repo=str(demo.repo_model_dir),
        deployed=v1,
        data=str(demo.sample_path),
        target=demo.target,
        uri=demo.tracking_uri,
        shap="0",
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Estimator family changed" in w.value and "GradientBoostingClassifier" in w.value for w in at.warning)
    at.switch_page("pages/parameters.py").run()
    assert not at.exception
    assert any("Estimator family changed" in w.value for w in at.warning)
    names = [set(d.value["Name"]) for d in at.dataframe if "Name" in d.value.columns]
    main = [n for n in names if n & rest]
    owned = [n for n in names if n & estimators]
    assert main and all(not (n & estimators) for n in main)  # the main tables hold none of the estimators' own
    assert set().union(*owned) == estimators  # every one of them under the headline's expander


# ---------------------------------------------------------------- one artifact twice


def test_the_same_artifact_twice_says_so_and_explains_once(demo: Any, champion: dict[str, Any], tmp_path: Path) -> None:
    from modelgap.comparison import CompareOptions, run_comparison
    from modelgap.same_artifact import NOTE

    repo = str(demo.repo_model_dir)
    twin = run_comparison(
        load_model(repo),
        load_model(repo),
        data_path=demo.sample_path,
        options=CompareOptions(target=demo.target, shap_rows=100),
    )
    explained = twin.sections["explanations"]
    assert explained.repo is explained.deployed  # SHAP ran once; the deployed side is that same result
    assert NOTE in twin.notes

    out = compare(demo, repo, tmp_path, "--shap-rows", "100")
    report = out["report"]
    assert set(report) - {"notes"} == set(champion["report"]) - {"notes"}  # every section's key is still there
    assert set(report["explanations"]) == set(champion["report"]["explanations"])
    assert report["parameters"]["same_artifact"] is True and NOTE in report["notes"]
    assert report["predictions"]["n_disagreements"] == 0 and report["explanations"]["rank_correlation"] == 1.0
    for f in report["explanations"]["features"]:
        assert f["repo_importance"] == f["deployed_importance"]
    assert all(m["delta"] == 0 for m in report["metrics"].values() if isinstance(m, dict) and "delta" in m)
    assert "> **Same artifact:**" in out["markdown"] and "no further difference is possible" in out["markdown"]
    assert (
        'class="note same"' in out["html"]
        and NOTE in render_html(report)
        and "Same artifact" in render_markdown(report)
    )

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(repo=repo, deployed=repo, data=str(demo.sample_path), target=demo.target, shap="50")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Same artifact" in s.value and "no further difference is possible" in s.value for s in at.success)


# ---------------------------------------------------------------- many warnings fold away, failures never


def crafted_verdict(n_fail: int, n_warn: int) -> dict[str, Any]:
    checks = [
        {"name": f"f{i}", "title": f"Failing {i}", "status": "fail", "message": f"fails {i}", "page": "predictions"}
        for i in range(n_fail)
    ]
    checks += [
        {"name": f"w{i}", "title": f"Warning {i}", "status": "warn", "message": f"warns {i}", "page": "data"}
        for i in range(n_warn)
    ]
    checks.append({"name": "p", "title": "Passing", "status": "pass", "message": "fine"})
    return {"status": "fail" if n_fail else "warn", "checks": checks}


def test_reports_list_every_failure_and_fold_warnings_beyond_five() -> None:
    verdict = crafted_verdict(7, 8)
    report = {"schema_version": 1, "repo": {"source": "a"}, "deployed": {"source": "b"}, "verdict": verdict}
    md = render_markdown(report)
    fails = md.split("### ❌ Failing checks (7)")[1].split("###")[0]
    assert [f"Failing {i}" for i in range(7) if f"**Failing {i}:**" in fails] == [f"Failing {i}" for i in range(7)]
    warns = md.split("### ⚠️ Warnings (8)")[1]
    shown, folded = warns.split("<details><summary>3 more warnings</summary>")
    assert all(f"**Warning {i}:**" in shown for i in range(5)) and "Warning 5" not in shown
    assert all(f"**Warning {i}:**" in folded.split("</details>")[0] for i in range(5, 8))
    assert "7 checks fail the release policy; 8 more checks need a look." in md
    html = render_html(report)
    assert html.count('<span class="badge fail">FAIL</span> <strong>Failing') == 7
    folded_html = html.split('<details class="more"><summary>3 more warnings</summary>')[1].split("</details>")[0]
    assert [i for i in range(8) if f"Warning {i}:" in folded_html] == [5, 6, 7]


def panel_script() -> None:
    import streamlit as st

    from components import report_view

    # the checks name no page, so each would link to the Report page: drawn "here", without a page link (a script
    # run on its own has no pages to link to)
    report_view.verdict_panel(st.session_state["verdict"], {}, here="pages/report.py")


def test_the_app_panel_lists_every_failure_and_folds_warnings_beyond_five() -> None:
    at = AppTest.from_function(panel_script, default_timeout=60)
    verdict = crafted_verdict(7, 8)
    for c in verdict["checks"]:
        c.pop("page", None)
    at.session_state["verdict"] = verdict
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = page_html(at)
    assert listed(text, "fail") == [f"f{i}" for i in range(7)]  # every failure, never folded
    assert 'data-fails="7" data-warns="8"' in text and "7 checks fail the release policy" in text
    [expander] = at.expander
    assert expander.label == "3 more warnings"
    inside = "\n".join(str(m.value) for m in expander.markdown)
    assert listed(inside, "warn") == ["w5", "w6", "w7"]
    assert listed(text, "warn") == [f"w{i}" for i in range(8)]  # the first five above it, the rest inside
