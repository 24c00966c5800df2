"""Import Checkov once, offline and quiet.

Everything that touches Checkov goes through :func:`checkov_modules`, which sets the
environment Checkov reads at import time (no forking, no platform calls, no update check)
before the first import. Importing takes about two seconds; it happens once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
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

# Registries are global mutable state in Checkov: run one scan at a time per process.
run_lock = threading.RLock()


@dataclass(frozen=True)
class CheckovModules:
    version: str
    Runner: Any
    RunnerFilter: Any
    registries: dict[str, Any]  # block type -> registry
    graph_registry: Any


def prepare_environment() -> None:
    """Set the environment Checkov reads at import: offline, no forks, quiet."""
    for key, value in _DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    for key in _FORCED_OFF:
        os.environ.pop(key, None)
    os.environ["BC_ENABLE_PERSIST_GRAPHS"] = "false"


def checkov_modules() -> CheckovModules:
    """Import Checkov (once) and return the pieces tfguard uses."""
    global _modules
    if _modules is not None:
        return _modules
    with _lock:
        if _modules is not None:
            return _modules
        prepare_environment()
        import checkov.common.checks_infra.registry as graph_reg_mod
        from checkov.runner_filter import RunnerFilter
        from checkov.terraform.checks.data.registry import data_registry
        from checkov.terraform.checks.module.registry import module_registry
        from checkov.terraform.checks.provider.registry import provider_registry
        from checkov.terraform.checks.resource.registry import resource_registry
        from checkov.terraform.runner import Runner
        from checkov.version import version

        from tfguard.hcl.harden import harden_hcl2

        harden_hcl2()  # Checkov's runner shares the hcl2 parser: same backtracking fix (see harden.py)
        from tfguard.checks import memo, readguard

        memo.install()  # tier 2 reuses parses and expression evaluations between runs (see memo.py)
        readguard.install()  # Checkov opens no FIFO, device, huge file or symlink out of the repository
        for name in ("checkov", "urllib3", "requests"):
            logging.getLogger(name).setLevel(logging.ERROR)
        _modules = CheckovModules(
            version=version,
            Runner=Runner,
            RunnerFilter=RunnerFilter,
            registries={
                "resource": resource_registry,
                "data": data_registry,
                "provider": provider_registry,
                "module": module_registry,
            },
            graph_registry=graph_reg_mod.get_graph_checks_registry("terraform"),
        )
        log.info("checkov %s loaded", version)
        # Checkov's import leaves about a million long-lived objects (registries, grammars): out of
        # the collector's way (see gctuning).
        gctuning.settle()  # O(1); the server's idle maintenance collects what this kept
        return _modules
