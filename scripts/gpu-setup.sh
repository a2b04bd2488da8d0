#!/usr/bin/env bash
# Idempotent set-up for the WebGPU tests (engine/test/gpu-*.test.ts) on machines without a GPU:
# installs Mesa's software Vulkan driver (lavapipe, "llvmpipe" adapter) so that onnxruntime-node's
# WebGPU provider (Dawn) finds an adapter and the GPU code paths run on the CPU.
#
#   bash scripts/gpu-setup.sh          install when missing (needs root or sudo, and apt-get)
#   bash scripts/gpu-setup.sh --check  install nothing; exit 0 when ready, 3 (reason printed) when not
#
# Why Mesa 25: Debian bookworm's own Mesa 22 lavapipe is refused by Dawn ("shaderUniform*Array
# DynamicIndexing required"); Mesa 25 from bookworm-backports (or a newer Debian) works.
# On bookworm this adds an apt sources entry for bookworm-backports, runs `apt-get update` and
# installs mesa-vulkan-drivers + libvulkan1 from it. When the driver is already there it only runs
# one dpkg-query (milliseconds).
#
# Exit codes: 0 ready, or not installable here (not root and no sudo, no apt-get, an unsupported
# system): a reason is printed and the WebGPU tests skip with it; 1 when an install was attempted
# and failed, e.g. no network (a broken set-up must not look like a skip). BYTEFILL_GPU_EXPECTED=0
# installs nothing and makes the WebGPU tests skip (offline machines).
set -euo pipefail

MIN_MESA=25
BACKPORTS_LIST=/etc/apt/sources.list.d/bookworm-backports.sources
CHECK_ONLY=0
[ "${1:-}" = --check ] && CHECK_ONLY=1

log() { echo "[gpu-setup] $*"; }
# Cannot be installed here: print why, exit 0 so the test run goes on (the GPU tests skip).
skip() {
  log "WebGPU tests will be skipped: $*"
  exit 0
}
die() { echo "[gpu-setup] ERROR: $*" >&2; exit 1; }

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
vulkan_loader() { dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'install ok installed'; }

# ready: a Mesa >= MIN_MESA Vulkan driver and the Vulkan loader are installed.
ready_reason=""
ready() {
  if ! command -v dpkg-query >/dev/null; then
    ready_reason="not a Debian-based system (no dpkg-query): install Mesa >= $MIN_MESA's lavapipe Vulkan driver and the Vulkan loader yourself, then set BYTEFILL_GPU_EXPECTED=1"
    return 1
  fi
  local v
  v=$(mesa_version)
  if [ -z "$v" ]; then
    ready_reason="mesa-vulkan-drivers is not installed"
    return 1
  fi
  if ! dpkg --compare-versions "$v" ge "$MIN_MESA"; then
    ready_reason="mesa-vulkan-drivers $v is older than $MIN_MESA (Dawn refuses Mesa 22's lavapipe)"
    return 1
  fi
  if ! vulkan_loader; then
    ready_reason="libvulkan1 (the Vulkan loader) is not installed"
    return 1
  fi
  return 0
}

if [ "${BYTEFILL_GPU_EXPECTED:-}" = 0 ]; then
  log "BYTEFILL_GPU_EXPECTED=0: nothing installed, the WebGPU tests skip"
  [ "$CHECK_ONLY" = 1 ] && exit 3
  exit 0
fi
if ready; then
  log "software Vulkan driver ready: mesa-vulkan-drivers $(mesa_version), libvulkan1 $(dpkg-query -W -f='${Version}' libvulkan1)"
  exit 0
fi
if [ "$CHECK_ONLY" = 1 ]; then
  log "not ready: $ready_reason (run: bash scripts/gpu-setup.sh)"
  exit 3
fi
log "$ready_reason"

command -v dpkg-query >/dev/null || skip "$ready_reason"
command -v apt-get >/dev/null || skip "apt-get not available; install mesa-vulkan-drivers (Mesa >= $MIN_MESA) and libvulkan1 yourself"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    skip "not root and no password-less sudo; as root run: bash scripts/gpu-setup.sh"
  fi
fi

# Where Mesa >= MIN_MESA comes from: bookworm-backports on Debian 12, the distribution otherwise
# (when its candidate is new enough).
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
apt_target=()
if [ "$codename" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding $BACKPORTS_LIST"
    $SUDO tee "$BACKPORTS_LIST" >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  apt_target=(-t bookworm-backports)
fi

# Lock::Timeout: wait for another apt/dpkg run on the machine instead of failing.
log "apt-get update"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
if [ "$codename" != bookworm ]; then
  cand=$(apt-cache policy mesa-vulkan-drivers 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ] || ! dpkg --compare-versions "$cand" ge "$MIN_MESA"; then
    skip "this system ($codename) offers mesa-vulkan-drivers '${cand:-none}', older than $MIN_MESA"
  fi
fi
log "installing mesa-vulkan-drivers libvulkan1 ${apt_target[*]} (about a minute)"
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${apt_target[@]}" \
    mesa-vulkan-drivers libvulkan1 >/tmp/bytefill-gpu-setup.log 2>&1; then
  tail -20 /tmp/bytefill-gpu-setup.log >&2
  die "apt-get install ${apt_target[*]} mesa-vulkan-drivers libvulkan1 failed (log: /tmp/bytefill-gpu-setup.log)"
fi
ready || die "after the install: $ready_reason"
log "installed: mesa-vulkan-drivers $(mesa_version), libvulkan1 $(dpkg-query -W -f='${Version}' libvulkan1)"
