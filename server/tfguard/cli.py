"""Command line: ``tfguard scan`` (CI) and ``tfguard serve`` (the language server)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from tfguard import __version__
from tfguard.model import Result, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tfguard", description="Terraform security checks, as you type and in CI.")
    p.add_argument("--version", action="version", version=f"tfguard {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="scan Terraform directories or files (Checkov's checks, offline)")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    scan.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    scan.add_argument("--fail-on", type=_severity, metavar="SEVERITY", default=None,
                      help="exit 1 when a failed check at or above SEVERITY remains (LOW|MEDIUM|HIGH|CRITICAL);"
                           " default: any failed check")
    scan.add_argument("--config", metavar="FILE", help="tfguard configuration file (.tfguard.yaml)")
    scan.add_argument("--allow-python-checks", action="append", default=[], metavar="DIR",
                      help="also load Python custom checks (code!) from DIR; never read from workspace files")
    scan.add_argument("--show-passed", action="store_true", help="list passed checks too (text format)")
    scan.add_argument("-v", "--verbose", action="count", default=0)

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-file", metavar="FILE")
    serve.add_argument("-v", "--verbose", action="count", default=0)
    return p


def _setup_logging(verbose: int, log_file: str | None = None) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def cmd_scan(args: argparse.Namespace) -> int:
    from tfguard.report import render_json, render_sarif, render_text
    from tfguard.session import make_engine

    for p in args.paths:
        if not os.path.exists(p):
            print(f"tfguard: error: no such file or directory: {p}", file=sys.stderr)
            return EXIT_USAGE
    try:
        engine = make_engine(os.path.abspath(args.paths[0]), config_file=args.config,
                             python_check_dirs=args.allow_python_checks)
    except ValueError as e:
        print(f"tfguard: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    report = engine.scan(args.paths)
    if engine.configs is not None:  # invalid .tfguard.yaml / catalogue files, located
        report.problems.extend(engine.configs.problems())
    if args.format == "json":
        out = render_json(report)
    elif args.format == "sarif":
        out = render_sarif(report)
    else:
        color = args.output is None and sys.stdout.isatty()
        out = render_text(report, show_passed=args.show_passed, color=color)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    else:
        sys.stdout.write(out)
    threshold: Severity | None = args.fail_on
    failing = [
        f for f in report.findings
        if f.result is Result.FAILED and (threshold is None or f.severity.rank >= threshold.rank)
    ]
    return EXIT_FINDINGS if failing else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose, args.log_file)
    from tfguard.lsp.server import start

    start(tcp=args.tcp)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "scan":
        _setup_logging(args.verbose)
        return cmd_scan(args)
    return cmd_serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
