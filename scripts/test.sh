#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   setup (venv + tfguard + dev tools), real editors for the client tests (apt, best effort),
#   ruff, mypy, the VS Code extension's compile, lint and unit tests (npm), then pytest (unit,
#   LSP over stdio, real Neovim/Emacs, corpus parity, fuzzing with a short budget).
# Extra arguments go to pytest (after -n 2 --dist loadfile). The VS Code end-to-end test is its own command: scripts/e2e-vscode.sh.
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
# pytest on two worker processes (TFGUARD_TEST_WORKERS; 0 runs it in this process), each test file whole in
# one of them (--dist loadfile: a file's module fixtures, such as its warm corpus copy, stay shared). Run
# serially the suite keeps about one core of two busy (111% CPU on a quiet 2-core VM: 16 min 21 s; on
# two processes 189%: 10 min 52 s).
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n "${TFGUARD_TEST_WORKERS:-2}" --dist loadfile "$@"
