// The quick menu behind the status bar item (pure: which entries, given the state).
export type MenuAction = 'snooze5' | 'snooze30' | 'resume' | 'disableLanguage' | 'enableLanguage' | 'chooseModel' | 'showStatus' | 'showLogs';

export interface MenuEntry {
  label: string;
  description?: string;
  action: MenuAction;
}

export function statusMenuEntries(o: { snoozed: boolean; languageId: string | undefined; languageDisabled: boolean }): MenuEntry[] {
  const out: MenuEntry[] = [];
  if (o.snoozed) out.push({ label: '$(play) Resume completions', action: 'resume' });
  out.push({ label: '$(clock) Snooze for 5 minutes', action: 'snooze5' });
  out.push({ label: '$(clock) Snooze for 30 minutes', action: 'snooze30' });
  if (o.languageId) {
    out.push(
      o.languageDisabled
        ? { label: `$(check) Enable for ${o.languageId}`, action: 'enableLanguage' }
        : { label: `$(circle-slash) Disable for ${o.languageId}`, action: 'disableLanguage' },
    );
  }
  out.push({ label: '$(folder-opened) Choose model…', action: 'chooseModel' });
  out.push({ label: '$(graph) Show status', description: 'accept rate, latency, last request', action: 'showStatus' });
  out.push({ label: '$(output) Show logs', action: 'showLogs' });
  return out;
}

/** The `disabledLanguages` setting after enabling/disabling one language. */
export function toggleLanguage(disabled: readonly string[], languageId: string, disable: boolean): string[] {
  const rest = disabled.filter((l) => l !== languageId);
  return disable ? [...rest, languageId] : rest;
}
