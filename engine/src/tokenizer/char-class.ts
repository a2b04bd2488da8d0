// Character classes of a pre-tokenizer: two characters are in one class when no part of its
// patterns can tell them apart, so the pieces of a string (as character offsets) depend only on
// the sequence of its characters' classes. The byte layer caches the pre-tokenizer's decision at a
// token boundary by class sequence instead of running the patterns once per candidate token.
//
// Sound by construction: every ASCII character is a class of its own, and a non-ASCII character's
// class is the set of the patterns' atoms (bracket expressions, escapes such as \p{L}, `.`,
// literal characters) it matches. A regular expression without back-references and without case
// folding only ever asks a character which atoms it matches, so characters with the same answers
// are interchangeable. Patterns that use back-references or the `i` flag get no classes (null).

/** The atoms of a pattern, each compiled to match exactly one character; null when unsupported. */
export function patternAtoms(re: RegExp): RegExp[] | null {
  if (/[iv]/.test(re.flags) || !re.flags.includes('u')) return null;
  const flags = re.flags.replace(/[gy]/g, '');
  const src = re.source;
  const out: RegExp[] = [];
  const atom = (s: string) => out.push(new RegExp(`^(?:${s})$`, flags));
  for (let i = 0; i < src.length; ) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined || /[1-9k]/.test(n)) return null; // back-reference
      const m = /^\\(?:[pP]\{[^}]*\}|x[0-9A-Fa-f]{2}|u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|c[A-Za-z]|[\s\S])/.exec(src.slice(i));
      const esc = m![0];
      // \b and \B ask whether the neighbours are word characters.
      if (esc === '\\b' || esc === '\\B') atom('\\w');
      else atom(esc);
      i += esc.length;
    } else if (c === '[') {
      let k = i + 1;
      if (src[k] === '^') k++;
      while (k < src.length && src[k] !== ']') k += src[k] === '\\' ? 2 : 1;
      if (k >= src.length) return null;
      atom(src.slice(i, k + 1));
      i = k + 1;
    } else if (c === '(') {
      const g = /^\((?:\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>))?/.exec(src.slice(i))!;
      i += g[0].length;
    } else if (c === '{') {
      const q = /^\{\d+(?:,\d*)?\}/.exec(src.slice(i));
      if (q) i += q[0].length;
      else {
        atom('\\{');
        i++;
      }
    } else if (')|?*+^$'.includes(c)) {
      i++;
    } else if (c === '.') {
      atom('.');
      i++;
    } else {
      const cp = src.codePointAt(i)!;
      atom(`\\u{${cp.toString(16)}}`);
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return out;
}

/**
 * Class ids by code point for a set of patterns (a pre-tokenizer's steps): ASCII characters are
 * their own class (0-127); other characters share a class id (from 128) when they match the same
 * atoms. Null when some pattern has no classes.
 */
export class CharClasses {
  private readonly atoms: RegExp[];
  private readonly byCp = new Map<number, number>();
  private readonly bySignature = new Map<string, number>();

  private constructor(atoms: RegExp[]) {
    this.atoms = atoms;
  }

  static of(patterns: readonly RegExp[]): CharClasses | null {
    const all: RegExp[] = [];
    for (const p of patterns) {
      const a = patternAtoms(p);
      if (!a) return null;
      all.push(...a);
    }
    return new CharClasses(all);
  }

  classOf(cp: number): number {
    if (cp < 128) return cp;
    let id = this.byCp.get(cp);
    if (id === undefined) {
      const ch = String.fromCodePoint(cp);
      let sig = '';
      for (const a of this.atoms) sig += a.test(ch) ? '1' : '0';
      id = this.bySignature.get(sig);
      if (id === undefined) this.bySignature.set(sig, (id = 128 + this.bySignature.size));
      this.byCp.set(cp, id);
    }
    return id;
  }

  /** The class sequence of a string, as a string of class ids (one UTF-16 unit per character). */
  key(s: string): string {
    let k = '';
    for (let i = 0; i < s.length; i++) {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      k += String.fromCharCode(this.classOf(cp));
    }
    return k;
  }
}
