// Character classes of a pre-tokenizer: two characters are in one class when no part of its
// patterns can tell them apart at that position, so the pieces of a string (as character offsets)
// depend only on the sequence of its characters' classes. The byte layer caches the
// pre-tokenizer's decision at a token boundary by class sequence instead of running the patterns
// once per candidate token.
//
// Sound by construction: a character's class is the set of the patterns' atoms (bracket
// expressions, escapes such as \p{L}, `.`, literal characters) it matches. A regular expression
// without back-references and without case folding only ever asks a character which atoms it
// matches, so characters with the same answers are interchangeable. One refinement keeps the
// classes coarse: letters that appear literally only right after a literal guard character (the
// contractions 's 't 're 've 'm 'll 'd after an apostrophe) are told apart only within two
// characters after that guard; elsewhere only the other atoms are asked. Patterns that use
// back-references or the `i` flag get no classes (null).

interface Atom {
  re: RegExp;
  /** Only tested one or two characters after a guard character (see above). */
  guarded: boolean;
}

const LETTER_ATOM = /^(?:[A-Za-z]|\[[A-Za-z]+\])$/;

/** The atoms of a pattern, each compiled to match exactly one character; null when unsupported. */
export function patternAtoms(re: RegExp): Atom[] | null {
  if (/[iv]/.test(re.flags) || !re.flags.includes('u')) return null;
  const flags = re.flags.replace(/[gy]/g, '');
  const src = re.source;
  const out: Atom[] = [];
  // Source text of each atom in order, and where a guard (a literal apostrophe) was seen.
  const texts: string[] = [];
  const ends: number[] = [];
  const atom = (s: string, end: number) => {
    out.push({ re: new RegExp(`^(?:${s})$`, flags), guarded: false });
    texts.push(s);
    ends.push(end);
  };
  for (let i = 0; i < src.length; ) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined || /[1-9k]/.test(n)) return null; // back-reference
      const m = /^\\(?:[pP]\{[^}]*\}|x[0-9A-Fa-f]{2}|u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|c[A-Za-z]|[\s\S])/.exec(src.slice(i));
      const esc = m![0];
      // \b and \B ask whether the neighbours are word characters.
      atom(esc === '\\b' || esc === '\\B' ? '\\w' : esc, i + esc.length);
      i += esc.length;
    } else if (c === '[') {
      let k = i + 1;
      if (src[k] === '^') k++;
      while (k < src.length && src[k] !== ']') k += src[k] === '\\' ? 2 : 1;
      if (k >= src.length) return null;
      atom(src.slice(i, k + 1), k + 1);
      i = k + 1;
    } else if (c === '(') {
      const g = /^\((?:\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>))?/.exec(src.slice(i))!;
      i += g[0].length;
    } else if (c === '{') {
      const q = /^\{\d+(?:,\d*)?\}/.exec(src.slice(i));
      if (q) i += q[0].length;
      else {
        atom('\\{', i + 1);
        i++;
      }
    } else if (')|?*+^$'.includes(c)) {
      i++;
    } else if (c === '.') {
      atom('.', i + 1);
      i++;
    } else {
      const cp = src.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      atom(cp < 128 && /[A-Za-z]/.test(c) ? c : `\\u{${cp.toString(16)}}`, i + w);
      i += w;
    }
  }
  // A literal apostrophe followed directly by one or two letter atoms (no quantifier after them):
  // those letter atoms are tested only at distance 1 or 2 after an apostrophe.
  for (let a = 0; a < texts.length; a++) {
    if (texts[a] !== "\\u{27}" || src[ends[a] - 1] !== "'") continue;
    let at = ends[a];
    for (let k = 1; k <= 2 && a + k < texts.length; k++) {
      const t = texts[a + k];
      if (!LETTER_ATOM.test(t) || !src.startsWith(t, at)) break;
      at += t.length;
      if ('?*+{'.includes(src[at] ?? '')) break;
      out[a + k].guarded = true;
    }
  }
  return out;
}

/** The guard character: letters right after it may be told apart by guarded atoms. */
const GUARD = 0x27;
/** Fine classes (within two characters after a guard) are coded from here in class keys. */
const FINE = 0x4000;

/**
 * Class ids by code point for a set of patterns (a pre-tokenizer's steps). Null when some pattern
 * has no classes.
 */
export class CharClasses {
  private readonly coarse: RegExp[];
  private readonly all: RegExp[];
  private readonly byCp = [new Map<number, number>(), new Map<number, number>()];
  private readonly bySignature = [new Map<string, number>(), new Map<string, number>()];

  private constructor(atoms: Atom[]) {
    this.all = atoms.map((a) => a.re);
    this.coarse = atoms.filter((a) => !a.guarded).map((a) => a.re);
  }

  static of(patterns: readonly RegExp[]): CharClasses | null {
    const all: Atom[] = [];
    for (const p of patterns) {
      const a = patternAtoms(p);
      if (!a) return null;
      all.push(...a);
    }
    return new CharClasses(all);
  }

  /** Class of a character: `fine` within two characters after a guard, else coarse. */
  classOf(cp: number, fine = true): number {
    const f = fine ? 1 : 0;
    let id = this.byCp[f].get(cp);
    if (id === undefined) {
      const ch = String.fromCodePoint(cp);
      let sig = '';
      for (const a of fine ? this.all : this.coarse) sig += a.test(ch) ? '1' : '0';
      id = this.bySignature[f].get(sig);
      if (id === undefined) this.bySignature[f].set(sig, (id = this.bySignature[f].size));
      this.byCp[f].set(cp, id);
    }
    return id;
  }

  /**
   * The class sequence of a string that follows text whose last guard character is `since`
   * characters back (1: the text ends with it; Infinity: none within reach), as a string of class
   * ids (one UTF-16 unit per character; fine classes from FINE up).
   */
  key(s: string, since = Infinity): string {
    let k = '';
    let d = since;
    for (let i = 0; i < s.length; i++) {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const fine = d <= 2 || cp === GUARD;
      k += String.fromCharCode(fine ? FINE + this.classOf(cp, true) : this.classOf(cp, false));
      d = cp === GUARD ? 1 : d + 1;
    }
    return k;
  }

  /** How many characters back the last guard character of `s` is (Infinity: none in the last two). */
  guardDistance(s: string): number {
    const n = s.length;
    if (n >= 1 && s.charCodeAt(n - 1) === GUARD) return 1;
    if (n >= 2 && s.charCodeAt(n - 2) === GUARD && !isLowSurrogate(s.charCodeAt(n - 1))) return 2;
    return Infinity;
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
