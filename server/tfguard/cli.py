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
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from tfguard import __version__
from tfguard.config.checkov import CheckovConfig
from tfguard.invocation import Invocation
from tfguard.model import Result, ScanReport, Severity
from tfguard.scan.verdict import EXIT_FINDINGS, EXIT_OK, GateOptions

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from tfguard.engine import Engine
    from tfguard.scan.progress import Progress

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


# Report formats of ``tfguard scan -o FORMAT`` (Checkov's names where Checkov has the format).
FORMATS = ("cli", "compact", "json", "sarif", "junitxml", "gitlab_sast", "github", "csv", "markdown")
# Accepted spellings: tfguard's old --format names and Checkov's github_failed_only (a Markdown table).
FORMAT_ALIASES = {"text": "cli", "github_failed_only": "markdown"}
# Checkov's formats tfguard does not write (software bills of materials).
UNSUPPORTED_FORMATS = ("cyclonedx", "cyclonedx_json", "spdx")
# File names in an --output-file-path directory (Checkov's names for Checkov's formats).
RESULT_FILES = {
    "cli": "results_cli.txt", "compact": "results_compact.txt", "json": "results_json.json",
    "sarif": "results_sarif.sarif", "junitxml": "results_junitxml.xml", "gitlab_sast": "results_gitlab_sast.json",
    "github": "results_github.txt", "csv": "results_csv.csv", "markdown": "results_markdown.md",
}
CHECKOV_RESULT_FILES = {"github_failed_only": "results_github_failed_only.md"}  # Checkov's, for an alias
OUTPUT_DELIMITER = "\n--- OUTPUT DELIMITER ---\n"  # Checkov's, between formats printed to the console
FRAMEWORKS = ("terraform", "terraform_plan", "all")

SCAN_DESCRIPTION = """\
Scan Terraform directories and files with Checkov's checks (offline, in-process) and tfguard's rules.
Results equal `checkov -d`; the command line takes Checkov's options (-d, -f, --check, -o, ...), and
`tfguard -d DIR` (no `scan`) works as `checkov -d DIR` does."""

SCAN_EPILOG = """\
-o/--output: a known format name (cli compact json sarif junitxml gitlab_sast github csv markdown;
also github_failed_only = markdown, text = cli) is a FORMAT, as in Checkov; repeat it for several.
Any other value is taken as an output FILE, as tfguard 0.1 did: deprecated (use --output-file-path),
as is --format; both keep working for one release with a note on stderr.

--output-file-path: with one or more formats, a DIRECTORY that receives results_<format>.<ext> for each
(results_sarif.sarif, results_junitxml.xml, ...); or a comma list with one entry per -o, in order, where
`console` means stdout (-o cli -o sarif --output-file-path console,results.sarif).

exit codes:
  0  the scan is complete and no failed check at or above the threshold remains
  1  a failed check remains (--fail-on, --check, --hard-fail-on and --soft-fail-on select which)
  2  tfguard cannot stand behind the result: usage or configuration error, nothing to scan, an input
     it cannot scan (a plan, an unparsable file), or a check or the engine failed (--no-fail-on-crash)

colour: on when stdout is a terminal; NO_COLOR (any value) or --no-color turn it off, FORCE_COLOR turns
it on. Progress (units done/total, the one running, elapsed) is drawn on stderr when it is a terminal
and the scan takes more than a moment (TFGUARD_PROGRESS_DELAY seconds, default 0.5); never with --quiet.

examples:
  tfguard scan .                                   # the cli report of the whole repository
  tfguard -d infra --check CKV_AWS_20,CKV_AWS_5* --compact
  tfguard -d . -o cli -o sarif --output-file-path console,tfguard.sarif --soft-fail-on LOW"""


def _csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_scan_arguments(scan: argparse.ArgumentParser) -> None:
    """Every option of ``tfguard scan``: Checkov's names and meanings, tfguard's own beside them."""
    scan.add_argument("paths", nargs="*", metavar="PATH", help="directories or files to scan (as -d / -f)")
    ck = scan.add_argument_group("Checkov's options (same names and meanings as `checkov`)")
    ck.add_argument("-d", "--directory", action="append", default=[], metavar="DIR",
                    help="a directory to scan (repeatable)")
    ck.add_argument("-f", "--file", action="append", default=[], metavar="FILE",
                    help="a Terraform file to scan (repeatable)")
    ck.add_argument("-c", "--check", action="append", default=None, metavar="CHECKS",
                    help="run only these checks: ids or wildcards (CKV_AWS_*), comma lists, repeatable;"
                         " replaces .checkov.yaml's `check`")
    ck.add_argument("--skip-check", action="append", default=None, metavar="CHECKS",
                    help="skip these checks: ids or wildcards, comma lists, repeatable;"
                         " replaces .checkov.yaml's `skip-check`")
    output = ck.add_argument("-o", "--output", action="append", default=None, metavar="FORMAT",
                    help="report format, repeatable: " + ", ".join(FORMATS) + " (default cli); a value that"
                         " is not a format name is an output FILE (deprecated, see below)")
    output.completer = lambda **_: FORMATS  # type: ignore[attr-defined]  # argcomplete
    ck.add_argument("--output-file-path", metavar="PATH",
                    help="a directory for every format's results_<format> file, or a comma list of files"
                         " (`console`: stdout) matching the -o formats in order")
    ck.add_argument("--framework", action="append", default=None, metavar="FRAMEWORK",
                    help="terraform (the default), terraform_plan or all; comma lists, repeatable")
    ck.add_argument("--config-file", metavar="FILE",
                    help="a .checkov.yaml to use instead of the ones found above the scanned paths")
    ck.add_argument("--external-checks-dir", action="append", default=None, metavar="DIR",
                    help="YAML policies from DIR (repeatable); Python checks there load only with"
                         " --allow-python-checks DIR")
    ck.add_argument("--compact", action="store_true",
                    help="the cli format without context and guideline lines: one line per finding")
    ck.add_argument("--quiet", action="store_true",
                    help="the cli format lists failed checks only; no progress, no warning summary")
    ck.add_argument("--no-color", action="store_true", help="no ANSI colours (also: NO_COLOR=1)")
    ck.add_argument("--repo-root-for-plan-enrichment", action="append", default=None, metavar="DIR",
                    help="with a plan file: the folder of the .tf files the plan was made from (Checkov's name for"
                         " --repo-root; one folder)")
    gate = scan.add_argument_group("gate (exit status, see the exit codes below)")
    gate.add_argument("--fail-on", type=_severity, metavar="SEVERITY", default=None,
                      help="exit 1 when a failed check at or above SEVERITY remains (LOW|MEDIUM|HIGH|CRITICAL);"
                           " default: any failed check")
    gate.add_argument("-s", "--soft-fail", action="store_true", default=None,
                      help="exit 0 whatever the findings and engine failures (usage and configuration errors still"
                           " exit 2); with --hard-fail-on only those checks fail")
    gate.add_argument("--soft-fail-on", action="append", default=None, metavar="CHECKS",
                      help="never fail on these checks (ids, fnmatch patterns or severities; comma lists)")
    gate.add_argument("--hard-fail-on", action="append", default=None, metavar="CHECKS",
                      help="fail only on these checks (ids, fnmatch patterns or severities; comma lists)")
    gate.add_argument("--no-fail-on-crash", action="store_true",
                      help="a check or the engine failing on some input, or an input that could not be read or"
                           " parsed, is reported but does not make the exit status 2")
    own = scan.add_argument_group("tfguard's options")
    own.add_argument("--config", metavar="FILE", help="tfguard configuration file (.tfguard.yaml)")
    own.add_argument("--format", choices=("text", "json", "sarif"), default=None,
                     help="deprecated: use -o FORMAT (text is -o cli)")
    own.add_argument("--allow-python-checks", action="append", default=[], metavar="DIR",
                     help="also load Python custom checks (code!) from DIR; never read from workspace files")
    own.add_argument("--show-passed", action="store_true", help="list passed checks too (cli format)")
    own.add_argument("--group-by", choices=("file", "owner"), default="file",
                     help="cli format: group findings by file (default) or by CODEOWNERS owner")
    own.add_argument("--create-baseline", metavar="FILE",
                     help="record the failed findings of this scan in FILE (a baseline; commit it)")
    own.add_argument("--baseline", metavar="FILE",
                     help="report and gate only findings not in the baseline FILE (baselined ones are marked"
                          " 'unchanged' in JSON/SARIF and never fail --fail-on)")
    warm = own.add_mutually_exclusive_group()
    warm.add_argument("--daemon", action="store_true",
                      help="run in the warm tfguard daemon, starting it if it is not running (see `tfguard daemon`)")
    warm.add_argument("--no-daemon", action="store_true",
                      help="run in this process even when a tfguard daemon is running (also: TFGUARD_NO_DAEMON=1)")
    own.add_argument("--var-file", action="append", default=None, metavar="FILE",
                     help="Terraform variables file applied as Checkov's --var-file (after terraform.tfvars and"
                          " *.auto.tfvars; a later one wins); repeatable; replaces .checkov.yaml's var-file")
    own.add_argument("--skip-path", action="append", default=None, metavar="REGEX",
                     help="leave out files and directories whose absolute path matches REGEX (re.search, or"
                          " contains it), as Checkov's --skip-path; repeatable; replaces .checkov.yaml's skip-path")
    own.add_argument("--repo-root", metavar="DIR", default=None,
                     help="repository root (default: the git work tree, else the working directory): configuration"
                          " is found up to it, and a plan's findings are mapped to the .tf files under it")
    own.add_argument("-v", "--verbose", action="count", default=0,
                     help="log to stderr: -v what tfguard does, -vv everything (Checkov's details, tracebacks)")
    own.add_argument("--log-file", metavar="FILE",
                     help="write the whole log (DEBUG: Checkov's warnings and tracebacks) to FILE")


def _repo_root_refusal(inv: Invocation, given: str | None, option: str = "--repo-root") -> str | None:
    """The one-line error for a ``--repo-root`` that is not a folder, else None. Fail closed: with a mistyped
    root the configuration above the scanned paths and a plan's source (its skip comments) would be missed
    without a word."""
    if given is None or os.path.isdir(inv.resolve(given)):
        return None
    return f"tfguard: error: {option} {given}: no such directory"


def build_parser(invocation: Invocation | None = None) -> argparse.ArgumentParser:
    """The ``tfguard`` argument parser; with an invocation, it prints to that invocation's streams."""
    p = _Parser(prog="tfguard", description="Terraform security checks, as you type and in CI.")
    p.add_argument("--version", action="version", version=f"tfguard {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="scan Terraform directories or files (Checkov's checks, offline)",
                          description=SCAN_DESCRIPTION, epilog=SCAN_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scan_arguments(scan)
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

    rev = sub.add_parser("plan-review", help="the security delta of a Terraform plan (terraform show -json): what it"
                                             " creates, updates, replaces, destroys; findings introduced/resolved")
    rev.add_argument("plan", metavar="PLAN.json")
    rev.add_argument("--base", metavar="OTHER_PLAN.json", help="compare against this plan instead of the plan's own"
                                                                " before values")
    rev.add_argument("--format", choices=("markdown", "json"), default="markdown")
    rev.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    rev.add_argument("--markdown", metavar="FILE", help="also append the Markdown summary to FILE (e.g."
                                                         " $GITHUB_STEP_SUMMARY)")
    rev.add_argument("--json", metavar="FILE", help="also write the JSON review to FILE")
    rev.add_argument("--fail-on", type=_severity, metavar="SEVERITY", default=None,
                     help="exit 1 when the plan introduces a failed check at or above SEVERITY; default: any"
                          " introduced failed check")
    rev.add_argument("--repo-root", metavar="DIR", default=None,
                     help="map findings to the .tf files under DIR (default: the git work tree, else the working"
                          " directory)")
    rev.add_argument("--config", metavar="FILE", help="tfguard configuration file (.tfguard.yaml)")
    rev.add_argument("-v", "--verbose", action="count", default=0)

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
    p.commands = dict(sub.choices)  # type: ignore[attr-defined]
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


class _Usage(Exception):
    """A usage error of ``tfguard scan`` found after parsing: one line, exit 2."""


def _scan_paths(args: argparse.Namespace, inv: Invocation) -> tuple[list[str], list[str]]:
    """The paths to scan (absolute) and as given: PATH arguments, then -d, then -f."""
    given: list[str] = [*args.paths, *args.directory, *args.file]
    if not given:
        raise _Usage("nothing to scan: give a PATH, -d DIR or -f FILE (see tfguard scan --help)")
    for d in args.directory:
        if os.path.exists(inv.resolve(d)) and not os.path.isdir(inv.resolve(d)):
            raise _Usage(f"-d {d}: not a directory (use -f for a file)")
    for f in args.file:
        if os.path.isdir(inv.resolve(f)):
            raise _Usage(f"-f {f}: a directory (use -d)")
    return [inv.resolve(p) for p in given], given


def _frameworks(args: argparse.Namespace, paths: list[str], given: list[str]) -> None:
    """Checkov's ``--framework``: ``terraform`` scans configuration, ``terraform_plan`` plan files, ``all``
    both (the default). A path the chosen frameworks would not scan is refused, never passed over."""
    if args.framework is None:
        return
    wanted = {v for value in args.framework for v in _csv_list(value)}
    unknown = sorted(wanted - set(FRAMEWORKS))
    if unknown:
        raise _Usage(f"--framework {','.join(unknown)}: tfguard scans Terraform only (terraform, terraform_plan)")
    if "all" in wanted:
        return
    from tfguard.scan.inputs import is_plan_file

    for p, g in zip(paths, given, strict=True):
        plan = os.path.isfile(p) and is_plan_file(p)
        if plan and "terraform_plan" not in wanted:
            raise _Usage(f"{g} is a Terraform plan: add --framework terraform_plan (or all) to scan it")
        if not plan and "terraform" not in wanted:
            raise _Usage(f"--framework terraform_plan scans plan files; {g} is not one (add --framework terraform)")


def _output_plan(args: argparse.Namespace, notes: list[str]) -> list[tuple[str, str | None]]:
    """:func:`_planned_outputs`, the cli format made ``compact`` by ``--compact`` wherever it is (Checkov's
    --compact shapes the cli output whatever other formats are asked for; its file keeps the cli name)."""
    plan = _planned_outputs(args, notes)
    return [("compact" if args.compact and f == "cli" else f, d) for f, d in plan]


def _planned_outputs(args: argparse.Namespace, notes: list[str]) -> list[tuple[str, str | None]]:
    """Each report to write: (format, destination path or None for stdout), by Checkov's rules.

    ``-o`` values that are format names are formats; another value is the old ``-o FILE``
    (deprecated), as is ``--format``: a note for each goes to ``notes``.
    """
    formats: list[str] = []
    files = dict(RESULT_FILES)  # a directory's file names: Checkov's name of an alias (github_failed_only)
    legacy_file: str | None = None
    for value in args.output or ():
        name = FORMAT_ALIASES.get(value, value)
        if name in FORMATS:
            if name not in formats:
                formats.append(name)
                if value != name and value in CHECKOV_RESULT_FILES:
                    files[name] = CHECKOV_RESULT_FILES[value]
        elif value in UNSUPPORTED_FORMATS:
            raise _Usage(f"-o {value}: tfguard does not write software bills of materials;"
                         f" formats: {', '.join(FORMATS)}")
        elif legacy_file is None:
            from difflib import get_close_matches

            close = get_close_matches(name, [*FORMATS, *FORMAT_ALIASES], n=1, cutoff=0.7)
            if close and not os.path.splitext(value)[1] and "/" not in value and os.sep not in value:
                raise _Usage(f"-o {value}: not a format; did you mean -o {close[0]}? (formats: {', '.join(FORMATS)};"
                             " a report file is --output-file-path FILE)")
            legacy_file = value
            notes.append(f"tfguard: note: -o/--output {value}: not a format name, so written as the report file"
                         " (deprecated: -o is a FORMAT as in Checkov; use -o FORMAT --output-file-path, see --help)")
        else:
            raise _Usage(f"-o {value}: not a format ({', '.join(FORMATS)})")
    if args.format is not None:
        name = FORMAT_ALIASES.get(args.format, args.format)
        notes.append(f"tfguard: note: --format is deprecated: use -o {name}")
        if name not in formats:
            formats.insert(0, name)
    if not formats:
        formats = ["cli"]
    target = args.output_file_path
    if legacy_file is not None:
        if target is not None:
            raise _Usage(f"-o {legacy_file} is not a format name, and --output-file-path is given: pass formats to -o")
        if len(formats) > 1:
            raise _Usage(f"-o {legacy_file}: an output file takes one format; use --output-file-path DIR for several")
        return [(formats[0], legacy_file)]
    if target is None:
        return [(f, None) for f in formats]
    if "," in target:
        dests = target.split(",")
        if len(dests) != len(formats):
            raise _Usage(f"--output-file-path {target}: {len(dests)} destinations for {len(formats)} formats"
                         f" ({', '.join(formats)}): give one per -o, in order (`console` for stdout)")
        return [(f, None if d.strip() == "console" else d.strip()) for f, d in zip(formats, dests, strict=True)]
    return [(f, os.path.join(target, files[f])) for f in formats]


def use_color(args: argparse.Namespace, inv: Invocation) -> bool:
    """ANSI colours on stdout: ``--no-color`` and ``NO_COLOR`` (any non-empty value) turn them off,
    ``FORCE_COLOR`` (non-empty, not 0) on; otherwise on when stdout is a terminal."""
    if getattr(args, "no_color", False) or inv.environ.get("NO_COLOR"):
        return False
    force = inv.environ.get("FORCE_COLOR")
    if force and force != "0":
        return True
    return inv.stdout_isatty


def cmd_scan(args: argparse.Namespace, invocation: Invocation | None = None) -> int:
    """``tfguard scan``, run here: the exit code (0 clean, 1 findings, 2 usage error).

    Every path reaching the engine is absolute (resolved against the invocation's directory) and the
    result cache directory comes from the invocation's environment.
    """
    inv = Invocation.from_process() if invocation is None else invocation
    try:
        return _cmd_scan(args, inv)
    except _Usage as e:
        print(f"tfguard scan: error: {e}", file=inv.stderr)
        return EXIT_USAGE


def _cmd_scan(args: argparse.Namespace, inv: Invocation) -> int:
    from tfguard.config.checkov import CheckovOverrides, ConfigError, load_checkov_config, python_files
    from tfguard.config.preflight import configuration_errors
    from tfguard.files import repository_root
    from tfguard.scan.baseline import Baseline, BaselineError, create_baseline, load_baseline, save_baseline
    from tfguard.scan.cache import default_cache_dir
    from tfguard.scan.inputs import plan_files_under, plan_refusal, refusal
    from tfguard.scan.report import report_root
    from tfguard.scan.runner import config_dir, scan
    from tfguard.scan.verdict import decide_scoped
    from tfguard.wiring import make_engine

    err = inv.stderr
    notes: list[str] = []
    plan = _output_plan(args, notes)
    paths, given_paths = _scan_paths(args, inv)
    checks, skip_checks = _split(args.check), _split(args.skip_check)
    if checks and skip_checks and set(checks) & set(skip_checks):
        raise _Usage("the check ids given to --check and --skip-check must be mutually exclusive (as in Checkov)")
    for note in notes:
        print(note, file=err)
    for p, given in zip(paths, given_paths, strict=True):
        if not os.path.exists(p):
            from difflib import get_close_matches

            command = get_close_matches(given, COMMANDS, n=1, cutoff=0.75)  # `tfguard scna DIR`
            hint = f" (did you mean `tfguard {command[0]}`?)" if command else ""
            print(f"tfguard: error: no such file or directory: {given}{hint}", file=err)
            return EXIT_USAGE
    _frameworks(args, paths, given_paths)
    for p, given in zip(paths, given_paths, strict=True):
        why = refusal(p) if os.path.isfile(p) else None
        if why is None and os.path.isfile(p):
            why = plan_refusal(p)
        if why is not None:
            print(f"tfguard: error: cannot scan {given}: it {why}", file=err)
            return EXIT_USAGE
    var_files = [inv.resolve(f) for f in args.var_file] if args.var_file is not None else None
    for vf, given in zip(var_files or [], args.var_file or [], strict=True):
        if not os.path.isfile(vf):  # fail closed: scanning without the variables would decide wrongly
            print(f"tfguard: error: --var-file: no such file: {given}", file=err)
            return EXIT_USAGE
    checkov_file = _opt_path(inv, args.config_file)
    if checkov_file is not None:
        if not os.path.isfile(checkov_file):
            print(f"tfguard: error: --config-file {args.config_file}: no such file", file=err)
            return EXIT_USAGE
        try:
            load_checkov_config(checkov_file)
        except ConfigError as e:
            print(f"{e.path}:{e.line + 1}:{e.column + 1}: error: {e.message}", file=err)
            return EXIT_USAGE
    external = None if args.external_checks_dir is None else tuple(inv.resolve(d) for d in args.external_checks_dir)
    for d in external or ():
        if not os.path.isdir(d):
            print(f"tfguard: error: --external-checks-dir {d}: no such directory", file=err)
            return EXIT_USAGE
        if python_files(d) and d not in {inv.resolve(x) for x in args.allow_python_checks}:
            print(f"tfguard: warning: Python checks in {d} are not loaded (code): YAML policies there are;"
                  f" add --allow-python-checks {d} to run them", file=err)
    enrichment = args.repo_root_for_plan_enrichment or []
    if len(enrichment) > 1 or (enrichment and args.repo_root and inv.resolve(args.repo_root) != inv.resolve(
            enrichment[0])):
        print("tfguard: error: --repo-root-for-plan-enrichment: tfguard maps a plan to one repository root"
              " (give one folder, or --repo-root alone)", file=err)
        return EXIT_USAGE
    if enrichment:
        args.repo_root = enrichment[0]
    option = "--repo-root-for-plan-enrichment" if enrichment else "--repo-root"
    if (why := _repo_root_refusal(inv, args.repo_root, option)) is not None:
        print(why, file=err)
        return EXIT_USAGE
    repo_root = inv.resolve(args.repo_root) if args.repo_root else repository_root(paths[0], fallback=inv.cwd)
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
    overrides = None
    if checkov_file is not None or checks is not None or skip_checks is not None or external is not None:
        overrides = CheckovOverrides(config_file=checkov_file, checks=checks, skip_checks=skip_checks,
                                     external_checks_dirs=external)
    try:
        engine = make_engine(paths[0], config_file=_opt_path(inv, args.config),
                             python_check_dirs=[inv.resolve(d) for d in args.allow_python_checks],
                             repo_root=repo_root, var_files=var_files, skip_paths=args.skip_path,
                             checkov_overrides=overrides)
    except ValueError as e:
        print(f"tfguard: error: {e}", file=err)
        return EXIT_USAGE
    if _selects_nothing(args, engine, paths, external or (), err):
        return EXIT_USAGE
    with _progress(args, inv) as progress:
        report = scan(engine, paths, cache_dir=default_cache_dir(inv.environ) or "",  # "": no cache
                      plan_repo_root=repo_root, progress=progress)
    if checks is not None or skip_checks is not None:  # tfguard's own rules answer to --check too
        report.findings = [f for f in report.findings
                           if f.source != "org" or _selected(f.check_id, checks, skip_checks)]
    if engine.configs is not None:  # invalid .tfguard.yaml / catalogue files, located
        report.problems.extend(engine.configs.problems())
    root = report_root(report)
    if args.create_baseline:
        created = create_baseline(report.findings, root)
        save_baseline(created, inv.resolve(args.create_baseline))
        print(f"tfguard: baseline of {len(created)} findings written to {args.create_baseline}", file=err)
    state = baseline.classify(report.findings, root) if baseline is not None else None
    _write_reports(plan, report, state, args, inv)
    from tfguard.checks.checkov_env import checkov_warning_summary  # no Checkov import: a cached scan stays fast
    if not args.quiet and (warned := checkov_warning_summary(report.checkov_warnings)) is not None:
        print(warned, file=err)
    threshold: Severity | None = args.fail_on
    failing = [
        f for f in report.findings
        if f.result is Result.FAILED and (threshold is None or f.severity.rank >= threshold.rank)
        and (state is None or state.get(id(f)) != "unchanged")
    ]
    # each path under its own configuration's gate (a named file: the repository root's, see config_dir)
    verdict = decide_scoped(report, failing, [(p, _gate_options(args, engine.checkov_config(config_dir(engine, p))))
                                              for p in paths])
    if verdict.reason is not None:
        reason = verdict.reason
        if report.files_scanned == 0:
            plans = [f for p in paths if os.path.isdir(p) for f in plan_files_under(p)]
            if plans:
                reason += (f" ({os.path.relpath(plans[0], inv.cwd)} is a Terraform plan: name it on the command"
                           " line to scan it)")
        print(f"tfguard: error: {reason}", file=err)
    return verdict.exit_code


@contextlib.contextmanager
def _progress(args: argparse.Namespace, inv: Invocation) -> Iterator[Progress | None]:
    """A progress bar on the invocation's stderr while the scan runs, when that is a terminal (not with
    ``--quiet``); erased afterwards."""
    if args.quiet or not inv.stderr_isatty:
        yield None
        return
    from tfguard.scan.progress import ProgressBar

    try:
        delay = float(inv.environ.get("TFGUARD_PROGRESS_DELAY", "0.5"))
    except ValueError:
        delay = 0.5
    bar = ProgressBar(inv.stderr, inv.cwd, delay=delay)
    try:
        yield bar
    finally:
        bar.close()


def render(fmt: str, report: ScanReport, state: Mapping[int, str] | None, args: argparse.Namespace,
           inv: Invocation, color: bool) -> str:
    """One report in format ``fmt`` (one of :data:`FORMATS`)."""
    from tfguard.scan import formats
    from tfguard.scan.report import render_json, render_sarif, render_text

    if fmt == "json":
        return render_json(report, baseline_state=state)
    if fmt == "sarif":
        return render_sarif(report, baseline_state=state)
    if fmt == "cli":
        return render_text(report, show_passed=args.show_passed, color=color, baseline_state=state, cwd=inv.cwd,
                           quiet=args.quiet, group_by=args.group_by)
    renderer = {"compact": formats.render_compact, "junitxml": formats.render_junitxml,
                "gitlab_sast": formats.render_gitlab_sast, "github": formats.render_github,
                "csv": formats.render_csv, "markdown": formats.render_markdown}[fmt]
    return renderer(report, inv.cwd, state)


def _write_reports(plan: list[tuple[str, str | None]], report: ScanReport, state: Mapping[int, str] | None,
                   args: argparse.Namespace, inv: Invocation) -> None:
    """Every report of the plan to its file or stdout (several on stdout: Checkov's delimiter between)."""
    console = [fmt for fmt, dest in plan if dest is None]
    for i, fmt in enumerate(console):
        if i:
            inv.stdout.write(OUTPUT_DELIMITER)
        inv.stdout.write(render(fmt, report, state, args, inv, use_color(args, inv)))
    for fmt, dest in plan:
        if dest is not None:
            path = inv.resolve(dest)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            _write(render(fmt, report, state, args, inv, False), path, inv)


def _selects_nothing(args: argparse.Namespace, engine: Engine, paths: list[str], external: tuple[str, ...],
                     err: TextIO) -> bool:
    """Report the selection entries that match no check (see :mod:`tfguard.checks.selection`); True when one of
    them must stop the scan (exit 2). A ``.checkov.yaml``'s ``check:`` / ``skip-check:`` entries are located
    problems of the scan itself (:func:`~tfguard.checks.selection.config_problems`, also in the editor): here
    only those that stop it are printed, as configuration errors are."""
    from tfguard.checks.selection import config_problems, known_check_ids, unmatched
    from tfguard.scan.runner import config_dir

    stop = False
    seen: set[str | None] = set()
    for i, scan_dir in enumerate(dict.fromkeys(config_dir(engine, p) for p in paths)):
        cfg = engine.checkov_config(scan_dir)  # every configuration in force, each once: any of them may stop it
        if cfg.path in seen:
            continue
        seen.add(cfg.path)
        where = os.path.relpath(cfg.path) if cfg.path else ".checkov.yaml"
        gate = _gate_options(args, cfg)
        selections = [(f"--{option}", entries, is_gate, error) for option, given, entries, is_gate, error in (
            ("check", args.check, cfg.checks, False, True),
            ("skip-check", args.skip_check, cfg.skip_checks, False, False),
            ("hard-fail-on", args.hard_fail_on, gate.hard_fail_on, True, True),
            ("soft-fail-on", args.soft_fail_on, gate.soft_fail_on, True, False)) if given is not None and i == 0]
        selections += [(f"{where} {option}:", entries, True, error) for option, given, entries, error in (
            ("hard-fail-on", args.hard_fail_on, gate.hard_fail_on, True),
            ("soft-fail-on", args.soft_fail_on, gate.soft_fail_on, False)) if given is None]
        if not cfg.selection_lines and not any(entries for _, entries, _, _ in selections):
            continue  # nothing to look at: Checkov's checks are not even imported
        policy_dirs = external + cfg.external_checks_dirs + engine.extra_policy_dirs(scan_dir)
        known = known_check_ids(policy_dirs)
        stops = [p for p in config_problems(cfg, policy_dirs, known) if p.severity is Severity.HIGH]
        for p in stops:
            print(f"{p.file}:{p.span.start.line + 1}:{p.span.start.character + 1}: error: {p.message}", file=err)
        found = unmatched(selections, known)
        for u in found:
            print(u.line(known), file=err)
        stop = stop or bool(stops) or any(u.error for u in found)
    return stop


def _selected(check_id: str, checks: tuple[str, ...] | None, skip_checks: tuple[str, ...] | None) -> bool:
    """Checkov's ``--check`` / ``--skip-check`` on a check id: ids and fnmatch wildcards."""
    from tfguard.checks.selection import hit

    return (not checks or hit(check_id, checks)) and not (skip_checks and hit(check_id, skip_checks))


def _split(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(v for value in values for v in _csv_list(value))


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


def cmd_plan_review(args: argparse.Namespace, invocation: Invocation | None = None) -> int:
    """``tfguard plan-review PLAN``: the security delta as Markdown or JSON; exit 1 when the plan introduces a
    failed check at or above ``--fail-on``, 2 when a plan cannot be read or the review is incomplete."""
    import json

    from tfguard.files import repository_root
    from tfguard.scan.inputs import is_plan_file, plan_refusal
    from tfguard.scan.plan_review import gate, review_json, review_markdown, review_plan
    from tfguard.scan.verdict import EXIT_ERROR, incomplete_inputs
    from tfguard.wiring import make_engine

    inv = Invocation.from_process() if invocation is None else invocation
    err = inv.stderr
    plans = [(args.plan, inv.resolve(args.plan))] + ([(args.base, inv.resolve(args.base))] if args.base else [])
    for given, p in plans:
        if not os.path.isfile(p):
            print(f"tfguard: error: no such file: {given}", file=err)
            return EXIT_USAGE
        why = plan_refusal(p) if is_plan_file(p) else "is not a Terraform plan (terraform show -json)"
        if why is not None:
            print(f"tfguard: error: cannot review {given}: it {why}", file=err)
            return EXIT_USAGE
    plan = plans[0][1]
    if (why := _repo_root_refusal(inv, args.repo_root)) is not None:
        print(why, file=err)
        return EXIT_USAGE
    repo_root = inv.resolve(args.repo_root) if args.repo_root else repository_root(plan, fallback=inv.cwd)
    try:
        engine = make_engine(plan, config_file=_opt_path(inv, args.config), repo_root=repo_root)
    except ValueError as e:
        print(f"tfguard: error: {e}", file=err)
        return EXIT_USAGE
    review = review_plan(engine, plan, repo_root, base=plans[1][1] if args.base else None)
    doc = review_json(review, repo_root)
    markdown = review_markdown(review, repo_root)
    _write(json.dumps(doc, indent=2) + "\n" if args.format == "json" else markdown, args.output, inv)
    if args.markdown:
        with open(inv.resolve(args.markdown), "a", encoding="utf-8") as f:
            f.write(markdown)
    if args.json:
        with open(inv.resolve(args.json), "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, indent=2) + "\n")
    incomplete = incomplete_inputs(review.problems)
    if incomplete:
        print(f"tfguard: error: the review is incomplete: {incomplete[0].file}: {incomplete[0].message}", file=err)
        return EXIT_ERROR
    return EXIT_FINDINGS if gate(review, args.fail_on) else EXIT_OK


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
    if invocation is None and argv is None and "_ARGCOMPLETE" in os.environ:
        _complete()  # shell completion: answers and exits
    inv = Invocation.from_process() if invocation is None else invocation
    try:
        return _run(list(sys.argv[1:] if argv is None else argv), inv, forward=True)
    except Exception as e:  # outside the command's own guard (logging setup, --log-file): still not 1
        print(f"tfguard: error: {type(e).__name__}: {e}", file=inv.stderr)
        return EXIT_USAGE


def _complete() -> None:
    """Shell completion with argcomplete (installed with Checkov): enable it with
    ``eval "$(register-python-argcomplete tfguard)"``. Checkov's form (no ``scan``) completes as ``scan``."""
    try:
        import argcomplete
    except ImportError:
        return
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    if len(words) >= 2 and words[1].startswith("-"):  # `tfguard -d …`: complete `tfguard scan -d …`
        head = words[0]
        point = int(os.environ.get("COMP_POINT", len(line)))
        os.environ["COMP_LINE"] = line.replace(head, f"{head} scan", 1)
        os.environ["COMP_POINT"] = str(point + len(" scan"))
    argcomplete.autocomplete(build_parser())


def serve_request(argv: Sequence[str], invocation: Invocation) -> int:
    """The daemon's ``run``: ``tfguard scan <args>`` in this process for the client ``invocation``.

    Never forwarded to a daemon; logging goes to the client's stderr only (not to the daemon's log).
    Only ``scan`` runs here (the daemon refuses anything else before calling this).
    """
    if not argv or argv[0] != "scan":
        print("tfguard: error: only `tfguard scan` runs in the daemon", file=invocation.stderr)
        return EXIT_USAGE
    try:
        return _run(list(argv), invocation, forward=False)
    except Exception as e:  # as in main: a crash is never "findings" (1)
        print(f"tfguard: error: {type(e).__name__}: {e}", file=invocation.stderr)
        return EXIT_USAGE


COMMANDS = ("scan", "suppressions", "plan-review", "daemon", "serve")


def checkov_style(argv: list[str]) -> list[str]:
    """``tfguard -d DIR …`` (Checkov's command line, no command) is ``tfguard scan -d DIR …``."""
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        return ["scan", *argv]
    return argv


def _parse(argv: list[str], inv: Invocation) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported with the usage of its command, not tfguard's."""
    parser = build_parser(inv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = getattr(parser, "commands", {}).get(getattr(args, "command", None), parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _run(argv: list[str], inv: Invocation, forward: bool) -> int:
    argv = checkov_style(argv)
    args = _parse(argv, inv)
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
            if args.command == "plan-review":
                return cmd_plan_review(args, inv)
            return cmd_suppressions(args, inv)
        except Exception as e:  # a crash is not "findings" (1): a one-line error, the traceback at DEBUG
            log.debug("tfguard %s crashed", args.command, exc_info=True)
            print(f"tfguard: error: {type(e).__name__}: {e} (see --log-file / -v for the traceback)", file=inv.stderr)
            return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
