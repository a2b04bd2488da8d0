// Starting points of alternative candidates: the next-best first tokens (token/heal modes) or the
// next-best valid covers (byte mode), chosen so they differ from each other in their first bytes:
// a start whose bytes are a prefix of another's (or extend it) would mostly decode to the same text.
import { Cover, CoverTree } from '../byte/cover-tree';
import { firstStopIndex } from '../decode/generate';
import { Tokenizer } from '../tokenizer/tokenizer';
import { utf8DecodeLenient } from '../tokenizer/utf8';

/** Candidates tried per wanted start before giving up (bounds validity checks). */
const SCAN_PER_START = 64;

function prefixRelated(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `bytes` may start a new candidate next to the ones already taken. */
function distinctStart(bytes: Uint8Array, taken: Uint8Array[], stops: string[] | undefined, dropBytes: number): boolean {
  if (bytes.length <= dropBytes) return false;
  // A start that is already a stop (e.g. a newline in single-line mode) gives an empty candidate.
  if (firstStopIndex(utf8DecodeLenient(bytes.subarray(dropBytes)), stops) === 0) return false;
  return !taken.some((t) => prefixRelated(t, bytes));
}

/**
 * Up to `n` first tokens after `first` (already chosen), most probable first, each allowed, not a
 * stop id, and distinct in its bytes.
 */
export function alternativeFirstTokens(
  tok: Tokenizer,
  probs: Float64Array,
  first: number,
  n: number,
  opts: { stopIds: ReadonlySet<number>; stops?: string[]; allowed?: (id: number) => boolean; dropBytes?: number },
): number[] {
  if (n <= 0) return [];
  const order: number[] = [];
  for (let id = 0; id < probs.length; id++) if (probs[id] > 0 && id !== first) order.push(id);
  order.sort((a, b) => probs[b] - probs[a]);
  const taken = first >= 0 ? [tok.tokenBytes(first)] : [];
  const out: number[] = [];
  for (let k = 0; k < order.length && k < n * SCAN_PER_START && out.length < n; k++) {
    const id = order[k];
    if (opts.stopIds.has(id) || tok.isSpecial(id) || (opts.allowed && !opts.allowed(id))) continue;
    const bytes = tok.tokenBytes(id);
    if (!distinctStart(bytes, taken, opts.stops, opts.dropBytes ?? 0)) continue;
    taken.push(bytes);
    out.push(id);
  }
  return out;
}

/** Up to `n` valid covers after `first`, best first, with distinct overhangs (end covers excluded). */
export function alternativeCovers(tree: CoverTree, first: Cover | null, n: number, stops?: string[]): Cover[] {
  if (n <= 0) return [];
  const taken = first && !first.end ? [tree.overhang(first)] : [];
  const out: Cover[] = [];
  const cands = tree.candidates();
  for (let k = 0; k < cands.length && k < n * SCAN_PER_START && out.length < n; k++) {
    const c = cands[k];
    if (c.end || c.logw === -Infinity) continue;
    if (first && c.row === first.row && c.token === first.token) continue;
    const bytes = tree.overhang(c);
    if (!distinctStart(bytes, taken, stops, 0) || !tree.isValid(c)) continue;
    taken.push(bytes);
    out.push(c);
  }
  return out;
}
