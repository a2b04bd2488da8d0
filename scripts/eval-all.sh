#!/usr/bin/env bash
# The evaluation behind BENCHMARKS.md: token / heal / byte on both bundled models over HumanEval
# single-line, random-span, random-span-light and the mid-token suite. Writes .bench/eval-*.json
# and SVG charts to docs/, then prints the tables (`report modes`). Takes about an hour on 2 cores;
# LIMIT=N shrinks the HumanEval sets (default 100), RS_LIMIT random-span (default 100), MT_LIMIT
# the mid-token suite (default: all 300 cases); CHART_DIR (default docs) receives the charts.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
CHART_DIR=${CHART_DIR:-docs}
mkdir -p .bench "$CHART_DIR"
LIMIT=${LIMIT:-100}
cli() { node out/engine/src/cli/main.js "$@"; }
for m in tiny-code-b tiny-code-a; do
  cli eval midtoken --limit "${MT_LIMIT:-300}" --model models/$m --mode token,heal,byte --out .bench/eval-$m-midtoken.json --chart "$CHART_DIR/eval-$m-midtoken.svg"
  cli eval humaneval --set single-line --limit "$LIMIT" --model models/$m --mode token,heal,byte --out .bench/eval-$m-single-line.json
  cli eval humaneval --set random-span-light --limit "$LIMIT" --model models/$m --mode token,heal,byte --max-tokens 96 --out .bench/eval-$m-random-span-light.json
  cli eval humaneval --set random-span --limit "${RS_LIMIT:-100}" --model models/$m --mode token,heal,byte --max-tokens 96 --out .bench/eval-$m-random-span.json
done
cli report modes --dir .bench
