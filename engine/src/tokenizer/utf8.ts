// UTF-8 helpers. Editor text is a JS string (possibly with lone surrogates); the byte layer works
// on raw bytes, which may end inside a multi-byte character.

const encoder = new TextEncoder();
// ignoreBOM everywhere: a leading U+FEFF is part of the text, never a signature to drop.
const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Encodes a JS string; lone surrogates become U+FFFD (as TextEncoder does). */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

export function utf8DecodeLenient(b: Uint8Array): string {
  return lenient.decode(b);
}

export function isValidUtf8(b: Uint8Array): boolean {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Length of the sequence a lead byte announces (1 for ASCII and for invalid lead bytes). */
export function utf8SeqLen(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc2) return 2;
  return 1;
}

/** Number of trailing bytes that form an incomplete (but so far plausible) UTF-8 sequence. */
export function incompleteUtf8Tail(b: Uint8Array): number {
  const n = b.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const c = b[n - k];
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = utf8SeqLen(c);
    return need > k ? k : 0;
  }
  return 0;
}

/** True when offset `i` of `b` is not inside a multi-byte character. */
export function isCharBoundary(b: Uint8Array, i: number): boolean {
  return i <= 0 || i >= b.length || (b[i] & 0xc0) !== 0x80;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function startsWithBytes(hay: Uint8Array, needle: Uint8Array, at = 0): boolean {
  if (hay.length - at < needle.length) return false;
  for (let i = 0; i < needle.length; i++) if (hay[at + i] !== needle[i]) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && startsWithBytes(a, b);
}
