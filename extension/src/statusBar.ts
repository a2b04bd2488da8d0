// The status bar item: idle / loading / generating / error / disabled / snoozed. Click -> the
// quick menu (snooze, disable for this language, choose model, status, logs).
import * as vscode from 'vscode';
import type { LoadState } from '../../language-server/src/index';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: LoadState = 'loading';
  private message = 'Starting…';
  private generating = 0;
  /** Percentage of a model download in progress, shown while loading. */
  private downloadPercent: number | null = null;
  private snoozed: string | null = null;

  constructor() {
    this.item = vscode.window.createStatusBarItem('bytefill.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'bytefill';
    this.item.command = 'bytefill.statusMenu';
    this.render();
    this.item.show();
  }

  setState(state: LoadState, message: string, downloadPercent: number | null = null): void {
    this.state = state;
    this.message = message;
    this.downloadPercent = state === 'loading' ? downloadPercent : null;
    this.render();
  }

  /** Snoozed with this much time left ("4 min"), or null. */
  setSnoozed(left: string | null): void {
    this.snoozed = left;
    this.render();
  }

  /** One line for the quick menu's placeholder. */
  summary(): string {
    return this.snoozed ? `Snoozed (${this.snoozed} left)` : `${this.state}: ${this.message}`;
  }

  /** Counts requests in flight; shown as "generating" while any is. */
  beginGenerating(): () => void {
    this.generating++;
    this.render();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.generating--;
      this.render();
    };
  }

  private render(): void {
    const i = this.item;
    i.backgroundColor = undefined;
    switch (this.state) {
      case 'loading':
        i.text = this.downloadPercent !== null ? `$(cloud-download) bytefill ${this.downloadPercent}%` : '$(loading~spin) bytefill';
        i.tooltip = `bytefill: ${this.message}`;
        break;
      case 'error':
        i.text = '$(error) bytefill';
        i.tooltip = `bytefill: ${this.message} (click for status)`;
        i.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'disabled':
        i.text = '$(circle-slash) bytefill';
        i.tooltip = 'bytefill is disabled (run "bytefill: Enable")';
        break;
      case 'ready':
        i.text = this.generating > 0 ? '$(sync~spin) bytefill' : '$(check) bytefill';
        i.tooltip = this.generating > 0 ? 'bytefill: generating…' : `bytefill: ${this.message}`;
        break;
    }
    if (this.snoozed && this.state !== 'error') {
      i.text = '$(clock) bytefill';
      i.tooltip = `bytefill: snoozed, ${this.snoozed} left (click to resume)`;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
