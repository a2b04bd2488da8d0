#!/usr/bin/env bash
# USCD as recorded in BENCHMARKS.md: byte mode with USCD at two settings on HumanEval single-line
# and random-span, both models; the plain byte-mode baselines on the same cases come from
# scripts/eval-all.sh. Writes .bench/uscd-*.json, then prints the table (`report uscd`: needs those
# baselines). LIMIT shrinks the sets.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
mkdir -p .bench
LIMIT=${LIMIT:-100}
cli() { node out/engine/src/cli/main.js "$@"; }
for m in tiny-code-b tiny-code-a; do
  for setting in "0.5 0.2" "0.3 0.4"; do
    set -- $setting
    for s in single-line random-span; do
      cli eval humaneval --set $s --limit "$LIMIT" --model models/$m --mode byte --uscd --uscd-alpha $1 --uscd-threshold $2 \
        --label "a$1-t$2-" --max-tokens $([ $s = single-line ] && echo 48 || echo 96) --out .bench/uscd-$m-a$1-t$2-$s.json
    done
  done
done
cli report uscd --dir .bench
