#!/usr/bin/env bash
# The whole test suite: setup, ruff, mypy, pytest (unit, LSP, real editors, corpus parity).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check server tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
