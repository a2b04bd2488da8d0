// Per-test Hub environment: a fresh TestHub and an empty cache, with HF_ENDPOINT and HF_HUB_CACHE
// pointing at them (each test file runs in its own process, so process.env is ours).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestHub } from './hub-server';

export interface HubEnv {
  hub: TestHub;
  cache: string;
  done: () => Promise<void>;
}

export async function hubEnv(): Promise<HubEnv> {
  const hub = new TestHub();
  await hub.start();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-hf-'));
  const cache = path.join(home, 'hub');
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = home;
  process.env.HF_HUB_CACHE = cache;
  delete process.env.HF_TOKEN;
  delete process.env.HUGGING_FACE_HUB_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
  return {
    hub,
    cache,
    done: async () => {
      await hub.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
