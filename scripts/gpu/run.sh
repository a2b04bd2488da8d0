#!/usr/bin/env bash
# GPU benchmark and tests on a machine with a GPU (scripts/gpu/README.md):
#
#   bash scripts/gpu/run.sh stage   exports the random-weight models (Python + torch + onnx); with the
#                                   offline bundle it also keeps bundle part 1 in /tmp/bytefill-gpu
#   bash scripts/gpu/run.sh main    runs the GPU tests and benchmarks (webgpu, cuda where installed,
#                                   cpu of the same machine), writes $OUT/gpu-report.json
#
# node and node_modules come from this checkout (npm ci); or, on a machine without Node, from the
# offline bundle that scripts/gpu/prepare.sh builds elsewhere (.device/p1 + .device/p2).
# Every step has its own timeout and the run goes on after a failure; a step that would pass the
# overall deadline is skipped (recorded as such). Outputs: $OUT/gpu-report.json + $OUT/log.txt
# (main), $OUT/stage-log.txt + $OUT/stage.json (stage).
set -uo pipefail
MODE=${1:-main}
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
ROOT=$PWD
OUT=${OUT:-/tmp/bytefill-out}
W=/tmp/bytefill-gpu
mkdir -p "$OUT" "$W" "$W/steps"
START=$(date +%s)
DEADLINE_S=${BYTEFILL_GPU_DEADLINE_S:-420}
PY=${PYTHON:-python3}

if [ "$MODE" = stage ]; then LOG=$OUT/stage-log.txt; else LOG=$OUT/log.txt; fi
exec > >(tee -a "$LOG") 2>&1
trap 'sleep 0.5' EXIT  # let tee flush the log before the tool collects $OUT
elapsed() { echo $(($(date +%s) - START)); }
say() { printf '[gpu %4ss] %s\n' "$(elapsed)" "$*"; }

# step NAME TIMEOUT_S CMD...: stdout -> $W/steps/NAME.out, stderr -> NAME.err, rc + seconds -> NAME.meta
step() {
  local name=$1 t=$2
  shift 2
  local left=$((DEADLINE_S - $(elapsed) - 10))
  if [ "$left" -lt 15 ]; then
    say "SKIP $name (deadline)"
    printf '{"rc":null,"seconds":0,"skipped":"deadline"}' > "$W/steps/$name.meta"
    return 0
  fi
  [ "$t" -gt "$left" ] && t=$left
  say "RUN  $name (timeout ${t}s): $*"
  local t0 rc
  t0=$(date +%s.%N)
  timeout --kill-after=5 "$t" "$@" > "$W/steps/$name.out" 2> "$W/steps/$name.err"
  rc=$?
  local dt
  dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
  printf '{"rc":%d,"seconds":%s,"timeout":%d}' "$rc" "$dt" "$t" > "$W/steps/$name.meta"
  say "DONE $name rc=$rc in ${dt}s$([ "$rc" = 124 ] && echo ' (TIMED OUT)')"
  tail -c 600 "$W/steps/$name.err" | sed 's/^/    | /'
  return 0
}

# ------------------------------------------------------------------------------------------------
if [ "$MODE" = stage ]; then
  say "stage: repo $ROOT, OUT $OUT"
  if [ -f .device/p1/payload.part ]; then
    cp .device/p1/payload.part "$W/payload.1" && say "offline bundle part 1 kept in $W ($(stat -c %s "$W/payload.1") bytes)"
  else
    say "no offline bundle (.device/p1): main will use this checkout's node and node_modules"
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/    /'
  export PYTHONUNBUFFERED=1
  step py-versions 60 "$PY" -c "import sys, torch, onnx, onnxruntime as o; print(sys.version.split()[0], 'torch', torch.__version__, 'onnx', onnx.__version__, 'onnxruntime', o.__version__)
try:
    import transformers; print('transformers', transformers.__version__)
except Exception as e: print('transformers missing', e)"
  cat "$W/steps/py-versions.out"
  step export-probe 60 "$PY" scripts/gpu/export_random_llama.py --probe /tmp/logits-probe.onnx --vocab 8192
  step export-2l 120 "$PY" scripts/gpu/export_random_llama.py --out /tmp/rnd-2l --preset a2
  step export-big 240 "$PY" scripts/gpu/export_random_llama.py --out /tmp/rnd-big --preset "${BYTEFILL_GPU_BIG:-big}"
  for s in export-2l export-big; do tail -4 "$W/steps/$s.out" | sed "s/^/    $s: /"; done
  {
    printf '{"stage":true,"seconds":%s,"payload1":%s,"steps":{' "$(elapsed)" "$([ -f "$W/payload.1" ] && echo true || echo false)"
    sep=''
    for m in "$W"/steps/*.meta; do n=$(basename "$m" .meta); printf '%s"%s":%s' "$sep" "$n" "$(cat "$m")"; sep=','; done
    printf '},"models":{"rnd-2l":%s,"rnd-big":%s,"probe":%s}}\n' \
      "$([ -f /tmp/rnd-2l/onnx/model.onnx ] && echo true || echo false)" \
      "$([ -f /tmp/rnd-big/onnx/model.onnx ] && echo true || echo false)" \
      "$([ -f /tmp/logits-probe.onnx ] && echo true || echo false)"
  } > "$OUT/stage.json"
  cat "$OUT/stage.json"
  say "stage done; next: bash scripts/gpu/run.sh main"
  exit 0
fi

# ------------------------------------------------------------------------------------------------
[ "$MODE" = main ] || { echo "usage: run.sh stage|main"; exit 2; }
say "main: repo $ROOT, OUT $OUT"
fail_early() {
  say "ERROR: $1"
  printf '{"error":%s}\n' "$(printf '%s' "$1" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" > "$OUT/gpu-report.json"
  exit 3
}
[ -f out/engine/src/cli/main.js ] || fail_early "out/ missing: build it first (npx tsc -p tsconfig.json)"

# 1. node + onnxruntime-node: this checkout's, or the offline bundle's
if [ -f .device/p2/payload.part ]; then
  BUNDLE=1
elif command -v node >/dev/null && [ -f node_modules/onnxruntime-node/package.json ]; then
  BUNDLE=0
else
  fail_early "no node + node_modules/onnxruntime-node here (run npm ci) and no offline bundle (.device/p2 from scripts/gpu/prepare.sh)"
fi
if [ "$BUNDLE" = 1 ]; then
  [ -x "$W/bin/node" ] || [ -f "$W/payload.1" ] || fail_early "offline bundle part 1 is not in $W: run 'bash scripts/gpu/run.sh stage' on this machine first (with .device/p1)"
fi
if [ "$BUNDLE" = 1 ] && [ ! -x "$W/bin/node" ]; then
  cat "$W/payload.1" .device/p2/payload.part > "$W/payload.tar.xz"
  want=$(cat .device/p2/payload.sha256)
  got=$(sha256sum "$W/payload.tar.xz" | awk '{print $1}')
  [ "$want" = "$got" ] || fail_early "offline bundle checksum mismatch (parts from two prepare.sh runs?): rebuild it with prepare.sh and copy both parts again"
  if command -v xz >/dev/null; then
    xz -dc "$W/payload.tar.xz" | tar -x -C "$W" || fail_early "payload unpack failed (xz/tar)"
  else
    "$PY" -c "import tarfile,sys; tarfile.open(sys.argv[1], 'r:xz').extractall(sys.argv[2])" "$W/payload.tar.xz" "$W" || fail_early "payload unpack failed (python tarfile)"
  fi
  rm -f "$W/payload.tar.xz"
fi
[ "$BUNDLE" = 1 ] && export PATH="$W/bin:$PATH" NODE_PATH="$W/node_modules"
node --version > /dev/null 2>&1 || fail_early "node does not run here: $(node --version 2>&1 | head -2)"
say "node $(node --version)${NODE_PATH:+, NODE_PATH=$NODE_PATH}"

# 2. Vulkan loader: unpacked from .gl/*.deb when prepare.sh brought them (machines without it)
if [ "${BYTEFILL_GPU_NO_DPKG:-0}" != 1 ] && ls .gl/*.deb >/dev/null 2>&1; then  # =1 for a dry run
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
say "vulkan libs: $(ldconfig -p | grep -c libvulkan) ($(ldconfig -p | grep libvulkan | head -2 | awk '{print $NF}' | tr '\n' ' '))"
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 && [ -f "$ICD" ]; then
  export VK_DRIVER_FILES=$ICD VK_ICD_FILENAMES=$ICD
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  say "VK_DRIVER_FILES=$ICD (no nvidia ICD in the standard folders)"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/    /'
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | sed 's/^/    icd: /'

# 3. Can webgpu get an adapter? If not with the current env, try the other ICD setting once.
PROBE_JS="const {OnnxModel}=require('./out/engine/src/index');(async()=>{const t=Date.now();const m=await OnnxModel.load('models/tiny-code-b',{device:'webgpu'});const r=await m.forward(null,[[5,6,7,8]]);console.log(JSON.stringify({provider:m.provider,ms:Date.now()-t,onDevice:r.state.onDevice}));await m.dispose();})().catch(e=>{console.log(JSON.stringify({error:String(e.message||e)}));process.exit(1)})"
step webgpu-probe 60 node -e "$PROBE_JS"
if [ "$(cat "$W/steps/webgpu-probe.meta" | grep -o '"rc":[0-9]*')" != '"rc":0' ] && [ -f "$ICD" ]; then
  if [ -n "${VK_DRIVER_FILES:-}" ]; then unset VK_DRIVER_FILES VK_ICD_FILENAMES; else export VK_DRIVER_FILES=$ICD VK_ICD_FILENAMES=$ICD; fi
  say "webgpu probe failed; retrying with VK_DRIVER_FILES=${VK_DRIVER_FILES:-<unset>}"
  step webgpu-probe-2 60 node -e "$PROBE_JS"
fi
cat "$W"/steps/webgpu-probe*.out 2>/dev/null | sed 's/^/    /'

CLI="node out/engine/src/cli/main.js"
A=models/tiny-code-a
B=models/tiny-code-b

# 4. Tests (GPU expected)
step test-gpu 180 env BYTEFILL_GPU_EXPECTED=1 node --test out/engine/test/gpu-provider.test.js out/engine/test/gpu-completions.test.js

# 5. Bundled models: webgpu vs cpu (token + byte modes), then the ensemble
step bench-a-webgpu 110 $CLI bench --json --device webgpu --model $A --prompts 10
step bench-a-cpu 110 $CLI bench --json --device cpu --model $A --prompts 10
step bench-b-webgpu 100 $CLI bench --json --device webgpu --model $B --prompts 10
step bench-b-cpu 100 $CLI bench --json --device cpu --model $B --prompts 10
step cuda-expected-failure 60 $CLI bench --json --device cuda --model $B --prompts 1

# 6. Decode-step microbench: KV on device vs host round trip, logits download, probe graph
MB_MODELS="$ROOT/$A,$ROOT/$B"
[ -f /tmp/rnd-2l/config.json ] && MB_MODELS="$MB_MODELS,/tmp/rnd-2l"
[ -f /tmp/rnd-big/config.json ] && MB_MODELS="$MB_MODELS,/tmp/rnd-big"
step microbench 140 node scripts/gpu/gpu-bench.js --models "$MB_MODELS" --devices webgpu,cpu --probe /tmp/logits-probe.onnx --steps 16 --budget-s 130 --out "$W/steps/microbench.json"

# 7. Random-weight models through the whole engine
if [ -f /tmp/rnd-big/config.json ]; then
  step bench-big-webgpu 100 $CLI bench --json --device webgpu --model /tmp/rnd-big --prompts 3 --decode-steps 16
  step bench-big-cpu 100 $CLI bench --json --device cpu --model /tmp/rnd-big --prompts 2 --prefill-tokens 128 --decode-steps 8
fi
if [ -f /tmp/rnd-2l/config.json ]; then
  step bench-2l-webgpu 60 $CLI bench --json --device webgpu --model /tmp/rnd-2l --prompts 5
  step bench-2l-cpu 60 $CLI bench --json --device cpu --model /tmp/rnd-2l --prompts 5
fi

# 8. Ensemble (two models, byte mode) on webgpu vs cpu, and one complete call
step bench-ens-webgpu 100 $CLI bench --json --device webgpu --model $A --model $B --mode byte --prompts 5
step bench-ens-cpu 100 $CLI bench --json --device cpu --model $A --model $B --mode byte --prompts 5
step complete-ens-webgpu 60 $CLI complete --json --device webgpu --model $A --model $B --mode byte --max-tokens 24 --file engine/src/model/microbench.ts --cursor 700

# 9. Report
say "assembling $OUT/gpu-report.json"
node - "$W/steps" "$OUT/gpu-report.json" <<'EOF'
const fs = require('fs'), path = require('path');
const [dir, out] = process.argv.slice(2);
const parse = (t) => { try { return JSON.parse(t); } catch { return undefined; } };
const steps = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.meta')).sort()) {
  const n = f.slice(0, -5);
  const rd = (ext) => (fs.existsSync(path.join(dir, n + ext)) ? fs.readFileSync(path.join(dir, n + ext), 'utf8') : '');
  const meta = parse(rd('.meta')) ?? {};
  const so = rd('.out');
  const json = parse(rd('.json')) ?? parse(so.trim()) ?? parse(so.trim().split('\n').pop());
  steps[n] = { ...meta, result: json ?? undefined, stdout: json ? undefined : so.slice(-3000), stderr: rd('.err').slice(-1500) || undefined };
}
const env = { VK_DRIVER_FILES: process.env.VK_DRIVER_FILES ?? null, node: process.version };
fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), env, steps }, null, 1));
console.log(`wrote ${out}: ${Object.keys(steps).length} steps`);
EOF
say "main done in $(elapsed)s"
