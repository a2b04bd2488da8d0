#!/usr/bin/env bash
# `npm test`: the WebGPU test adapter (scripts/gpu-setup.sh), the build, then every test file.
# Graphs the engine derives from models (logits rewrite, optimised graph) go to a throw-away cache
# folder, so a test run neither reads stale entries from nor fills the user's ~/.cache/bytefill.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gpu-setup.sh
tsc -b
BYTEFILL_CACHE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/bytefill-test-cache.XXXXXX")"
export BYTEFILL_CACHE_DIR
trap 'rm -rf "$BYTEFILL_CACHE_DIR"' EXIT
node --test --test-concurrency=2 out/engine/test out/language-server/test out/extension/test "$@"
