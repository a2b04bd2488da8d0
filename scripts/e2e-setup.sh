#!/usr/bin/env bash
# Idempotent set-up for the end-to-end tests (test/e2e/):
#   - Debian packages: chromium (browser driven by playwright-core), libkrb5-dev (code-server's
#     `kerberos` module compiles against gssapi), ripgrep (stands in for @vscode/ripgrep's download)
#   - code-server@4.100.3 installed from the npm registry into a cache folder OUTSIDE the repo,
#     so a clean clone (CI) reuses it: ${BYTEFILL_E2E_CACHE:-$HOME/.cache/bytefill-e2e}/code-server
# Prints the path of the code-server binary on its last line of output ("CODE_SERVER=...").
set -euo pipefail

CODE_SERVER_VERSION="${BYTEFILL_CODE_SERVER_VERSION:-4.100.3}"
# @vscode/ripgrep version pinned by code-server 4.100.3's lib/vscode/npm-shrinkwrap.json
RIPGREP_PKG_VERSIONS="${BYTEFILL_RIPGREP_PKG_VERSIONS:-1.15.11}"
RIPGREP_ASSET="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
CACHE="${BYTEFILL_E2E_CACHE:-$HOME/.cache/bytefill-e2e}"
CS_DIR="$CACHE/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
STAMP="$CS_DIR/.installed-$CODE_SERVER_VERSION"

log() { echo "[e2e-setup] $*"; }
die() { echo "[e2e-setup] ERROR: $*" >&2; exit 1; }

# ---- Node -----------------------------------------------------------------------------------
command -v node >/dev/null || die "node not found (Node 20 is required)"
command -v npm >/dev/null || die "npm not found"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" = "20" ] || die "code-server $CODE_SERVER_VERSION requires Node 20, found $(node -v)"

# ---- Debian packages ------------------------------------------------------------------------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
if [ ! -f "$STAMP" ]; then
  # only needed to build code-server's native modules
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get not available; install manually: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo; install manually: ${missing[*]}"
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after install"
command -v rg >/dev/null || die "rg (ripgrep) missing after install"

# ---- code-server ----------------------------------------------------------------------------
if [ -f "$STAMP" ] && [ -x "$CS_BIN" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $CS_DIR"
else
  log "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (about 2-4 minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  # @vscode/ripgrep downloads its binary from GitHub at install time (unreachable here); it
  # first looks in $TMPDIR/vscode-ripgrep-cache-<version>/<asset>: put Debian's rg there.
  RG_TMP="$CACHE/tmp"
  mkdir -p "$RG_TMP"
  stage="$(mktemp -d)"
  cp "$(command -v rg)" "$stage/rg"
  for v in $RIPGREP_PKG_VERSIONS; do
    mkdir -p "$RG_TMP/vscode-ripgrep-cache-$v"
    tar czf "$RG_TMP/vscode-ripgrep-cache-$v/$RIPGREP_ASSET" -C "$stage" rg
  done
  rm -rf "$stage"
  echo '{"name":"bytefill-e2e-code-server","private":true}' > "$CS_DIR/package.json"
  if ! TMPDIR="$RG_TMP" npm_config_yes=true npm_config_unsafe_perm=true \
      npm install --prefix "$CS_DIR" --no-audit --no-fund --loglevel=error \
      "code-server@$CODE_SERVER_VERSION" > "$CACHE/install.log" 2>&1; then
    tail -40 "$CACHE/install.log" >&2
    die "npm install code-server@$CODE_SERVER_VERSION failed (full log: $CACHE/install.log)"
  fi
  [ -x "$CS_BIN" ] || die "code-server binary not found at $CS_BIN after install"
  "$CS_BIN" --version >/dev/null 2>&1 || die "code-server at $CS_BIN does not run"
  touch "$STAMP"
  log "code-server installed"
fi
log "code-server: $("$CS_BIN" --version 2>/dev/null | head -1)"
echo "CODE_SERVER=$CS_BIN"
