// Where the cursor went, for warming the server's prompt cache (bytefill/warm): a jump (a click,
// a command such as Go to Definition, or a keyboard move of many lines) or an editor shown. Moves
// caused by edits (typing, an accepted suggestion, undo) are not jumps. Pure: no vscode (the
// selection-change kind is passed as a string), the clock and timers are the caller's.

/** Keyboard moves of fewer lines are reading (arrow keys), not a jump to a new place to type. */
export const JUMP_LINES = 10;

/** Wait until the cursor settles (held PageDown, a drag) before asking the server to warm. */
export const WARM_DEBOUNCE_MS = 150;

export type SelectionKind = 'keyboard' | 'mouse' | 'command' | 'other';

interface Seen {
  uri: string;
  line: number;
  version: number;
}

export class JumpDetector {
  private last: Seen | null = null;

  /** The selection moved: whether this is a jump to warm for. */
  selectionChanged(uri: string, line: number, version: number, kind: SelectionKind): boolean {
    const prev = this.last;
    this.last = { uri, line, version };
    if (!prev || prev.uri !== uri) return true;
    // The document changed since the last move: the edit moved the cursor.
    if (prev.version !== version) return false;
    const dist = Math.abs(line - prev.line);
    if (kind === 'keyboard') return dist >= JUMP_LINES;
    return dist >= 1;
  }

  /** An editor became active (a file opened or switched to): always worth warming. */
  editorShown(uri: string, line: number, version: number): boolean {
    this.last = { uri, line, version };
    return true;
  }
}
