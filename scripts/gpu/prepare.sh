#!/usr/bin/env bash
# Builds the offline bundle for running the GPU benchmark (scripts/gpu/README.md) on a GPU machine
# that has no Node, npm or network. Run it on an x86-64 machine with Node 20 and `npm ci` done,
# from anywhere in the repo:
#
#   bash scripts/gpu/prepare.sh
#
# What it makes (all ignored by git: .device/ in .gitignore, /.gl/ in .git/info/exclude):
#   out/                      the project built with tsc
#   .gl/*.deb                 the Vulkan/GL loader packages (amd64), for GPU machines without them
#   .device/p1/payload.part   first half  } of one xz stream: a tar of this machine's node binary
#   .device/p2/payload.part   second half } (stripped) and the runtime part of onnxruntime-node
#                               (linux/x64 only) + onnxruntime-common
#   .device/p2/payload.sha256 checksum of the whole stream
#
# Why two halves: for transfers limited to 64 MiB each. The working tree alone is ~44 MiB
# (models/ is 40 MB), node compresses to ~21 MB and onnxruntime's linux/x64 library to ~11 MB.
# `run.sh stage` keeps part 1 in /tmp on the GPU machine; `run.sh main` joins it with part 2.
# It prints both transfers' sizes and fails if one is over the limit.
#
# Env: BYTEFILL_PREPARE_FORCE=1 rebuilds the payload even when node/onnxruntime did not change.
set -euo pipefail
cd "$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
ROOT=$PWD
LIMIT=$((64 * 1024 * 1024))
ORT=node_modules/onnxruntime-node
COMMON=node_modules/onnxruntime-common

say() { printf '[prepare] %s\n' "$*"; }
die() { printf '[prepare] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "run this on an x86-64 machine (node is copied from here to the x86-64 GPU machine)"
command -v node >/dev/null || die "node not found"
[ -f "$ORT/bin/napi-v6/linux/x64/libonnxruntime.so.1" ] || die "$ORT/bin/napi-v6/linux/x64 missing: run npm ci first"
[ -f "$COMMON/dist/cjs/index.js" ] || die "$COMMON missing: run npm ci first"

# 1. Ignore rules.
touch .git/info/exclude
grep -qxF '/.gl/' .git/info/exclude || echo '/.gl/' >> .git/info/exclude
git check-ignore -q .device/p1/payload.part || die ".device/ is not ignored by git (.gitignore should hold .device/)"
git check-ignore -q .gl/x.deb || die ".gl/ is not ignored by git"

# 2. Build (out/ is ignored and travels as a carried path).
say "building: npx tsc -b"
npx tsc -b
for f in out/engine/src/cli/main.js out/engine/test/gpu-provider.test.js out/engine/src/index.js; do
  [ -f "$f" ] || die "$f missing after tsc"
done

# 3. Vulkan/GL loader debs for amd64 (downloaded for amd64 whatever this machine's apt architecture).
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  say "downloading the Vulkan/GL loader debs into .gl/"
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
ls .gl/libvulkan1_*.deb >/dev/null 2>&1 || die "libvulkan1 deb missing in .gl/"

# 4. Payload: node + onnxruntime-node (runtime files, linux/x64) + onnxruntime-common, one xz stream.
NODE_BIN=$(readlink -f "$(command -v node)")
KEY="node $(node --version) $(stat -c %s "$NODE_BIN") | ort $(node -p "require('./$ORT/package.json').version") $(stat -c %s "$ORT/bin/napi-v6/linux/x64/libonnxruntime.so.1") | payload v1"
mkdir -p .device
if [ "${BYTEFILL_PREPARE_FORCE:-0}" != 1 ] && [ -f .device/payload.tar.xz ] && [ "$(cat .device/payload.key 2>/dev/null)" = "$KEY" ]; then
  say "payload up to date ($KEY)"
else
  say "building the payload (xz -9e with the x86 filter: a few minutes on 2 cores)"
  STAGE=$(mktemp -d)
  trap 'rm -rf "$STAGE"' EXIT
  mkdir -p "$STAGE/bin" "$STAGE/node_modules/onnxruntime-node/bin/napi-v6/linux" "$STAGE/node_modules/onnxruntime-common/dist"
  if command -v strip >/dev/null; then strip --strip-all -o "$STAGE/bin/node" "$NODE_BIN"; else cp "$NODE_BIN" "$STAGE/bin/node"; fi
  chmod 755 "$STAGE/bin/node"
  "$STAGE/bin/node" -e 'process.exit(0)' || die "the stripped node does not run"
  cp -r "$ORT/package.json" "$ORT/dist" "$STAGE/node_modules/onnxruntime-node/"
  cp -r "$ORT/bin/napi-v6/linux/x64" "$STAGE/node_modules/onnxruntime-node/bin/napi-v6/linux/"
  cp -r "$COMMON/package.json" "$STAGE/node_modules/onnxruntime-common/"
  cp -r "$COMMON/dist/cjs" "$STAGE/node_modules/onnxruntime-common/dist/"
  # The slim copy must load on its own (NODE_PATH is how run.sh finds it on the GPU machine).
  (cd /tmp && NODE_PATH="$STAGE/node_modules" "$STAGE/bin/node" -e "
    const ort = require('onnxruntime-node');
    const b = ort.listSupportedBackends().map((x) => x.name + (x.bundled ? '' : '(not installed)'));
    console.log('[prepare] slim onnxruntime-node loads; backends: ' + b.join(', '));") || die "slim onnxruntime-node does not load"
  tar -C "$STAGE" -cf - bin node_modules | xz --x86 --lzma2=preset=9e,dict=128MiB -T1 -c > .device/payload.tar.xz.tmp
  mv .device/payload.tar.xz.tmp .device/payload.tar.xz
  echo "$KEY" > .device/payload.key
  rm -rf "$STAGE"
  trap - EXIT
fi

# 5. Split so that both transfers hold about the same.
bytes() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
PAY=$(stat -c %s .device/payload.tar.xz)
EXTRA2=$(bytes out .gl)
HALF1=$(((PAY + EXTRA2 + 1) / 2))
[ "$HALF1" -gt "$PAY" ] && HALF1=$PAY
rm -rf .device/p1 .device/p2
mkdir -p .device/p1 .device/p2
head -c "$HALF1" .device/payload.tar.xz > .device/p1/payload.part
tail -c +"$((HALF1 + 1))" .device/payload.tar.xz > .device/p2/payload.part
(cd .device && sha256sum payload.tar.xz | awk '{print $1}') > .device/p2/payload.sha256
cat .device/p1/payload.part .device/p2/payload.part | cmp -s - .device/payload.tar.xz || die "split parts do not join back"

# 6. What each transfer holds: tracked + untracked-not-ignored files, plus the parts.
TREE=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
C1=$((TREE + $(bytes .device/p1)))
C2=$((TREE + $(bytes .device/p2 out .gl)))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
say "payload $(mib "$PAY") (node $(node --version) stripped + onnxruntime-node linux/x64 + onnxruntime-common)"
say "working tree that travels: $(mib "$TREE")"
say "transfer 1: working tree + .device/p1               -> $(mib "$C1") of 64 MiB"
say "transfer 2: working tree + .device/p2, out, .gl     -> $(mib "$C2") of 64 MiB"
say "not needed there: the rest of node_modules (only onnxruntime-node + onnxruntime-common are required by out/engine)"
[ "$C1" -le "$LIMIT" ] || die "transfer 1 is over 64 MiB"
[ "$C2" -le "$LIMIT" ] || die "transfer 2 is over 64 MiB"
say "ready: see scripts/gpu/README.md, 'A GPU machine without Node or network'"
