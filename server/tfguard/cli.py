"""Command line: ``tfguard scan`` (CI), ``suppressions`` (skip audit), ``daemon`` (warm scans), ``serve`` (LSP).

Every command runs for an :class:`~tfguard.invocation.Invocation`: relative paths of the command line
are resolved against its ``cwd``, the scan environment is read from its ``environ``, output and
messages go to its streams. In its own process that is the process (:func:`main`); in the daemon it is
the client's (:func:`serve_request`), and nothing process-wide changes for a request.

Logging of a command (``-v``) goes to the invocation's stderr through a handler on the ``tfguard``
logger, attached for the command and removed after; only ``tfguard serve`` and ``tfguard daemon run``,
which own their process, configure the root logger.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from tfguard import __version__
from tfguard.config.checkov import CheckovConfig
from tfguard.invocation import Invocation
from tfguard.model import Result, Severity
from tfguard.scan.verdict import EXIT_FINDINGS, EXIT_OK, GateOptions

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

EXIT_USAGE = 2

log = logging.getLogger(__name__)
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


class _Parser(argparse.ArgumentParser):
    """An argument parser printing usage, errors, ``--help`` and ``--version`` to an invocation's streams."""

    streams: tuple[TextIO, TextIO] | None = None  # (stdout, stderr); None: the sys streams

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if self.streams is not None and message:
            file = self.streams[0] if file is sys.stdout else self.streams[1]
        super()._print_message(message, file)


def build_parser(invocation: Invocation | None = None) -> argparse.ArgumentParser:
    """The ``tfguard`` argument parser; with an invocation, it prints to that invocation's streams."""
    p = _Parser(prog="tfguard", description="Terraform security checks, as you type and in CI.")
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
    gate = scan.add_argument_group("gate (exit status; see the README's exit-code table)")
    gate.add_argument("--soft-fail", action="store_true", default=None,
                      help="exit 0 whatever the findings and engine failures (usage and configuration errors still"
                           " exit 2); with --hard-fail-on only those checks fail")
    gate.add_argument("--soft-fail-on", action="append", default=None, metavar="CHECKS",
                      help="never fail on these checks (ids, fnmatch patterns or severities; comma lists)")
    gate.add_argument("--hard-fail-on", action="append", default=None, metavar="CHECKS",
                      help="fail only on these checks (ids, fnmatch patterns or severities; comma lists)")
    gate.add_argument("--no-fail-on-crash", action="store_true",
                      help="a check or the engine failing on some input, or an input that could not be read or"
                           " parsed, is reported but does not make the exit status 2")
    scan.add_argument("--allow-python-checks", action="append", default=[], metavar="DIR",
                      help="also load Python custom checks (code!) from DIR; never read from workspace files")
    scan.add_argument("--show-passed", action="store_true", help="list passed checks too (text format)")
    scan.add_argument("--group-by", choices=("file", "owner"), default="file",
                      help="text format: group findings by file (default) or by CODEOWNERS owner")
    scan.add_argument("--create-baseline", metavar="FILE",
                      help="record the failed findings of this scan in FILE (a baseline; commit it)")
    scan.add_argument("--baseline", metavar="FILE",
                      help="report and gate only findings not in the baseline FILE (baselined ones are marked"
                           " 'unchanged' in JSON/SARIF and never fail --fail-on)")
    warm = scan.add_mutually_exclusive_group()
    warm.add_argument("--daemon", action="store_true",
                      help="run in the warm tfguard daemon, starting it if it is not running (see `tfguard daemon`)")
    warm.add_argument("--no-daemon", action="store_true",
                      help="run in this process even when a tfguard daemon is running (also: TFGUARD_NO_DAEMON=1)")
    scan.add_argument("-v", "--verbose", action="count", default=0,
                      help="log to stderr: -v what tfguard does, -vv everything (Checkov's details, tracebacks)")
    scan.add_argument("--log-file", metavar="FILE",
                      help="write the whole log (DEBUG: Checkov's warnings and tracebacks) to FILE")

    sup = sub.add_parser("suppressions", help="audit skip comments (checkov:skip=...): reasons, tickets, stale")
    sup.add_argument("paths", nargs="+", metavar="PATH")
    sup.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    sup.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    sup.add_argument("--fail-on-violations", action="store_true",
                     help="exit 1 when a suppression breaks a rule (no reason, placeholder, no ticket, stale,"
                          " not suppressible)")
    sup.add_argument("--ticket-pattern", metavar="REGEX",
                     help="a reason must contain a match of REGEX (e.g. 'SEC-\\d+'); default: .tfguard.yaml"
                          " suppressions.ticket_pattern, else not required")
    sup.add_argument("--not-suppressible", action="append", default=[], metavar="CHECK",
                     help="check ids (or fnmatch patterns) that must never be skipped; adds to .tfguard.yaml"
                          " suppressions.not_suppressible")
    sup.add_argument("--no-stale", action="store_true", help="do not re-run checks to find stale skips (faster)")
    sup.add_argument("--no-blame", action="store_true", help="do not ask git who wrote each skip")
    sup.add_argument("--config", metavar="FILE", help="tfguard configuration file (.tfguard.yaml)")
    sup.add_argument("-v", "--verbose", action="count", default=0)
    sup.add_argument("--log-file", metavar="FILE", help="write the whole log (DEBUG) to FILE")

    dmn = sub.add_parser("daemon", help="a warm process for `tfguard scan` (keeps Checkov loaded between scans)")
    dmn.add_argument("action", choices=("start", "stop", "status", "restart", "run"),
                     help="start it in the background, stop it, show it, restart it; `run` serves in the foreground")
    dmn.add_argument("--idle-timeout", type=float, default=None, metavar="SECONDS",
                     help="exit after SECONDS without a scan (default 3600)")
    dmn.add_argument("--socket", metavar="PATH", help="socket path (default: per user and installation)")
    dmn.add_argument("-v", "--verbose", action="count", default=0)

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-file", metavar="FILE")
    serve.add_argument("-v", "--verbose", action="count", default=0)
    if invocation is not None:
        streams = (invocation.stdout, invocation.stderr)
        for parser in (p, *sub.choices.values()):
            if isinstance(parser, _Parser):
                parser.streams = streams
    return p


def _level(verbose: int) -> int:
    return logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG


def _setup_logging(verbose: int, log_file: str | None = None) -> None:
    """Process-wide logging, for the commands that own their process (``serve``, ``daemon run``)."""
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_level(verbose))


@contextlib.contextmanager
def _command_logging(verbose: int, stream: TextIO, log_file: str | None = None) -> Iterator[None]:
    """tfguard's log records of one command go to ``stream`` (the invocation's stderr) at the ``-v`` level
    while it runs, and all of them (DEBUG) to ``log_file`` when given.

    Handlers on the ``tfguard`` logger, removed afterwards with the logger's level and propagation
    restored; the root logger is never touched. Records do not propagate meanwhile: the root logger's
    handler is Checkov's, which would print them (tracebacks included) on the terminal a second time,
    and in the daemon a client's records go to that client only. Safe because the daemon runs one
    request at a time (a second command running concurrently in this process would share the logger).
    """
    logger = logging.getLogger("tfguard")
    handlers: list[logging.Handler] = [logging.StreamHandler(stream)]
    handlers[0].setLevel(_level(verbose))
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        handlers[1].setLevel(logging.DEBUG)
    saved_level, saved_propagate = logger.level, logger.propagate
    logger.setLevel(min(h.level for h in handlers))
    logger.propagate = False
    for h in handlers:
        h.setFormatter(logging.Formatter(_LOG_FORMAT))
        logger.addHandler(h)
    try:
        yield
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(saved_level)
        logger.propagate = saved_propagate


def _opt_path(inv: Invocation, path: str | None) -> str | None:
    return None if path is None else inv.resolve(path)


def _write(out: str, output: str | None, inv: Invocation) -> None:
    """The report to ``output`` (a path, relative ones from the invocation's directory), else its stdout."""
    if output:
        with open(inv.resolve(output), "w", encoding="utf-8") as f:
            f.write(out)
    else:
        inv.stdout.write(out)


def cmd_scan(args: argparse.Namespace, invocation: Invocation | None = None) -> int:
    """``tfguard scan``, run here: the exit code (0 clean, 1 findings, 2 usage error).

    Every path reaching the engine is absolute (resolved against the invocation's directory) and the
    result cache directory comes from the invocation's environment.
    """
    from tfguard.config.preflight import configuration_errors
    from tfguard.files import repository_root
    from tfguard.scan.baseline import Baseline, BaselineError, create_baseline, load_baseline, save_baseline
    from tfguard.scan.inputs import plan_files_under, refusal
    from tfguard.scan.pool import default_cache_dir
    from tfguard.scan.report import render_json, render_sarif, render_text, report_root
    from tfguard.scan.runner import scan
    from tfguard.scan.verdict import decide
    from tfguard.wiring import make_engine

    inv = Invocation.from_process() if invocation is None else invocation
    err = inv.stderr
    paths = [inv.resolve(p) for p in args.paths]
    for p, given in zip(paths, args.paths, strict=True):
        if not os.path.exists(p):
            print(f"tfguard: error: no such file or directory: {given}", file=err)
            return EXIT_USAGE
        why = refusal(p) if os.path.isfile(p) else None
        if why is not None:
            print(f"tfguard: error: cannot scan {given}: it {why}", file=err)
            return EXIT_USAGE
    repo_root = repository_root(paths[0], fallback=inv.cwd)
    config_errors = configuration_errors(paths, repo_root, explicit=_opt_path(inv, args.config))
    if config_errors:
        for problem in config_errors:
            pos = problem.span.start
            print(f"{problem.file}:{pos.line + 1}:{pos.character + 1}: error: {problem.message}", file=err)
        print(f"tfguard: error: invalid configuration ({len(config_errors)} problem"
              f"{'' if len(config_errors) == 1 else 's'} above): not scanning, a gate with a configuration it"
              " cannot read would decide wrongly", file=err)
        return EXIT_USAGE
    baseline: Baseline | None = None
    if args.baseline:
        try:
            baseline = load_baseline(inv.resolve(args.baseline))
        except BaselineError as e:
            print(f"tfguard: error: {e}", file=err)
            return EXIT_USAGE
    try:
        engine = make_engine(paths[0], config_file=_opt_path(inv, args.config),
                             python_check_dirs=[inv.resolve(d) for d in args.allow_python_checks],
                             repo_root=repo_root)
    except ValueError as e:
        print(f"tfguard: error: {e}", file=err)
        return EXIT_USAGE
    report = scan(engine, paths, cache_dir=default_cache_dir(inv.environ) or "")  # "": no cache
    if engine.configs is not None:  # invalid .tfguard.yaml / catalogue files, located
        report.problems.extend(engine.configs.problems())
    root = report_root(report)
    if args.create_baseline:
        created = create_baseline(report.findings, root)
        save_baseline(created, inv.resolve(args.create_baseline))
        print(f"tfguard: baseline of {len(created)} findings written to {args.create_baseline}", file=err)
    state = baseline.classify(report.findings, root) if baseline is not None else None
    if args.format == "json":
        out = render_json(report, baseline_state=state)
    elif args.format == "sarif":
        out = render_sarif(report, baseline_state=state)
    else:
        color = args.output is None and inv.stdout_isatty
        out = render_text(report, show_passed=args.show_passed, color=color, baseline_state=state,
                          group_by=args.group_by)
    _write(out, args.output, inv)
    from tfguard.checks.checkov_env import checkov_warning_summary  # no Checkov import: a cached scan stays fast
    if (warned := checkov_warning_summary(report.checkov_warnings)) is not None:
        print(warned, file=err)
    threshold: Severity | None = args.fail_on
    failing = [
        f for f in report.findings
        if f.result is Result.FAILED and (threshold is None or f.severity.rank >= threshold.rank)
        and (state is None or state.get(id(f)) != "unchanged")
    ]
    verdict = decide(report, failing, _gate_options(args, engine.checkov_config(engine.root or paths[0])))
    if verdict.reason is not None:
        reason = verdict.reason
        if report.files_scanned == 0:
            plans = [f for p in paths if os.path.isdir(p) for f in plan_files_under(p)]
            if plans:
                reason += (f" ({os.path.relpath(plans[0], inv.cwd)} is a Terraform plan: plan scanning is not"
                           " supported yet)")
        print(f"tfguard: error: {reason}", file=err)
    return verdict.exit_code


def _split(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _gate_options(args: argparse.Namespace, cfg: CheckovConfig) -> GateOptions:
    """The command line's gate flags over ``.checkov.yaml``'s (a flag given wins over the file)."""
    soft_fail_on, hard_fail_on = _split(args.soft_fail_on), _split(args.hard_fail_on)
    return GateOptions(
        soft_fail=args.soft_fail if args.soft_fail is not None else cfg.soft_fail,
        soft_fail_on=soft_fail_on if soft_fail_on is not None else cfg.soft_fail_on,
        hard_fail_on=hard_fail_on if hard_fail_on is not None else cfg.hard_fail_on,
        fail_on_crash=not args.no_fail_on_crash,
    )


def cmd_suppressions(args: argparse.Namespace, invocation: Invocation | None = None) -> int:
    """``tfguard suppressions``: the skip-comment audit; exit 1 on violations with ``--fail-on-violations``."""
    from tfguard.scan.suppressions import AuditOptions, audit, render_audit_json, render_audit_sarif, render_audit_text

    inv = Invocation.from_process() if invocation is None else invocation
    paths = [inv.resolve(p) for p in args.paths]
    for p, given in zip(paths, args.paths, strict=True):
        if not os.path.exists(p):
            print(f"tfguard: error: no such file or directory: {given}", file=inv.stderr)
            return EXIT_USAGE
    try:
        options = AuditOptions(ticket_pattern=args.ticket_pattern, not_suppressible=tuple(args.not_suppressible),
                               stale=not args.no_stale, blame=not args.no_blame,
                               config_file=_opt_path(inv, args.config))
        result = audit(paths, options)
    except ValueError as e:
        print(f"tfguard: error: {e}", file=inv.stderr)
        return EXIT_USAGE
    if args.format == "json":
        out = render_audit_json(result)
    elif args.format == "sarif":
        out = render_audit_sarif(result)
    else:
        out = render_audit_text(result, color=args.output is None and inv.stdout_isatty)
    _write(out, args.output, inv)
    return EXIT_FINDINGS if args.fail_on_violations and result.violations else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """``tfguard serve``: the language server (it owns its process, and its logging)."""
    _setup_logging(args.verbose, args.log_file)
    from tfguard.lsp.app import start

    start(tcp=args.tcp)
    return EXIT_OK


def cmd_daemon(args: argparse.Namespace, invocation: Invocation | None = None) -> int:
    """``tfguard daemon start|stop|status|restart|run``."""
    from tfguard.scan import daemon

    inv = Invocation.from_process() if invocation is None else invocation
    err = inv.stderr
    if not daemon.available():
        print("tfguard: error: the daemon needs Unix domain sockets (not available on this platform)", file=err)
        return EXIT_USAGE
    try:
        sock = inv.resolve(args.socket or daemon.socket_path(inv.environ))
        idle = args.idle_timeout if args.idle_timeout is not None else daemon.DEFAULT_IDLE_TIMEOUT
        if args.action == "run":
            return daemon.serve_forever(sock, idle, serve_request)
        if args.action in ("stop", "restart"):
            was = daemon.stop(sock)
            if args.action == "stop":
                print("tfguard daemon stopped" if was else "no tfguard daemon was running", file=err)
                return EXIT_OK
        if args.action in ("start", "restart"):
            st = daemon.start(sock, idle_timeout=idle)
            print(f"tfguard daemon {st['pid']} listening on {st['socket']}", file=err)
            return EXIT_OK
        found = daemon.ping(sock)
        if found is None:
            busy = daemon.is_running(sock)
            print("the tfguard daemon is busy with a scan" if busy else "no tfguard daemon is running", file=err)
            return EXIT_OK if busy else EXIT_FINDINGS
        st = found
        current = st.get("identity") == daemon.code_identity()
        served = int(st["served"])
        print(f"tfguard daemon {st['pid']} on {st['socket']}: up {st['uptime']:.0f} s,"
              f" {served} scan{'' if served == 1 else 's'} served,"
              f" idle timeout {st['idle_timeout']:.0f} s" + ("" if current else "; runs other tfguard code than this"
                                                               " one (`tfguard daemon restart`)"), file=inv.stdout)
        return EXIT_OK
    except daemon.DaemonError as e:
        print(f"tfguard: error: {e}", file=err)
        return EXIT_USAGE


def _scan_in_daemon(args: argparse.Namespace, argv: Sequence[str], inv: Invocation) -> int | None:
    """Run this scan in the daemon when one is running (or ``--daemon`` starts one); None: run it here."""
    from tfguard.scan import daemon

    def here(why: str) -> None:
        if args.daemon:  # asked for explicitly: say why not
            print(f"tfguard: warning: {why}: scanning here", file=inv.stderr)

    if daemon.serving or args.no_daemon or inv.environ.get("TFGUARD_NO_DAEMON"):
        return None
    if args.allow_python_checks:
        here("Python custom checks never run in the daemon")
        return None
    if not daemon.available():
        here("no daemon on this platform (no Unix sockets)")
        return None
    try:
        sock = inv.resolve(daemon.socket_path(inv.environ))
        if args.daemon and not daemon.is_running(sock):
            daemon.start(sock)
        answer = daemon.run_scan(argv, sock, inv)
        if isinstance(answer, str) and args.daemon and not daemon.is_running(sock):
            daemon.start(sock)  # it ran other tfguard code and was stopped: start a current one
            answer = daemon.run_scan(argv, sock, inv)
    except daemon.DaemonError as e:
        here(str(e))
        return None
    if answer is None:
        return None
    if isinstance(answer, str):
        here(f"the daemon did not take this scan ({answer})")
        return None
    inv.stdout.write(answer.stdout)
    inv.stderr.write(answer.stderr)
    return answer.exit_code


def main(argv: Sequence[str] | None = None, invocation: Invocation | None = None) -> int:
    """``tfguard <argv>`` (None: ``sys.argv[1:]``) for ``invocation`` (None: this process); the exit code.

    A scan goes to the daemon when one runs (see :func:`_scan_in_daemon`). An unexpected exception is
    one line on stderr and exit 2 (1 means findings); its traceback is logged at DEBUG (``-vv``).
    Usage errors raise ``SystemExit`` (argparse), as ever.
    """
    inv = Invocation.from_process() if invocation is None else invocation
    return _run(list(sys.argv[1:] if argv is None else argv), inv, forward=True)


def serve_request(argv: Sequence[str], invocation: Invocation) -> int:
    """The daemon's ``run``: ``tfguard scan <args>`` in this process for the client ``invocation``.

    Never forwarded to a daemon; logging goes to the client's stderr only (not to the daemon's log).
    Only ``scan`` runs here (the daemon refuses anything else before calling this).
    """
    if not argv or argv[0] != "scan":
        print("tfguard: error: only `tfguard scan` runs in the daemon", file=invocation.stderr)
        return EXIT_USAGE
    return _run(list(argv), invocation, forward=False)


def _run(argv: list[str], inv: Invocation, forward: bool) -> int:
    args = build_parser(inv).parse_args(argv)
    if args.command == "serve":
        return cmd_serve(args)
    owns_process = args.command == "daemon" and args.action == "run"
    if owns_process:  # the daemon's own log: its stderr (a file, see daemon.start)
        _setup_logging(max(args.verbose, 1))
    log_file = _opt_path(inv, getattr(args, "log_file", None)) if args.command in ("scan", "suppressions") else None
    with contextlib.nullcontext() if owns_process else _command_logging(args.verbose, inv.stderr, log_file):
        try:
            if args.command == "scan":
                warm = _scan_in_daemon(args, argv, inv) if forward else None
                return warm if warm is not None else cmd_scan(args, inv)
            if args.command == "daemon":
                return cmd_daemon(args, inv)
            return cmd_suppressions(args, inv)
        except Exception as e:  # a crash is not "findings" (1): a one-line error, the traceback at DEBUG
            log.debug("tfguard %s crashed", args.command, exc_info=True)
            print(f"tfguard: error: {type(e).__name__}: {e} (see --log-file / -v for the traceback)", file=inv.stderr)
            return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
