// Integer activations for 4-bit weights. A MatMulNBits node with `accuracy_level` 0 (or none: the
// attribute's default, and what most exports write) dequantizes its 4-bit weights and multiplies
// in float32. With `accuracy_level` 4 onnxruntime's CPU provider quantizes the activations to int8
// per block and uses its integer kernels, as llama.cpp does for Q4_0: on a 0.5B model's decode
// step that was 2.9-3.4x faster (BENCHMARKS.md). The weights are the same; only the attribute
// changes, so this rewrites it once and caches the graph beside the logits rewrite's (see
// derived-graph.ts). Only the CPU provider loads it: GPU providers ignore the attribute.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '../core/types';
import { derivedDir, PreparedGraph, prepareDerivedGraph } from './derived-graph';
import { attribute, Field, fields, str, Writer, modelWithGraph } from './onnx-proto';

/** Bumped when the rewrite changes, so that old cached graphs are not reused. */
const REWRITE_VERSION = 1;
/** onnxruntime's MatMulNBits accuracy levels: 0 unset (float), 1 fp32, 2 fp16, 3 bf16, 4 int8 activations. */
export const INT8_ACCURACY_LEVEL = 4;
/** Marks derived file names (derivedDir does not link them). */
export const INT8_MARK = '.a4-';

export type AccuracyRewrite = { ok: true; model: Writer; nodes: number } | { ok: false; reason: string };

function attrName(buf: Uint8Array, a: Field): string {
  const n = fields(buf, a.valStart, a.valEnd).find((x) => x.num === 1);
  return n ? str(buf, n) : '';
}

/**
 * Sets `accuracy_level` to `level` on every MatMulNBits node of the main graph whose level is 0 or
 * absent; nodes that ask for another level keep it. `reason` says why a graph is left as it is.
 */
export function rewriteAccuracyLevel(buf: Uint8Array, level = INT8_ACCURACY_LEVEL): AccuracyRewrite {
  const top = fields(buf);
  const graphF = top.find((f) => f.num === 7);
  if (!graphF) return { ok: false, reason: 'no graph' };
  const g = fields(buf, graphF.valStart, graphF.valEnd);
  const graph = new Writer();
  let found = 0;
  let changed = 0;
  for (const f of g) {
    if (f.num === 1) {
      const nf = fields(buf, f.valStart, f.valEnd);
      const op = nf.find((x) => x.num === 4);
      if (op && str(buf, op) === 'MatMulNBits') {
        found++;
        // NodeProto.attribute is field 5; AttributeProto.i is field 3.
        const acc = nf.find((x) => x.num === 5 && attrName(buf, x) === 'accuracy_level');
        const current = acc ? (fields(buf, acc.valStart, acc.valEnd).find((x) => x.num === 3)?.value ?? 0) : 0;
        if (current === 0) {
          const n = new Writer();
          for (const x of nf) if (x !== acc) n.raw(buf.subarray(x.start, x.end));
          n.msg(5, attribute('accuracy_level', level));
          graph.msg(1, n);
          changed++;
          continue;
        }
      }
    }
    graph.raw(buf.subarray(f.start, f.end));
  }
  if (found === 0) return { ok: false, reason: 'no MatMulNBits nodes' };
  if (changed === 0) return { ok: false, reason: `all ${found} MatMulNBits nodes already set accuracy_level` };
  const model = modelWithGraph(buf, top, graphF, graph);
  return { ok: true, model, nodes: changed };
}

/** Why a cached graph cannot be a model (its protobuf structure is broken), or null. */
function unreadable(file: string): string | null {
  try {
    const buf = fs.readFileSync(file);
    const top = fields(buf);
    const g = top.find((f) => f.num === 7);
    if (!g) return 'no graph';
    if (!fields(buf, g.valStart, g.valEnd).some((f) => f.num === 1)) return 'no nodes';
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The graph a CPU session should load for `file` (the model's graph or the logits rewrite of it,
 * `source` being the model's own file): with integer activations when it has 4-bit MatMulNBits
 * nodes at accuracy_level 0, from the cache when possible. Any failure to write the cache returns
 * `file` with one log line.
 */
export function prepareInt8ActivationGraph(file: string, log: Logger = () => undefined, source = file): PreparedGraph {
  return prepareDerivedGraph(
    file,
    {
      mark: INT8_MARK,
      version: `a4v${REWRITE_VERSION}`,
      rewrite: (buf) => {
        try {
          return rewriteAccuracyLevel(buf);
        } catch (e) {
          return { ok: false, reason: `could not parse the graph (${(e as Error).message})` };
        }
      },
      // A derived graph already sits in a folder beside its weights; the model's own file gets one.
      dir: (f) => (f === source ? derivedDir(f) : path.dirname(f)),
      warnNoDir: true,
      check: unreadable,
      what: 'int8-activation graph',
      fallback: 'using float activations',
      done: (r, ms, out) => `set accuracy_level ${INT8_ACCURACY_LEVEL} (int8 activations) on ${r.nodes} MatMulNBits nodes of ${path.basename(file)} (${ms} ms): ${out}`,
    },
    log,
  );
}

/** Whether CPU sessions get integer activations: the option, else BYTEFILL_INT8_ACTIVATIONS (default on). */
export function int8ActivationsOn(option?: boolean): boolean {
  return option ?? process.env.BYTEFILL_INT8_ACTIVATIONS !== '0';
}
