"""`python -m modelgap ...`: the contract scripts and CI rely on (DESIGN.md, "Comparison contract").

Exit codes: 0 compared and the verdict is below --fail-on; 1 compared and it reached --fail-on;
2 could not compare: one line on stderr naming the problem and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from modelgap.errors import ModelgapError

EXIT_OK, EXIT_GATE, EXIT_ERROR = 0, 1, 2
SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line naming the problem and the fix, like every other error of ours.
        self.exit(EXIT_ERROR, f"modelgap: error: {message} (see `python -m modelgap {self._sub()} --help`)\n")

    def _sub(self) -> str:
        return self.prog.split()[-1] if " " in self.prog else ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelgap", description="Compare the model in your repository with the deployed one.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    cmp = sub.add_parser("compare", help="compare a repo model with a deployed model")
    cmp.add_argument("--repo", required=True, help="repo model source (path, runs:/, models:/, git:<rev>:<path>)")
    cmp.add_argument("--deployed", required=True, help="deployed model source (models:/..., URL, path)")
    cmp.add_argument("--data", help="sample data file (CSV or Parquet)")
    cmp.add_argument("--target", help="label column in the data (enables metrics and flips)")
    cmp.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI)")
    cmp.add_argument("--tolerance", type=float, help="regression: |repo - deployed| above this disagrees")
    cmp.add_argument("--shap-rows", type=int, default=1000, help="rows explained with SHAP (default 1000)")
    cmp.add_argument("--no-shap", action="store_true", help="skip explanations")
    cmp.add_argument("--policy", help="readiness policy TOML (default: ./modelgap.toml if present)")
    cmp.add_argument("--engine", choices=["pandas", "spark"], default="pandas")
    cmp.add_argument("--max-rows", type=int, help="read at most this many data rows")
    cmp.add_argument("--top", type=int, default=20, help="rows listed in predictions.top (default 20)")
    cmp.add_argument("--json", dest="json_path", help="write the JSON report here")
    cmp.add_argument("--markdown", dest="markdown_path", help="write the Markdown report here")
    cmp.add_argument("--html", dest="html_path", help="write the self-contained HTML report here")
    cmp.add_argument("--fail-on", choices=["fail", "warn", "never"], default="fail")
    cmp.add_argument("--deployed-meta", help="registry entry describing an endpoint (models:/name@alias)")
    cmp.add_argument("--repo-training-data", help="the repo model's training data (CSV/Parquet), for drift")
    cmp.add_argument("--deployed-training-data", help="the deployed model's training data (CSV/Parquet)")
    cmp.add_argument("--log-to-mlflow", action="store_true", help="record the report on the repo model's run")
    cmp.add_argument("--quiet", action="store_true", help="print nothing but errors")

    demo = sub.add_parser("demo", help="build the demo workspace (idempotent)")
    demo.add_argument("--dir", help="where to build it (default .modelgap/demo)")
    demo.add_argument("--force", action="store_true", help="rebuild even if complete")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        if args.command == "compare":
            return _compare(args)
        if args.command == "demo":
            return _demo(args)
    except ModelgapError as err:
        print(f"modelgap: error: {err.one_line()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("modelgap: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the contract is one line, never a traceback
        if os.environ.get("MODELGAP_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:300]
        print(
            f"modelgap: error: unexpected {type(exc).__name__}: {text} (set MODELGAP_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_ERROR


def _quiet_libraries() -> None:
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "urllib3", "shap", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # mlflow sets its loggers' level when it is imported (after this): its own variables keep it quiet, also in
    # Spark's Python workers (the Spark engine saves pyfunc wrappers and loads them with spark_udf)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _compare(args: argparse.Namespace) -> int:
    from modelgap.comparison import CompareOptions, run_comparison
    from modelgap.report import write_json
    from modelgap.sources import load_model
    from modelgap.summary import summary_lines

    _check_output_paths(args)
    _check_deployed_meta(args)
    from modelgap.readiness import load_policy

    load_policy(args.policy)  # a bad policy fails now (exit 2), not after loading and comparing two models
    options = CompareOptions(
        target=args.target,
        tolerance=args.tolerance,
        shap_rows=args.shap_rows,
        no_shap=args.no_shap,
        top_n=args.top,
        max_rows=args.max_rows,
        policy_path=args.policy,
        engine=args.engine,
        extra={
            "deployed_meta": args.deployed_meta,
            "tracking_uri": args.tracking_uri,
            "repo_training_data": args.repo_training_data,
            "deployed_training_data": args.deployed_training_data,
        },
    )
    local_data = bool(args.data) and not (args.engine == "spark" and _spark_only_source(args.data))
    if local_data:
        from modelgap.tables import check_table

        check_table(args.data)  # a bad data file fails in a second, not after loading two models
    from modelgap.sources.endpoint import EndpointOptions, probe_rows

    # An endpoint learns what it returns from a few sample rows; --deployed-meta names what it serves.
    probe = probe_rows(args.data, target=args.target) if local_data else None
    repo = load_model(args.repo, tracking_uri=args.tracking_uri, endpoint_options=EndpointOptions(probe=probe))
    deployed = load_model(
        args.deployed,
        tracking_uri=args.tracking_uri,
        endpoint_options=EndpointOptions(deployed_meta=args.deployed_meta, probe=probe),
    )
    comparison = run_comparison(repo, deployed, data_path=args.data, options=options)
    if args.json_path:
        write_json(comparison, args.json_path)
    _write_optional_reports(comparison, args)
    if not args.quiet:
        print("\n".join(summary_lines(comparison)))
    return _exit_code(comparison, args.fail_on)


def _spark_only_source(data: str) -> bool:
    """A catalog table (db.table) or a cluster URI (s3a://, hdfs://): only Spark reads it, when it compares.
    A name ending like a data file (data.parquet) is a file, checked now like any other."""
    from modelgap.spark.frames import is_table_name

    file_like = Path(data).suffix.lower() in (".parquet", ".pq", ".csv", ".tsv", ".txt")
    return "://" in data or (is_table_name(data) and not file_like)


def _write_optional_reports(comparison: Any, args: argparse.Namespace) -> None:
    """Markdown/HTML reports and write-back come from the readiness work; see modelgap.report."""
    if args.markdown_path or args.html_path:
        from modelgap.report import write_html, write_markdown  # type: ignore[attr-defined,unused-ignore]

        if args.markdown_path:
            write_markdown(comparison, args.markdown_path)
        if args.html_path:
            write_html(comparison, args.html_path)
    if args.log_to_mlflow:
        from modelgap.writeback import log_to_mlflow  # type: ignore[import-not-found,unused-ignore]

        log_to_mlflow(comparison, tracking_uri=args.tracking_uri)


def _check_output_paths(args: argparse.Namespace) -> None:
    """Fail before the (slow) comparison when a report could not be written anyway."""
    for flag, value in (("--json", args.json_path), ("--markdown", args.markdown_path), ("--html", args.html_path)):
        if value and not Path(value).expanduser().resolve().parent.is_dir():
            raise ModelgapError(f"The folder for {flag} {value} does not exist.", "Create it or pick another path.")


def _check_deployed_meta(args: argparse.Namespace) -> None:
    """--deployed-meta names what a scoring endpoint serves: refuse it for any other deployed source."""
    from modelgap.sources import source_kind

    if args.deployed_meta and source_kind(args.deployed) != "endpoint":
        raise ModelgapError(
            f"--deployed-meta {args.deployed_meta} describes a scoring endpoint, but --deployed {args.deployed} "
            "is not one (an http(s)://host:port/invocations URL).",
            "Drop --deployed-meta, or pass the endpoint's URL as --deployed.",
        )


def _exit_code(comparison: Any, fail_on: str) -> int:
    verdict = comparison.sections.get("verdict")
    if verdict is None or fail_on == "never":
        return EXIT_OK
    status = verdict.status if hasattr(verdict, "status") else verdict["status"]
    return EXIT_GATE if SEVERITY[status] >= SEVERITY[fail_on] else EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from modelgap.demo import DEFAULT_DEMO_DIR, build_demo

    directory = Path(args.dir) if args.dir else DEFAULT_DEMO_DIR
    workspace = build_demo(directory, force=args.force, progress=lambda msg: print(msg, file=sys.stderr))
    print(f"Demo workspace ready in {workspace.directory}")
    print(f"  tracking URI : {workspace.tracking_uri}")
    print(f"  repo model   : {workspace.repo_model_dir}")
    print(f"  deployed     : models:/{workspace.model_name}@champion")
    print(f"  sample data  : {workspace.sample_path} (target: {workspace.target})")
    return EXIT_OK
