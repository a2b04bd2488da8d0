// Middle bits per byte: -log2 P(reference middle | prefix, suffix) / bytes, per boundary mode.
//   token: the reference's own tokenization after the naively tokenized prompt;
//   heal:  the removed last prefix token's text r is re-emitted: P(enc(r+ref)) / P(first token extends r);
//   byte:  P(middle = u + ref) / P(middle starts with u), the denominator summed over all covers of
//          the pending piece u (exact byte-level conditioning on the prefix).
// The middle is scored as complete: its end-of-middle token is included in the numerator.
import { BoundaryMode, BytefillError } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { PrefillResult } from '../model/prefix-cache';
import { CoverTree } from '../byte/cover-tree';
import { OnnxBranchLM } from '../byte/onnx-lm';
import { logSoftmax } from '../decode/distribution';
import { startsWithBytes, utf8Encode } from '../tokenizer/utf8';
import { boundaryPrompt, preparePrompt, promptIds, PromptBudget } from './prompt';

/** Sum of log p(ids | prompt) with one forward over the ids (natural log). */
async function sequenceLogProb(b: ModelBundle, prompt: number[], ids: number[], signal?: AbortSignal): Promise<{ logp: number; ctxLogp: Float64Array; pre: PrefillResult }> {
  const pre = await b.cache.prefill(prompt, signal);
  const ctxLogp = logSoftmax(pre.lastLogits);
  if (ids.length === 0) return { logp: 0, ctxLogp, pre };
  let logp = ctxLogp[ids[0]];
  if (ids.length > 1) {
    const r = await b.model.forward(pre.state, [ids.slice(0, -1)], { allLogits: true, signal });
    r.logits[0].forEach((l, k) => (logp += logSoftmax(l)[ids[k + 1]]));
  }
  return { logp, ctxLogp, pre };
}

export async function middleBitsPerByte(b: ModelBundle, prefix: string, suffix: string, middle: string, mode: BoundaryMode, budget: PromptBudget, signal?: AbortSignal): Promise<number> {
  const p = preparePrompt(b, { prefix, suffix }, budget);
  const refBytes = utf8Encode(middle);
  if (refBytes.length === 0) throw new BytefillError('BAD_ARGUMENT', 'cannot score an empty middle');
  const end = b.template.eotId !== null ? [b.template.eotId] : [];
  let nats: number;
  if (mode === 'token') {
    const prompt = promptIds(b, p, b.tok.encode(p.prefix));
    nats = -(await sequenceLogProb(b, prompt, [...b.tok.encode(middle), ...end], signal)).logp;
  } else if (mode === 'heal') {
    const ids = b.tok.encode(p.prefix);
    const last = ids[ids.length - 1];
    if (ids.length === 0 || b.tok.isSpecial(last)) return middleBitsPerByte(b, prefix, suffix, middle, 'token', budget, signal);
    const r = b.tok.tokenBytes(last);
    const prompt = promptIds(b, p, ids.slice(0, -1));
    const full = new Uint8Array(r.length + refBytes.length);
    full.set(r);
    full.set(refBytes, r.length);
    const { logp, ctxLogp } = await sequenceLogProb(b, prompt, [...b.tok.encodeBytes(full), ...end], signal);
    // Healing conditions only the first token on extending r.
    let z = 0;
    for (let id = 0; id < ctxLogp.length; id++) if (!b.tok.isSpecial(id) && startsWithBytes(b.tok.tokenBytes(id), r)) z += Math.exp(ctxLogp[id]);
    nats = -(logp - Math.log(z));
  } else {
    const { prompt, pending: u } = boundaryPrompt(b, p);
    const full = new Uint8Array(u.length + refBytes.length);
    full.set(u);
    full.set(refBytes, u.length);
    const { logp, pre } = await sequenceLogProb(b, prompt, [...b.tok.encodeBytes(full), ...end], signal);
    let logZ = 0; // every middle starts with the empty string
    if (u.length > 0) {
      const lm = new OnnxBranchLM(b.model);
      const tree = await CoverTree.build(b.tok, b.index, lm, lm.context(pre.state, pre.lastLogits), u, { stopIds: b.template.stopIds, lookahead: true }, signal);
      logZ = tree.logPrefixProb();
    }
    nats = -(logp - logZ);
  }
  return nats / Math.LN2 / refBytes.length;
}
