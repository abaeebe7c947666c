"""`python -m modelgap ...`: the contract scripts and CI rely on (DESIGN.md, "Comparison contract").

Exit codes: 0 compared and the verdict is below --fail-on; 1 compared and it reached --fail-on;
2 could not compare: one line on stderr naming the problem and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from modelgap.comparison import Comparison
from modelgap.errors import ModelgapError
from modelgap.options import DEFAULT_ENDPOINT_SHAP_ROWS, DEFAULT_SHAP_ROWS, DEFAULT_TOP_N, CompareOptions
from modelgap.request import ComparisonRequest
from modelgap.sources.origins import Trust
from modelgap.values import one_line

EXIT_OK, EXIT_GATE, EXIT_ERROR = 0, 1, 2
SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line naming the problem and the fix, like every other error of ours.
        self.exit(EXIT_ERROR, f"modelgap: error: {message} (see `python -m modelgap {self._sub()} --help`)\n")

    def _sub(self) -> str:
        return self.prog.split()[-1] if " " in self.prog else ""


def _whole(least: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number >= `least`; the error names the range (argparse adds the flag)."""

    def whole(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {least}{meaning}, not {text!r}")
        return value

    return whole


def _tolerance(text: str) -> float:
    """An argparse type: a finite number >= 0 (nan, inf and negatives would make every row agree or disagree)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelgap", description="Compare the model in your repository with the deployed one.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    cmp = sub.add_parser("compare", help="compare a repo model with a deployed model")
    cmp.add_argument("--repo", required=True, help="repo model source (path, runs:/, models:/, git:<rev>:<path>)")
    cmp.add_argument("--deployed", required=True, help="deployed model source (models:/..., URL, path)")
    cmp.add_argument("--data", help="sample data file (CSV or Parquet)")
    cmp.add_argument("--target", help="label column in the data (enables metrics and flips)")
    cmp.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI)")
    cmp.add_argument(
        "--tolerance", type=_tolerance, help="regression: |repo - deployed| above this disagrees (a number >= 0)"
    )
    cmp.add_argument(
        "--shap-rows",
        type=_whole(0, " (0: no explanations)"),
        default=DEFAULT_SHAP_ROWS,
        help=f"rows explained (default {DEFAULT_SHAP_ROWS})",
    )
    cmp.add_argument(
        "--endpoint-shap-rows",
        type=_whole(0, " (0: no SHAP requests to an endpoint)"),
        default=DEFAULT_ENDPOINT_SHAP_ROWS,
        help=f"rows explained when a side is an endpoint: requests add up (default {DEFAULT_ENDPOINT_SHAP_ROWS})",
    )
    cmp.add_argument("--no-shap", action="store_true", help="skip explanations")
    cmp.add_argument("--policy", help="readiness policy TOML (default: ./modelgap.toml if present)")
    cmp.add_argument("--engine", choices=["pandas", "spark"], default="pandas")
    cmp.add_argument("--max-rows", type=_whole(1), help="read at most this many data rows")
    cmp.add_argument(
        "--top", type=_whole(1), default=DEFAULT_TOP_N, help=f"rows listed in predictions.top (default {DEFAULT_TOP_N})"
    )
    cmp.add_argument("--json", dest="json_path", help="write the JSON report here")
    cmp.add_argument("--markdown", dest="markdown_path", help="write the Markdown report here")
    cmp.add_argument("--html", dest="html_path", help="write the self-contained HTML report here")
    cmp.add_argument("--fail-on", choices=["fail", "warn", "never"], default="fail")
    cmp.add_argument("--deployed-meta", help="registry entry describing an endpoint (models:/name@alias)")
    cmp.add_argument("--repo-training-data", help="the repo model's training data (CSV/Parquet), for drift")
    cmp.add_argument("--deployed-training-data", help="the deployed model's training data (CSV/Parquet)")
    cmp.add_argument("--log-to-mlflow", action="store_true", help="record the report on the repo model's run")
    cmp.add_argument("--quiet", action="store_true", help="print nothing but errors")
    from modelgap.retraining.options import DEFAULT_MAX_ROWS, DEFAULT_SEEDS, positive_int, seeds_count, side_command

    cmp.add_argument("--retrain", action="store_true", help="rebuild both models from their recipes (minutes)")
    cmp.add_argument(
        "--retrain-seeds", type=seeds_count, help=f"refits for the retraining noise floor (default {DEFAULT_SEEDS})"
    )
    cmp.add_argument(
        "--retrain-max-rows", type=positive_int, help=f"training rows per refit (default {DEFAULT_MAX_ROWS:,})"
    )
    cmp.add_argument(
        "--retrain-command",
        type=side_command,
        action="append",
        metavar="SIDE=COMMAND",
        help="train SIDE (repo or deployed) with this command instead of refitting; see [retrain] in the policy",
    )

    demo = sub.add_parser("demo", help="build the demo workspace (idempotent)")
    demo.add_argument("--dir", help="where to build it (default .modelgap/demo)")
    demo.add_argument("--force", action="store_true", help="rebuild even if complete")

    from modelgap.signoff.cli import add_parser as add_signoff

    add_signoff(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        if args.command == "compare":
            return _compare(args)
        if args.command == "demo":
            return _demo(args)
        from modelgap.signoff.cli import run as signoff  # the only other command argparse lets through

        return signoff(args)
    except ModelgapError as err:
        print(f"modelgap: error: {err.one_line()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("modelgap: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the contract is one line, never a traceback
        if os.environ.get("MODELGAP_DEBUG"):
            raise
        from modelgap.redact import redact

        text = redact(one_line(exc))
        print(
            f"modelgap: error: unexpected {type(exc).__name__}: {text} (set MODELGAP_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
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
    from modelgap.cli_checks import check_deployed_meta, check_log_to_mlflow, check_output_paths, write_outputs
    from modelgap.readiness import load_policy
    from modelgap.request import compare
    from modelgap.summary import summary_lines

    # Everything that can be refused is refused now (exit 2), not after loading and comparing two models.
    check_output_paths(args)
    check_deployed_meta(args)
    check_log_to_mlflow(args)
    load_policy(args.policy)
    request = request_from_args(args, cli_trust(args.tracking_uri, args.repo, args.deployed))
    comparison = compare(request)
    written, failures = write_outputs(comparison, args)  # each on its own: one bad path loses no other
    if not args.quiet:
        print("\n".join(summary_lines(comparison)))
    if failures:
        done = f"Written: {', '.join(written)}; fix" if written else "Fix"
        raise ModelgapError(
            "Compared, but could not write " + "; ".join(failures) + ".", f"{done} the path and run again."
        )
    return _exit_code(comparison, args.fail_on)


def request_from_args(args: argparse.Namespace, trust: Trust) -> ComparisonRequest:
    """The comparison request `compare`'s flags ask for (the app builds its own from the same fields)."""
    options = CompareOptions(
        target=args.target,
        tolerance=args.tolerance,
        shap_rows=args.shap_rows,
        endpoint_shap_rows=args.endpoint_shap_rows,
        no_shap=args.no_shap,  # --shap-rows 0 means no explanations too (CompareOptions says so, for the app too)
        top_n=args.top,
        max_rows=args.max_rows,
        policy_path=args.policy,
        engine=args.engine,
        retrain=_retrain_options(args),
    )
    return ComparisonRequest(
        repo=args.repo,
        deployed=args.deployed,
        data_path=args.data,
        tracking_uri=args.tracking_uri,
        deployed_meta=args.deployed_meta,
        repo_training_data=args.repo_training_data,
        deployed_training_data=args.deployed_training_data,
        options=options,
        trust=trust,
    )


def cli_trust(tracking_uri: str | None, *sources: str) -> Trust:
    """The CLI loads what its user names: their tracking URI and endpoints may receive the credentials set in
    the environment, and a source whose loading runs code is announced once on stderr."""
    from modelgap.sources import source_kind
    from modelgap.sources.credentials import allow_in_this_process

    allow_in_this_process(
        tracking_uri=tracking_uri, endpoints=tuple(s for s in sources if source_kind(s) == "endpoint")
    )
    told: set[str] = set()

    def notice(message: str) -> None:
        if message not in told:
            told.add(message)
            print(f"modelgap: note: {message}", file=sys.stderr)

    return Trust.cli(notice=notice)


def _retrain_options(args: argparse.Namespace) -> Any:
    """RetrainOptions for --retrain (the policy's [retrain] table, then the flags), else None: no retraining."""
    from modelgap.retraining.options import from_policy, with_cli

    given = {"--retrain-seeds": args.retrain_seeds, "--retrain-max-rows": args.retrain_max_rows}
    given["--retrain-command"] = args.retrain_command
    extras = [flag for flag, value in given.items() if value]
    if not args.retrain:
        if extras:
            raise ModelgapError(f"{extras[0]} only applies with --retrain.", "Add --retrain, or drop the flag.")
        return None
    base = from_policy(args.policy)
    return with_cli(base, seeds=args.retrain_seeds, max_rows=args.retrain_max_rows, commands=args.retrain_command)


def _exit_code(comparison: Comparison, fail_on: str) -> int:
    verdict = comparison.sections.verdict
    if verdict is None or fail_on == "never":
        return EXIT_OK
    return EXIT_GATE if SEVERITY[verdict.status] >= SEVERITY[fail_on] else EXIT_OK


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
