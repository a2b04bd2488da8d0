// Where the Hub is and how to reach it, read the way Python's huggingface_hub reads it, so that
// bytefill shares its cache, mirror, token and offline switch with every other Hugging Face tool.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getHFHubCachePath } from '@huggingface/hub';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** Base URL of the Hub or a mirror (HF_ENDPOINT), without a trailing slash. */
  endpoint: string;
  /** HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir: string;
  /** HF_TOKEN, else the token file huggingface-cli login writes; undefined when neither exists. */
  token?: string;
  /** HF_HUB_OFFLINE=1: never touch the network. */
  offline: boolean;
}

const TRUE = new Set(['1', 'on', 'yes', 'true']);

function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
}

function tokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const t = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (t && t.trim()) return t.trim();
  const file = env.HF_TOKEN_PATH ?? path.join(hfHome(env), 'token');
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    return s || undefined;
  } catch {
    return undefined;
  }
}

/** Settings from the environment; explicit options win over it. */
export function hubSettings(over: Partial<HubSettings> = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (over.endpoint ?? env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  // getHFHubCachePath reads process.env; honour a custom env the same way.
  const cacheDir =
    over.cacheDir ??
    (env === process.env ? getHFHubCachePath() : env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? path.join(hfHome(env), 'hub'));
  return {
    endpoint,
    cacheDir: cacheDir.startsWith('~') ? path.join(os.homedir(), cacheDir.slice(1)) : cacheDir,
    token: over.token ?? tokenFromEnv(env),
    offline: (over.offline ?? false) || TRUE.has((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase()),
  };
}
