// Which suggestions were accepted, seen from the server. A full accept is reported by the editor
// (the item's command, forwarded as bytefill/didAccept); accept-word / accept-line (and full accepts
// from clients without the command) are inferred from the document: one change that inserts two or
// more characters of the shown suggestion at its position. Typing the same characters one by one is
// typing through, not an accept.

export interface ShownSuggestion {
  id: number;
  uri: string;
  languageId: string;
  /** Document text and cursor when it was shown. */
  text: string;
  offset: number;
  items: string[];
  /** Characters of it now in the document (typed or accepted). */
  consumed: number;
  /** A full accept was counted. */
  accepted: boolean;
}

export type AcceptEvent = { kind: 'full' | 'partial'; chars: number; languageId: string };

/** How far around the insertion the document must be unchanged to still be the same suggestion. */
const WINDOW = 500;
const RECENT = 16;

export class AcceptanceTracker {
  private current: ShownSuggestion | null = null;
  /** Recently shown, by id (the accept command may arrive after the next suggestion was shown). */
  private readonly recent = new Map<number, ShownSuggestion>();
  private nextId = 1;

  shown(s: Omit<ShownSuggestion, 'id' | 'consumed' | 'accepted'>): number {
    const id = this.nextId++;
    const rec: ShownSuggestion = { ...s, id, consumed: 0, accepted: false };
    this.current = rec;
    this.recent.set(id, rec);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value as number);
    return id;
  }

  /** The editor reported a full accept of item `index` of suggestion `id`. */
  didAccept(id: number, index = 0): AcceptEvent | null {
    const s = this.recent.get(id);
    if (!s || s.accepted) return null;
    s.accepted = true;
    const item = s.items[index] ?? s.items[0];
    return { kind: 'full', languageId: s.languageId, chars: Math.max(0, item.length - s.consumed) };
  }

  /** A document changed; returns the accept it amounts to, if any. */
  documentChanged(uri: string, text: string): AcceptEvent | null {
    const s = this.current;
    if (!s || s.uri !== uri) return null;
    const k = text.length - s.text.length;
    const inserted = k > 0 ? text.slice(s.offset, s.offset + k) : '';
    const item = k > 0 ? s.items.find((it) => it.length >= k && it.startsWith(inserted)) : undefined;
    const same =
      item !== undefined &&
      text.slice(Math.max(0, s.offset - WINDOW), s.offset) === s.text.slice(Math.max(0, s.offset - WINDOW), s.offset) &&
      text.slice(s.offset + k, s.offset + k + WINDOW) === s.text.slice(s.offset, s.offset + WINDOW);
    if (!same) {
      // Edited elsewhere, deleted, or typed something else: the suggestion is gone.
      this.current = null;
      return null;
    }
    const delta = k - s.consumed;
    s.consumed = k;
    if (delta < 2 || s.accepted) return null;
    if (k === item!.length) {
      s.accepted = true;
      return { kind: 'full', languageId: s.languageId, chars: delta };
    }
    return { kind: 'partial', languageId: s.languageId, chars: delta };
  }
}
