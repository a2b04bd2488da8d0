#!/usr/bin/env bash
# Ensembles, as recorded in BENCHMARKS.md: held-out bits per byte of each model and of the
# mixture/product ensembles (`score`), and HumanEval infilling for the ensembles.
# Writes .bench/*.json, then prints the infilling table (`report ensemble`: needs the members'
# byte-mode runs from scripts/eval-all.sh). LIMIT shrinks the sets, MAX_BYTES (default 1500) the
# scored part of each file.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b
mkdir -p .bench
LIMIT=${LIMIT:-100}
MAX_BYTES=${MAX_BYTES:-1500}
cli() { node out/engine/src/cli/main.js "$@"; }
PY=$(python3 -c "import sysconfig;print(sysconfig.get_paths()['stdlib'])")
# Held out: the Python standard library, and JS/TS of npm packages outside the corpus list.
FILES="$PY/textwrap.py $PY/shlex.py $PY/heapq.py $PY/bisect.py node_modules/vscode-languageclient/lib/common/client.js node_modules/minimatch/dist/commonjs/ast.js node_modules/web-tree-sitter/web-tree-sitter.d.ts"
A=models/tiny-code-a; B=models/tiny-code-b
cli score --files $FILES --max-bytes "$MAX_BYTES" --model $A --json > .bench/score-a.json
cli score --files $FILES --max-bytes "$MAX_BYTES" --model $B --json > .bench/score-b.json
cli score --files $FILES --max-bytes "$MAX_BYTES" --model $A --model $B --ensemble mixture --json > .bench/score-mixture.json
cli score --files $FILES --max-bytes "$MAX_BYTES" --model $A --model $B --ensemble product --json > .bench/score-product.json
for ens in mixture product; do
  cli eval humaneval --set single-line --limit "$LIMIT" --model $A --model $B --ensemble $ens --mode byte --out .bench/ens-$ens-single-line.json
  cli eval humaneval --set random-span-light --limit "$LIMIT" --model $A --model $B --ensemble $ens --mode byte --max-tokens 96 --out .bench/ens-$ens-random-span-light.json
done
# The members' multi-line outputs average ~270-300 bytes; the ensembles' byte budget (4 x 96)
# lets them run longer past the reference, so random-span-light also runs at 280 bytes.
for ens in mixture product; do
  cli eval humaneval --set random-span-light --limit "$LIMIT" --model $A --model $B --ensemble $ens --mode byte --max-tokens 70 --out .bench/ens-$ens-random-span-light-280b.json
done
if [ -f .bench/eval-tiny-code-b-single-line.json ] && [ -f .bench/eval-tiny-code-a-single-line.json ]; then
  cli report ensemble --dir .bench
fi
