#!/usr/bin/env node
// bytefill CLI: complete | eval | bench | score | compare | report. Errors print one clear line and exit 1.
import { BytefillError, Logger } from '../index';
import { runComplete } from './cmd-complete';
import { runEvalCommand } from './cmd-eval';
import { runBench } from './cmd-bench';
import { runScore } from './cmd-score';
import { runCompare } from './cmd-compare';
import { runReport } from './cmd-report';
import { runBenchEnsemble } from './cmd-bench-ensemble';
import { runBenchUscd } from './cmd-bench-uscd';
import { runBenchCrossfile } from './cmd-bench-crossfile';
import { runModels, runPull } from './cmd-hub';

const USAGE = `usage: bytefill <command> [options]

commands:
  complete --file PATH --cursor N     complete at character (code point) offset N of the file
  eval humaneval --set SET | eval midtoken
                                      pass@1, exact match, edit similarity, bits/byte, latency
  eval build-midtoken | build-crossfile [--out F]
                                      rebuild the mid-token / cross-file suite (seeded)
  bench                               prefill/decode latency and single-line completion p50/p95
  bench ensemble                      single-line latency of the mixture and product ensembles
  bench uscd stats|quality|latency    USCD gate statistics, quality and cost on held-out lines
  bench crossfile                     cross-file suite: gain and cost of context from other files
  bench --byte-level --files F...     byte-level scoring, ensemble decoding, exact next-byte cost vs token level
                                      (--parts validity,scoring,decoding,next-byte  --max-bytes N  --next-byte-bytes N)
  score --files PATH...               exact bits per byte of files under a model or an ensemble
                                      (--telescoped: one model, from the prefix mass at window ends; faster, >= per-byte)
                                      (--padded-batches: branches as padded batches, not one token tree; slower)
  compare A.json B.json               two eval --json outputs side by side with 95% bootstrap CIs
  report modes|ensemble|uscd          BENCHMARKS.md tables from the eval --out files in --dir (.bench)
  pull ID [--variant V]               download a Hub model (org/name[@revision]) into the Hugging Face cache
  models                              models in the Hugging Face cache: sizes, complete variants

engine options:  --model DIR|ORG/NAME[@REV] (repeat for an ensemble)  --weights 0.6,0.4  --ensemble mixture|product
                 --device auto|cpu|webgpu|cuda  --threads N  --offline  --no-int8-activations (CPU: 4-bit layers on float activations)
                 --no-ensemble-workers (ensembles: every member's forwards on the main thread)
                 --variant auto|fp32|fp16|q4|q4f16|int8|uint8|bnb4|quantized|FILE.onnx
                 --fim-format PSM|SPM  --no-fim  --prefix-tokens N  --suffix-tokens N
request options: --mode byte|heal|token (default byte)  --max-tokens N  --max-time MS  --stop STR
                 --temperature T  --top-p P  --top-k K  --seed S
                 --uscd [--uscd-alpha A] [--uscd-threshold T] [--uscd-beta B]
output:          --json  --verbose`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const verbose = rest.includes('--verbose');
  const log: Logger = (level, msg) => {
    if (verbose || level === 'warn' || level === 'error') process.stderr.write(`[${level}] ${msg}\n`);
  };
  switch (cmd) {
    case 'complete':
      return runComplete(rest, log);
    case 'eval':
      return runEvalCommand(rest, log);
    case 'bench':
      // Named benchmarks live in their own modules; plain `bench` is the engine latency bench.
      if (rest[0] === 'ensemble') return runBenchEnsemble(rest.slice(1), log);
      if (rest[0] === 'uscd') return runBenchUscd(rest.slice(1), log);
      if (rest[0] === 'crossfile') return runBenchCrossfile(rest.slice(1), log);
      return runBench(rest, log);
    case 'score':
      return runScore(rest, log);
    case 'compare':
      return runCompare(rest);
    case 'report':
      return runReport(rest);
    case 'pull':
      return runPull(rest, log);
    case 'models':
      return runModels(rest);
    default:
      throw new BytefillError('BAD_ARGUMENT', `unknown command '${cmd}'\n${USAGE}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof BytefillError) process.stderr.write(`bytefill: ${e.message}\n`);
      else process.stderr.write(`bytefill: unexpected error: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = e instanceof BytefillError && e.code === 'BAD_ARGUMENT' ? 2 : 1;
    },
  );
}

