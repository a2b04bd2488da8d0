// A model spec is a folder or a Hub id (`org/name`, optionally `@revision`). A spec that names an
// existing folder is always a folder, so a local `org/name` directory is never shadowed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface HubId {
  /** `org/name` */
  repo: string;
  /** Branch, tag or commit; `main` when not given. */
  revision: string;
}

export type ModelSpec = { kind: 'folder'; dir: string } | { kind: 'hub'; id: HubId };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HUB_ID = /^([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([^\s@]+))?$/;

/** The Hub id in `s`, or null when `s` is not shaped like one. */
export function parseHubId(s: string): HubId | null {
  const m = HUB_ID.exec(s.trim());
  if (!m || !NAME.test(m[1]) || !NAME.test(m[2]) || m[2].endsWith('.') || m[2].includes('..')) return null;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

export function formatHubId(id: HubId): string {
  return id.revision === 'main' ? id.repo : `${id.repo}@${id.revision}`;
}

export function parseModelSpec(spec: string): ModelSpec {
  const s = spec.trim();
  const expanded = s === '~' || s.startsWith('~/') ? path.join(os.homedir(), s.slice(1)) : s;
  const looksLikePath = path.isAbsolute(expanded) || s.startsWith('.') || s.startsWith('~') || s.includes('\\');
  if (looksLikePath || fs.existsSync(expanded)) return { kind: 'folder', dir: expanded };
  const id = parseHubId(s);
  return id ? { kind: 'hub', id } : { kind: 'folder', dir: expanded };
}
