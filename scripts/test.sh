#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   setup (venv + tfguard + dev tools), real editors for the client tests (apt, best effort),
#   ruff, mypy, pytest (unit, LSP over stdio, real Neovim/Emacs, corpus parity, fuzz short budget),
#   and the VS Code extension's compile, lint and unit tests (npm).
# Extra arguments go to pytest. TFGUARD_E2E=1 also runs the VS Code end-to-end test (code-server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-editors.sh || echo "test.sh: editors not installed; their tests will skip" >&2
.venv/bin/ruff check server tests bench
.venv/bin/mypy
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent lint
  npm test
else
  echo "test.sh: npm not found; the VS Code extension's checks did not run" >&2
  status=1
fi
exit $status
