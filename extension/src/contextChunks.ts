// What the editor knows and the server cannot see, sent as bytefill/contextChunk for the context
// ring: the definitions of the symbols near the cursor (VS Code's own definition providers, time-
// capped and asked once per symbol and document version) and code the user copies in the editor.
import * as vscode from 'vscode';
import { ContextChunkNotification, ContextChunkParams } from '../../language-server/src/index';
import { symbolsBefore } from './symbols';

/** Longest wait for the definition providers before a completion request goes ahead, ms. */
export const DEFINITION_TIMEOUT_MS = 150;
/** Lines sent from a definition's start. */
const DEFINITION_LINES = 16;
/** Symbols remembered as already asked (per document version). */
const MAX_ASKED = 512;

export type Send = (p: ContextChunkParams) => void;

export class DefinitionContext {
  private readonly asked = new Set<string>();

  constructor(private readonly send: Send) {}

  /**
   * Asks the definition providers about the symbols before the cursor (those not asked yet at this
   * document version) and sends what they find. Resolves within DEFINITION_TIMEOUT_MS; slower
   * answers are still sent when they come (for the next keystroke).
   */
  async beforeCompletion(document: vscode.TextDocument, position: vscode.Position): Promise<void> {
    const line = document.lineAt(position.line).text;
    const jobs: Promise<void>[] = [];
    for (const s of symbolsBefore(line, position.character)) {
      const key = `${document.uri.toString()}@${document.version}:${s.word}`;
      if (this.asked.has(key)) continue;
      if (this.asked.size >= MAX_ASKED) this.asked.clear();
      this.asked.add(key);
      jobs.push(this.define(document, new vscode.Position(position.line, s.character), position.line));
    }
    if (jobs.length === 0) return;
    await Promise.race([Promise.allSettled(jobs), new Promise((r) => setTimeout(r, DEFINITION_TIMEOUT_MS))]);
  }

  private async define(document: vscode.TextDocument, at: vscode.Position, cursorLine: number): Promise<void> {
    try {
      const found = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', document.uri, at);
      for (const d of (found ?? []).slice(0, 2)) {
        const uri = 'targetUri' in d ? d.targetUri : d.uri;
        const range = 'targetUri' in d ? (d.targetRange ?? d.targetSelectionRange) : d.range;
        if (!uri || !range) continue;
        // A definition on the cursor's own line is already in the prompt.
        if (uri.toString() === document.uri.toString() && Math.abs(range.start.line - cursorLine) < DEFINITION_LINES) continue;
        const target = await vscode.workspace.openTextDocument(uri);
        const start = range.start.line;
        const end = Math.min(target.lineCount, Math.max(range.end.line + 1, start + DEFINITION_LINES));
        const text = target.getText(new vscode.Range(start, 0, end, 0));
        if (text.trim()) this.send({ uri: uri.toString(), text, source: 'definition', startLine: start, endLine: end });
      }
    } catch {
      // No provider, or it failed: nothing to add.
    }
  }
}

/** The editor's copy command: copies as usual, then sends the copied selections. */
export async function copyWithContext(send: Send): Promise<void> {
  await vscode.commands.executeCommand('editor.action.clipboardCopyAction');
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  for (const sel of editor.selections) {
    if (sel.isEmpty) continue;
    const text = editor.document.getText(sel);
    if (text.trim()) send({ uri: editor.document.uri.toString(), text, source: 'copy', startLine: sel.start.line, endLine: sel.end.line + 1 });
  }
}

export { ContextChunkNotification };
