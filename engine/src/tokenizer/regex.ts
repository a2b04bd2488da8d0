// Translates the Oniguruma patterns found in tokenizer.json files into JavaScript RegExps.
// Handles what byte-level BPE pre-tokenizers use: inline case-insensitive groups `(?i:...)` and
// Oniguruma's `\s` (Unicode White_Space, which differs from JS `\s` on U+0085 and U+FEFF).

const WS = '\\t\\n\\v\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';

export function onigToJs(pattern: string): RegExp {
  let out = '';
  let inClass = 0;
  let caseInsensitiveDepth = 0;
  const groupStack: boolean[] = []; // true for a (?i: group
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === 's') out += inClass ? WS : `[${WS}]`;
      else if (n === 'S') {
        if (inClass) throw new Error('\\S inside a character class is not supported');
        out += `[^${WS}]`;
      } else if (n === 'p' || n === 'P' || n === 'x' || n === 'u') {
        // copy the escape with its {...} argument unchanged
        const m = /^\\[pPxu](\{[^}]*\}|[0-9A-Fa-f]{2,4})/.exec(pattern.slice(i));
        if (!m) throw new Error(`unsupported escape in pattern at ${i}`);
        out += m[0];
        i += m[0].length - 1;
        continue;
      } else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[') inClass++;
      else if (c === ']') inClass--;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = 1;
      out += c;
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      if (pattern.startsWith('(?i:', i)) {
        groupStack.push(true);
        caseInsensitiveDepth++;
        out += '(?:';
        i += 3;
        continue;
      }
      groupStack.push(false);
      out += c;
      continue;
    }
    if (c === ')') {
      if (groupStack.pop()) caseInsensitiveDepth--;
      out += c;
      continue;
    }
    if (caseInsensitiveDepth > 0 && /[A-Za-z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  return new RegExp(out, 'gu');
}

export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
