#!/usr/bin/env bash
# Create .venv and install tfguard (with Checkov and its own hcl2 fork) plus the dev tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
# Byte-compile tfguard itself (an editable install is not compiled, and with PYTHONDONTWRITEBYTECODE
# set every `tfguard` process would compile its sources again: ~0.1 s of each start-up).
.venv/bin/python -m compileall -q server/tfguard >/dev/null
# Checkov pins bc-python-hcl2 (import name `hcl2`); python-hcl2 must never share the environment.
if .venv/bin/python -m pip show python-hcl2 >/dev/null 2>&1; then
  echo "error: python-hcl2 is installed next to Checkov's bc-python-hcl2; remove it" >&2
  exit 2
fi
