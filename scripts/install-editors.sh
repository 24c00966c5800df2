#!/usr/bin/env bash
# Install the real editors the client tests drive (tests/clients): Debian's neovim, emacs-nox and
# elpa-eglot. Idempotent: installs only what is missing, runs `apt-get update` at most once.
# Never fatal: without apt-get or root it says why and exits 0 (the editor tests then skip).
set -uo pipefail

missing=()
command -v nvim >/dev/null 2>&1 || missing+=(neovim)
command -v emacs >/dev/null 2>&1 || missing+=(emacs-nox)
# Emacs 29+ has eglot built in; older ones need the elpa-eglot package.
if ! command -v emacs >/dev/null 2>&1 \
   || ! emacs --batch --eval "(require 'eglot)" >/dev/null 2>&1; then
  missing+=(elpa-eglot)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-editors: neovim, emacs and eglot already present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-editors: apt-get not available; not installing ${missing[*]} (editor tests will skip)"
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-editors: not root and no passwordless sudo; not installing ${missing[*]} (editor tests will skip)"
    exit 0
  fi
fi

echo "install-editors: installing ${missing[*]}"
start=$(date +%s)
if ! "${SUDO[@]}" apt-get update -qq; then
  echo "install-editors: apt-get update failed; not installing ${missing[*]} (editor tests will skip)"
  exit 0
fi
if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
     "${missing[@]}" >/dev/null; then
  echo "install-editors: apt-get install ${missing[*]} failed (editor tests will skip)"
  exit 0
fi
echo "install-editors: done in $(( $(date +%s) - start ))s"
