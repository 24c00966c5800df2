#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   setup (venv + tfguard + dev tools), real editors for the client tests (apt, best effort),
#   ruff, mypy, the VS Code extension's compile, lint and unit tests (npm), then pytest (unit,
#   LSP over stdio, real Neovim/Emacs, corpus parity, fuzzing with a short budget).
# Extra arguments go to pytest. The VS Code end-to-end test is its own command: scripts/e2e-vscode.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-editors.sh || echo "test.sh: editors not installed; their tests will skip" >&2
.venv/bin/ruff check server tests bench
.venv/bin/mypy
if command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent lint
  npm test
else
  echo "test.sh: npm not found: the VS Code extension cannot be built or tested" >&2
  exit 1
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
