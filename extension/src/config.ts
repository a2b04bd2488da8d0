// Maps the raw `bytefill.*` VS Code settings to the server configuration. Pure (no vscode
// import) so it is unit-tested directly: expands ~ and ${workspaceFolder} in model paths,
// then validates with the server's rules.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { clientSettingsChanged, EDITOR_SETTING_KEYS, normalizeConfig, ServerConfig } from '../../language-server/src/index';

export interface PathContext {
  /** First workspace folder (fs path), if any: relative model paths resolve against it. */
  workspaceFolder?: string;
  homeDir?: string;
  /** Whether a folder exists (default fs.existsSync): an existing folder wins over a Hub id. */
  exists?: (p: string) => boolean;
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(@[^\s@]+)?$/;

/** Whether a `bytefill.models` entry is a Hub id (org/name[@revision]) rather than a folder. */
export function isHubId(entry: string, ctx: PathContext = {}): boolean {
  const s = entry.trim();
  if (!HUB_ID.test(s)) return false;
  const exists = ctx.exists ?? fs.existsSync;
  return !(ctx.workspaceFolder && exists(path.join(ctx.workspaceFolder, s)));
}

export interface MappedConfig {
  config: ServerConfig;
  warnings: string[];
}

export function expandPath(p: string, ctx: PathContext): string {
  if (isHubId(p, ctx)) return p.trim();
  const home = ctx.homeDir ?? os.homedir();
  let s = p.trim();
  if (s === '~') s = home;
  else if (s.startsWith('~/') || s.startsWith('~\\')) s = path.join(home, s.slice(2));
  if (ctx.workspaceFolder) s = s.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  if (!path.isAbsolute(s) && ctx.workspaceFolder) s = path.join(ctx.workspaceFolder, s);
  return s;
}

export function settingsToServerConfig(raw: unknown, ctx: PathContext = {}): MappedConfig {
  const { config, warnings } = normalizeConfig(raw);
  const models = config.models.map((m) => expandPath(m, ctx));
  for (const m of models) {
    if (!path.isAbsolute(m) && !isHubId(m, ctx)) warnings.push(`bytefill.models: "${m}" is relative and there is no workspace folder`);
  }
  return { config: { ...config, models }, warnings };
}

/** Document selector entries for the `languages` setting. */
export function documentSelectorFor(languages: string[]): { scheme: string; language?: string }[] {
  if (languages.includes('*')) return [{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-notebook-cell' }];
  return languages.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}

/** Every `bytefill.*` setting key the extension reads: the settings table's editor settings. */
export const SETTING_KEYS: readonly string[] = EDITOR_SETTING_KEYS;

/** Builds the raw settings object from a getter (VS Code's WorkspaceConfiguration.get). */
export function readRawSettings(get: (key: string) => unknown): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    const v = get(k);
    if (v !== undefined) raw[k] = v;
  }
  return raw;
}

/** Whether a settings change needs the client restarted (settings marked 'restartClient' in the table). */
export function needsClientRestart(before: ServerConfig, after: ServerConfig): boolean {
  return clientSettingsChanged(before, after);
}
