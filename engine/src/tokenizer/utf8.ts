// UTF-8 helpers. Editor text is a JS string (possibly with lone surrogates); the byte layer works
// on raw bytes, which may end inside a multi-byte character.

const encoder = new TextEncoder();
// ignoreBOM everywhere: a leading U+FEFF is part of the text, never a signature to drop (files
// saved on Windows start with one; pieces sliced from the original bytes must keep it).
const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Encodes a JS string; lone surrogates become U+FFFD (as TextEncoder does). */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

export function utf8DecodeLenient(b: Uint8Array): string {
  return lenient.decode(b);
}

/** Whether the bytes are valid UTF-8 (what a strict decoder accepts), without decoding them. */
export function isValidUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; ) {
    if (b[i] < 0x80) i++;
    else {
      const len = validSeqLen(b, i);
      if (len === 0) return false;
      i += len;
    }
  }
  return true;
}

/**
 * The bytes as a string when they are valid UTF-8, else null; without a decoder error for invalid
 * bytes, and ASCII without the decoder (both cost where validity checks decode per candidate).
 */
export function utf8DecodeIfValid(b: Uint8Array): string | null {
  let ascii = true;
  for (let i = 0; i < b.length && ascii; i++) ascii = b[i] < 0x80;
  if (ascii && b.length <= 4096) return String.fromCharCode.apply(null, b as unknown as number[]);
  return ascii || isValidUtf8(b) ? lenient.decode(b) : null;
}

/** Length of a valid UTF-8 sequence at i, or 0 if the bytes there are not one. */
export function validSeqLen(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  let need: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) (need = 1), (min = 0x80);
  else if (c >= 0xe0 && c <= 0xef) (need = 2), (min = 0x800);
  else if (c >= 0xf0 && c <= 0xf4) (need = 3), (min = 0x10000);
  else return 0;
  if (i + need >= b.length) return 0;
  let cp = c & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const x = b[i + k];
    if (x === undefined || (x & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (x & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
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
