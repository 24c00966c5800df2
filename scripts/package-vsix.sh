#!/usr/bin/env bash
# Package the VS Code extension with its server: `npm run package [-- --out FILE.vsix]`.
#
# 1. checks that package.json and pyproject.toml carry the same version (the extension refuses a
#    server of another version);
# 2. builds tfguard's own wheel into client/server/ and writes client/server/manifest.json
#    (version, wheel file, its sha256, the lock's target);
# 3. copies the hash-pinned lock requirements/server.lock to client/server/requirements.txt
#    (regenerate the lock with scripts/lock-server-requirements.py);
# 4. compiles the client and runs vsce.
# Environment: PYTHON (default .venv/bin/python, else python3) builds the wheel.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
say() { echo "package-vsix: $*" >&2; }

ext_version="$(node -p 'require("./package.json").version')"
py_version="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
if [ "$ext_version" != "$py_version" ]; then
  say "package.json version $ext_version differs from pyproject.toml version $py_version"
  exit 2
fi
[ -f requirements/server.lock ] || { say "requirements/server.lock is missing (python scripts/lock-server-requirements.py)"; exit 2; }
if grep -qiE '^python-hcl2==' requirements/server.lock; then
  say "requirements/server.lock contains python-hcl2 (Checkov needs bc-python-hcl2 only)"; exit 2
fi

out=client/server
rm -rf "$out" build/lib
mkdir -p "$out"
say "building the tfguard $py_version wheel"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$out" . >&2
wheel="$(cd "$out" && ls tfguard-"$py_version"-*.whl)"
cp requirements/server.lock "$out/requirements.txt"
WHEEL="$wheel" VERSION="$py_version" "$PY" - <<'EOF'
import hashlib, json, os, re
out = "client/server"
wheel = os.environ["WHEEL"]
sha = hashlib.sha256(open(os.path.join(out, wheel), "rb").read()).hexdigest()
lock = open("requirements/server.lock", encoding="utf-8").read()
target = re.search(r"^# Target: (.+?) \(", lock, re.M)
manifest = {"version": os.environ["VERSION"], "wheel": wheel, "sha256": sha,
            "requirements": "requirements.txt", "requiresPython": ">=3.11",
            "lockTarget": target.group(1) if target else ""}
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=2)
print(f"package-vsix: {wheel} sha256 {sha[:16]}…", flush=True)
EOF
npx --no-install tsc -p client
npx --no-install vsce package --allow-missing-repository --readme-path client/README.md "$@"
