// GPT-2's reversible map between bytes and printable unicode characters, used by byte-level BPE
// vocabularies (tokens are stored as strings of these characters).

const byteToChar: string[] = new Array(256);
const charToByte = new Map<string, number>();

(function build() {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const set = new Set(printable);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const cp = set.has(b) ? b : 256 + extra++;
    const ch = String.fromCodePoint(cp);
    byteToChar[b] = ch;
    charToByte.set(ch, b);
  }
})();

export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += byteToChar[bytes[i]];
  return s;
}

/** Inverse of bytesToByteLevel; returns null if a character is not in the byte alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  let n = 0;
  for (const ch of s) {
    const b = charToByte.get(ch);
    if (b === undefined) return null;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

export function byteChar(b: number): string {
  return byteToChar[b];
}
