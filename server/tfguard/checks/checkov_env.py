"""Import Checkov once, offline and quiet.

Everything that touches Checkov goes through :func:`checkov_modules`, which sets the
environment Checkov reads at import time (no forking, no platform calls, no update check)
before the first import. Importing takes one to two seconds; it happens once per process.

The language server imports Checkov in the background from the moment it starts
(:func:`import_in_background`), so its first analysis need not wait for it: while the import
runs, :func:`checks_pending` says so and tier 1 answers with everything that needs no Checkov
(syntax, tfguard's rules), saying Checkov's checks are still loading, then again once they are.
Without a background import (the CLI) the first check imports Checkov where it runs.
"""

from __future__ import annotations

import contextvars
import functools
import importlib.util
import logging
import os
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tfguard import gctuning

log = logging.getLogger(__name__)

# Read by Checkov at import time. Set before the first import, never overridden if the
# user set them explicitly (except the ones that would reach the network).
_DEFAULT_ENV = {
    "CHECKOV_PARALLELIZATION_TYPE": "none",  # no forked workers inside a language server
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "BC_SKIP_MAPPING": "TRUE",  # no download of the vendor's id mapping
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "CKV_VALIDATE_SECRETS": "false",
    "LOG_LEVEL": "ERROR",
    "CHECKOV_EXPERIMENTAL_TERRAFORM_MANAGED_MODULES": "false",
}
_FORCED_OFF = ("BC_API_KEY", "BC_API_URL", "PRISMA_API_URL", "BC_ENABLE_PERSIST_GRAPHS")

_lock = threading.Lock()
_modules: CheckovModules | None = None
_background: threading.Thread | None = None  # the background import, once started
# For tests and diagnosis only: the background import starts this many milliseconds late, after the first
# analysis and the cache's turn (order-of-operations tests prove the first answers do not wait for it).
IMPORT_DELAY_ENV = "TFGUARD_CHECKOV_IMPORT_DELAY_MS"
# The background import lets the first analysis go first (both are CPU work under one GIL: running them
# side by side delays the first diagnostics and brings Checkov's no sooner), waiting at most this long.
FIRST_ANALYSIS_WAIT = 1.5
_analysed = threading.Event()  # set at the end of each tier-1 analysis (analysis_done)


_cache_turn = threading.Event()  # set once the first analysis answered: tier 1 may use the disk cache while loading


def cache_turn() -> bool:
    """True once tier 1 may show an earlier session's results while Checkov loads (see
    :func:`import_in_background`): the first answer comes without them, as fast as it can."""
    return _cache_turn.is_set()


def analysis_done() -> None:
    """A tier-1 analysis answered: the background import may take the processor (cheap; any thread)."""
    _analysed.set()

# Registries are global mutable state in Checkov: run one scan at a time per process.
run_lock = threading.RLock()


class CheckovModules:
    """The pieces of Checkov tfguard uses. The check registries (what tier 1 needs) are imported first;
    Checkov's runner and graph-check registry (tier 2, scans) on first use, or by the background import
    right after the registries (:func:`import_in_background`): about a third of the import, kept off the
    path to the first diagnostics."""

    def __init__(self, version: str, runner_filter: Any, registries: dict[str, Any]) -> None:
        self.version = version
        self.RunnerFilter = runner_filter
        self.registries = registries  # block type -> registry
        self._runner: tuple[Any, Any] | None = None  # (Runner, graph registry)
        self._runner_lock = threading.Lock()

    @property
    def Runner(self) -> Any:  # noqa: N802 (Checkov's class)
        return self._runner_parts()[0]

    @property
    def graph_registry(self) -> Any:
        return self._runner_parts()[1]

    def _runner_parts(self) -> tuple[Any, Any]:
        got = self._runner
        if got is not None:
            return got
        with self._runner_lock:
            if self._runner is None:
                complete_terraform_package()  # what the runner needs beyond the check registries
                import checkov.common.checks_infra.registry as graph_reg_mod
                from checkov.terraform.runner import Runner

                from tfguard.hcl.harden import harden_hcl2

                harden_hcl2()  # Checkov's runner shares the hcl2 parser: same backtracking fix (see harden.py)
                from tfguard.checks import graph_memo, memo, readguard

                graph_memo.warning_kinds, graph_memo.add_warnings = checkov_warning_kinds, add_checkov_warnings
                memo.install()  # tier 2 reuses parses and expression evaluations between runs (see memo.py)
                readguard.install()  # Checkov opens no FIFO, device, huge file or symlink out of the repository
                for name in ("urllib3", "requests"):
                    logging.getLogger(name).setLevel(logging.ERROR)
                self._runner = (Runner, graph_reg_mod.get_graph_checks_registry("terraform"))
                log.info("checkov runner loaded")
                gctuning.settle()  # its long-lived objects out of the collector's way (see gctuning)
            return self._runner


def prepare_environment() -> None:
    """Set the environment Checkov reads at import: offline, no forks, quiet."""
    for key, value in _DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    for key in _FORCED_OFF:
        os.environ.pop(key, None)
    os.environ["BC_ENABLE_PERSIST_GRAPHS"] = "false"


def checkov_modules() -> CheckovModules:
    """Import Checkov (once), all of it (runner, graph checks, tfguard's memos and guards installed), and
    return the pieces tfguard uses."""
    modules = checkov_checks()
    modules.Runner  # noqa: B018 (imports the runner and installs what it needs)
    return modules


def checkov_checks() -> CheckovModules:
    """Import Checkov's check registries (once): what tier 1's per-block checks need, about two thirds of
    the import. The runner and graph checks follow on first use (:func:`checkov_modules`)."""
    global _modules
    if _modules is not None:
        return _modules
    with _lock:
        if _modules is not None:
            return _modules
        prepare_environment()
        install_log_capture()  # first: Checkov's import-time warnings too (see install_log_capture)
        _defer_terraform_package()
        from checkov.runner_filter import RunnerFilter
        from checkov.terraform.checks.data.registry import data_registry
        from checkov.terraform.checks.module.registry import module_registry
        from checkov.terraform.checks.provider.registry import provider_registry
        from checkov.terraform.checks.resource.registry import resource_registry
        from checkov.version import version

        install_check_error_hook()  # a check that raises is recorded as data (see errors.py)
        install_policy_cache()  # IAM checks: no stale policy from an earlier text (see there)
        _modules = CheckovModules(
            version=version,
            runner_filter=RunnerFilter,
            registries={
                "resource": resource_registry,
                "data": data_registry,
                "provider": provider_registry,
                "module": module_registry,
            },
        )
        log.info("checkov %s loaded", version)
        # Checkov's import leaves about a million long-lived objects (registries, grammars): out of
        # the collector's way (see gctuning).
        gctuning.settle()  # O(1); the server's idle maintenance collects what this kept
        return _modules


# ``checkov/terraform/__init__.py`` imports the check registries and also ``checkov.terraform.modules``
# (module loading, ~0.3-0.5 s: json utilities, detect-secrets, requests), which only the runner needs. The
# registries are imported first with that package body deferred (the package object is in place, its
# ``__init__`` not run yet); :func:`complete_terraform_package` runs it before the runner is imported.
_deferred: tuple[Any, types.ModuleType] | None = None  # (spec, package) of checkov.terraform, not yet executed
_deferred_lock = threading.RLock()


def _defer_terraform_package() -> None:
    global _deferred
    if "checkov.terraform" in sys.modules:
        return
    spec = importlib.util.find_spec("checkov.terraform")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)

    def complete_on_use(name: str) -> Any:
        """A name the package's ``__init__`` defines (``from checkov.terraform import TFDefinitionKey``):
        the package is completed first, on whichever thread asks (PEP 562)."""
        if _deferred is None or name.startswith("__"):
            raise AttributeError(f"module 'checkov.terraform' has no attribute {name!r}")
        complete_terraform_package()
        return getattr(package, name)

    package.__getattr__ = complete_on_use  # type: ignore[method-assign]
    sys.modules["checkov.terraform"] = package
    setattr(sys.modules["checkov"], "terraform", package)  # noqa: B010 (as the import system does for a submodule)
    _deferred = (spec, package)


def complete_terraform_package() -> None:
    """Run ``checkov/terraform/__init__.py`` if :func:`checkov_checks` deferred it (once; any thread)."""
    global _deferred
    with _deferred_lock:
        got, _deferred = _deferred, None
        if got is None:
            return
        spec, package = got
        vars(package).pop("__getattr__", None)  # missing names are missing again
        t0 = time.perf_counter()
        try:
            spec.loader.exec_module(package)
        except Exception:
            log.exception("importing checkov.terraform failed")
            raise
        log.info("checkov.terraform completed in %.2f s", time.perf_counter() - t0)


def import_in_background(on_ready: Callable[[], None] | None = None,
                         on_cache_turn: Callable[[], None] | None = None,
                         cache_wanted: Callable[[], bool] | None = None) -> threading.Thread:
    """Import Checkov on a daemon thread (once per process), once the first analysis has answered
    (:func:`analysis_done`) or :data:`FIRST_ANALYSIS_WAIT` seconds have passed; ``on_ready`` runs on
    that thread when the check registries are in (also after a failed import: the next
    :func:`checkov_checks` raises the error where it is used). Then, once the documents were analysed
    again (or that wait passed), the runner is imported too: warm for the first module run.

    Before the import, after the first answer: :func:`cache_turn` becomes true and, when ``cache_wanted()``
    says a document was analysed without an earlier session's results the disk cache has for it
    (:attr:`tfguard.checks.entity_cache.EntityCache.wanted`), ``on_cache_turn`` runs (the documents are
    analysed again, with them) and the import waits for that answer too (at most the same time)."""
    global _background
    with _lock:
        if _background is not None:
            return _background

        def run() -> None:
            _analysed.wait(FIRST_ANALYSIS_WAIT)
            _cache_turn.set()
            if on_cache_turn is not None and cache_wanted is not None and cache_wanted():
                _analysed.clear()
                on_cache_turn()
                _analysed.wait(FIRST_ANALYSIS_WAIT)  # Checkov's findings from the cache first
            try:
                delay = int(os.environ.get(IMPORT_DELAY_ENV, "0") or 0)
            except ValueError:
                delay = 0
            if delay > 0:  # tests: the import itself starts late (after the first answers and the cache's)
                threading.Event().wait(delay / 1000)
            modules = None
            try:
                modules = checkov_checks()
            except Exception:
                log.exception("importing Checkov failed")
            if on_ready is not None:
                _analysed.clear()
                on_ready()
                _analysed.wait(FIRST_ANALYSIS_WAIT)  # the documents analysed again with Checkov's checks first
            if modules is not None:  # then the rest, so that the first module run finds Checkov warm
                try:
                    modules.Runner  # noqa: B018 (imports it)
                except Exception:
                    log.exception("importing Checkov's runner failed")
                from tfguard.checks import iam_memo

                iam_memo.prewarm()  # the first wildcard IAM policy typed costs what any other does

        _background = threading.Thread(target=run, name="tfguard-checkov-import", daemon=True)
        _background.start()
        return _background


def loaded_modules() -> CheckovModules | None:
    """Checkov's pieces if its check registries are imported, else None (imports nothing)."""
    return _modules


def checks_pending() -> bool:
    """True while a background import of Checkov is under way (its checks cannot run yet without
    waiting). False once Checkov is imported, and without a background import (then the first check
    imports it where it runs: the CLI, tests)."""
    if _modules is not None:
        return False
    background = _background
    return background is not None and background.is_alive()


# ------------------------------------------------------------------ Checkov's logs
#
# Checkov logs through its module loggers (``checkov.*``) and, often, through the root logger
# (``logging.warning(...)`` in its modules). Neither reaches the terminal: both are re-logged to
# ``tfguard.checkov`` at DEBUG (visible with -vv or in a log file at that level), and WARNING and
# above are counted, by kind, for one summary line.

_checkov_log = logging.getLogger("tfguard.checkov")
_CHECKOV_DIR = ""  # the checkov package's directory, set by install_log_capture
_warning_lock = threading.Lock()
_warnings: Counter[str] = Counter()
_KINDS = (  # (path fragment of the module that logged, kind shown in the summary)
    ("safe_eval", "safe-evaluation errors"),
    ("variable_rendering", "safe-evaluation errors"),
    ("module_loading", "module loading"),
    ("tf_parser", "parsing"),
    ("context_parsers", "context"),
)


def _kind(record: logging.LogRecord) -> str:
    message = record.getMessage().lower()
    if "module" in message and "load" in message:  # tf_parser logs module loading failures too
        return "module loading"
    path = record.pathname.replace(os.sep, "/")
    for fragment, kind in _KINDS:
        if fragment in path:
            return kind
    if message.startswith("failed to find context"):
        return "context"
    return "other"


def _divert(record: logging.LogRecord) -> None:
    """Count a Checkov record of WARNING or above, and re-log it to tfguard's log at DEBUG."""
    if record.levelno >= logging.WARNING:
        with _warning_lock:
            _warnings[_kind(record)] += 1
    if _checkov_log.isEnabledFor(logging.DEBUG):
        exc = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
        _checkov_log.debug("[%s %s] %s", record.levelname, record.name, record.getMessage(), exc_info=exc)


class _CheckovHandler(logging.Handler):
    """The only handler of the ``checkov`` logger (which no longer propagates)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _divert(record)
        except Exception:  # a log record must never break a scan
            self.handleError(record)


class _RootFilter(logging.Filter):
    """On the root logger: records Checkov's modules log through ``logging.warning(...)`` are diverted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _CHECKOV_DIR and record.pathname.startswith(_CHECKOV_DIR):
            _divert(record)
            return False
        return True


def install_log_capture() -> None:
    """Route Checkov's logs (its loggers and its root-logger calls) to tfguard's log at DEBUG. Idempotent."""
    global _CHECKOV_DIR
    import checkov

    _CHECKOV_DIR = os.path.dirname(os.path.abspath(checkov.__file__)) + os.sep
    ck = logging.getLogger("checkov")
    ck.setLevel(logging.WARNING)  # debug/info records are not even created
    ck.propagate = False
    if not any(isinstance(h, _CheckovHandler) for h in ck.handlers):
        ck.addHandler(_CheckovHandler())
    root = logging.getLogger()
    if not any(isinstance(f, _RootFilter) for f in root.filters):
        root.addFilter(_RootFilter())


def checkov_warning_count() -> int:
    """Checkov warnings (and errors) logged in this process so far."""
    with _warning_lock:
        return sum(_warnings.values())


def checkov_warning_kinds() -> dict[str, int]:
    """Checkov warnings logged in this process so far, by kind (safe-evaluation errors, module loading, …)."""
    with _warning_lock:
        return dict(_warnings)


def add_checkov_warnings(kinds: tuple[tuple[str, int], ...]) -> None:
    """Count ``kinds`` ((kind, n), ...) again: the warnings of Checkov work a memo replays (graph_memo)."""
    with _warning_lock:
        for kind, n in kinds:
            _warnings[kind] += n


def checkov_warning_summary(kinds: dict[str, int]) -> str | None:
    """The one line the CLI prints about Checkov's warnings (``kinds``: kind -> count), or None when none."""
    count = sum(kinds.values())
    if count <= 0:
        return None
    named = [k for k, _ in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])) if kinds[k] > 0]
    noun = "warning" if count == 1 else "warnings"
    return f"tfguard: {count} Checkov {noun} ({', '.join(named)}); details with -vv (DEBUG log)"


# ------------------------------------------------------------------ checks that raise
#
# Checkov 3.3.30: ``BaseCheck.run`` calls ``log_check_error`` (a traceback at ERROR on the root
# logger) and re-raises; ``BaseCheckRegistry.run_check`` turns the exception into an UNKNOWN
# result and ``Report.add_record`` drops it: the run goes on, and says nothing. tfguard wraps
# ``BaseCheck.run`` (re-raising, so Checkov's own handling is unchanged) and hands the exception to
# the sink of the current run (a context variable: only the thread running ``run_checkov`` sees
# it; tier 1, on other threads, catches exceptions itself). Graph checks run in Checkov's thread
# pool, where an exception is lost in its future: ``run_check_parallel`` is wrapped too.

CheckErrorSink = Callable[[Any, str, dict[str, Any], str, str, BaseException], None]
"""(check, scanned_file, entity_configuration, entity_name, entity_type, exception)"""

_sink: contextvars.ContextVar[CheckErrorSink | None] = contextvars.ContextVar("tfguard_check_error_sink",
                                                                                default=None)
_graph_sink: CheckErrorSink | None = None  # set under run_lock by collect_check_errors


@contextmanager
def collect_check_errors(sink: CheckErrorSink) -> Iterator[None]:
    """Within the block, checks that raise (Python checks on this thread, graph checks) call ``sink``.

    Hold ``run_lock``: the graph checks' sink is process-wide.
    """
    global _graph_sink
    token = _sink.set(sink)
    policies = _run_policies.set({})  # a fresh policy-document cache per run, as a new checkov process
    _graph_sink = sink
    try:
        yield
    finally:
        _graph_sink = None
        _run_policies.reset(policies)
        _sink.reset(token)


# ------------------------------------------------------------------ IAM policy documents (cloudsplaining)
#
# Checkov 3.3.30's IAM checks (CKV_AWS_109/111/356 on aws_iam_policy_document, CKV_AWS_355 on policy
# resources) keep the parsed policy in a class-level dict keyed by "file:type:name" and never clear it:
# right for one ``checkov -d`` process, stale in a warm one (an edited policy kept its first result;
# tier 1, whose scanned file is "/main.tf" for every main.tf, even mixed up blocks of different modules).
# The dict is replaced: within a Checkov run (``collect_check_errors``) each run has its own, as a new
# process would; tier 1 gives each block's checks one of their own (``entity_policies``), as the checks of
# one entity share it in a run; anywhere else every check parses the policy anew. What parsing a policy
# costs is memoized by :mod:`tfguard.checks.iam_memo` (by the policy's content).

_run_policies: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("tfguard_iam_policies",
                                                                                     default=None)
_block_policies = threading.local()


class _PolicyDocuments(dict):  # type: ignore[type-arg]
    """Stands in for ``BaseTerraformCloudsplainingIAMScanner.policy_document_cache`` (see above)."""

    def _current(self, fresh: bool = False) -> dict[str, Any]:
        run = _run_policies.get()
        if run is not None:
            return run
        if fresh or not hasattr(_block_policies, "d"):
            _block_policies.d = {}
        return _block_policies.d  # type: ignore[no-any-return]

    def keys(self) -> Any:  # the scanner asks ``key not in cache.keys()`` first: a new check starts here
        return self._current(fresh=True).keys()

    def __contains__(self, key: object) -> bool:
        return key in self._current()

    def __setitem__(self, key: str, value: Any) -> None:
        self._current()[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._current()[key]


@contextmanager
def entity_policies() -> Iterator[None]:
    """Within the block, the checks share one policy-document cache, as the checks of one entity do
    within a Checkov run (its key is the entity's file, type and name): tier 1's checks of one block."""
    token = _run_policies.set({})
    try:
        yield
    finally:
        _run_policies.reset(token)


def install_policy_cache() -> None:
    """Replace Checkov's never-cleared IAM policy cache (see above); once."""
    from checkov.terraform.checks.utils.base_cloudsplaining_iam_scanner import BaseTerraformCloudsplainingIAMScanner

    if not isinstance(BaseTerraformCloudsplainingIAMScanner.policy_document_cache, _PolicyDocuments):
        BaseTerraformCloudsplainingIAMScanner.policy_document_cache = _PolicyDocuments()
    from tfguard.checks import iam_memo

    iam_memo.install()  # every check parses its policy anew: what a wildcard expands to is memoized


def _log_check_error(self: Any, scanned_file: str, entity_type: str, entity_name: str,
                     entity_configuration: dict[str, Any]) -> None:
    """Replaces ``BaseCheck.log_check_error``: the traceback goes to tfguard's log at DEBUG only
    (the error itself is reported as a ``check-error`` problem)."""
    _checkov_log.debug("check %s raised on %s:%s.%s", getattr(self, "id", "?"), scanned_file, entity_type,
                       entity_name, exc_info=True)


def install_check_error_hook() -> None:
    """Wrap Checkov's check execution once so that a check that raises is recorded (see above)."""
    from checkov.common.checks.base_check import BaseCheck
    from checkov.common.graph.checks_infra.registry import BaseRegistry

    if not getattr(BaseCheck.run, "_tfguard_hook", False):
        orig_run = BaseCheck.run

        @functools.wraps(orig_run)
        def run(self: Any, scanned_file: str, entity_configuration: dict[str, Any], entity_name: str,
                entity_type: str, skip_info: Any) -> Any:
            try:
                return orig_run(self, scanned_file, entity_configuration, entity_name, entity_type, skip_info)
            except Exception as e:
                sink = _sink.get()
                if sink is not None:
                    sink(self, scanned_file, entity_configuration, entity_name, entity_type, e)
                raise

        run._tfguard_hook = True  # type: ignore[attr-defined]
        BaseCheck.run = run  # type: ignore[method-assign]
        BaseCheck.log_check_error = _log_check_error  # type: ignore[method-assign]

    if not getattr(BaseRegistry.run_check_parallel, "_tfguard_hook", False):
        orig_parallel = BaseRegistry.run_check_parallel

        @functools.wraps(orig_parallel)
        def run_check_parallel(self: Any, check: Any, check_results: Any, graph_connector: Any) -> None:
            try:
                orig_parallel(self, check, check_results, graph_connector)
            except Exception as e:
                _checkov_log.debug("graph check %s raised", getattr(check, "id", "?"), exc_info=True)
                sink = _graph_sink
                if sink is not None:
                    sink(check, "", {}, "", "", e)
                raise

        run_check_parallel._tfguard_hook = True  # type: ignore[attr-defined]
        BaseRegistry.run_check_parallel = run_check_parallel  # type: ignore[method-assign]
