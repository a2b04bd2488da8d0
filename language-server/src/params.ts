// Validation of request parameters from the client: the protocol's types are not enforced on the
// wire, and a position of 1.5, "3" or null used to flow into offset arithmetic and come back as an
// item with a null range. Errors are InvalidParams responses that name the field.
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { ErrorCodes, Position, ResponseError } from 'vscode-languageserver/node';

/** LSP `uinteger`: 0..2^31-1. */
const MAX_UINTEGER = 2 ** 31 - 1;

function invalid(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  return `a ${Array.isArray(v) ? 'array' : typeof v}`;
}

function uinteger(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_UINTEGER) {
    throw invalid(`${field} must be an integer in 0..${MAX_UINTEGER} (got ${describe(v)})`);
  }
  return v;
}

/** Checks `{ textDocument: { uri }, position: { line, character } }`; throws InvalidParams. */
export function checkDocumentPosition(params: unknown): { uri: string; position: Position } {
  const p = params as { textDocument?: { uri?: unknown }; position?: { line?: unknown; character?: unknown } } | null;
  if (typeof p !== 'object' || p === null) throw invalid('params must be an object');
  if (typeof p.textDocument !== 'object' || p.textDocument === null || typeof p.textDocument.uri !== 'string') {
    throw invalid('textDocument.uri must be a string');
  }
  if (typeof p.position !== 'object' || p.position === null) throw invalid(`position must be an object (got ${describe(p.position)})`);
  const line = uinteger(p.position.line, 'position.line');
  const character = uinteger(p.position.character, 'position.character');
  return { uri: p.textDocument.uri, position: { line, character } };
}

/** Throws InvalidParams when `position` falls between the two UTF-16 halves of one character. */
export function checkNotInsideSurrogatePair(doc: TextDocument, position: Position): void {
  const offset = doc.offsetAt(position);
  if (offset <= 0) return;
  const around = doc.getText({ start: doc.positionAt(offset - 1), end: doc.positionAt(offset + 1) });
  if (around.length !== 2) return;
  const hi = around.charCodeAt(0);
  const lo = around.charCodeAt(1);
  if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
    throw invalid(
      `position ${position.line}:${position.character} falls between the two UTF-16 halves of one character; ` +
        `use character ${position.character - 1} or ${position.character + 1}`,
    );
  }
}

/** Whether `r` is a range of two positions with uinteger line and character (no throw). */
export function isRange(r: unknown): boolean {
  const ok = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_UINTEGER;
  const pos = (p: unknown) => typeof p === 'object' && p !== null && ok((p as Position).line) && ok((p as Position).character);
  return typeof r === 'object' && r !== null && pos((r as { start?: unknown }).start) && pos((r as { end?: unknown }).end);
}
