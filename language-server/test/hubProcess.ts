// Client of the test Hub process (out/engine/test/hub-serve.js): a Hugging Face Hub on
// 127.0.0.1 serving fixture repos, with switchable faults and a request log.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { REPO } from './lspClient';

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  auth?: string;
  sent: number;
}

export class HubProcess {
  url = '';
  private proc?: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();

  /** repos: Hub id -> 'bundled:tiny-code-b' | 'bundled:tiny-code-a' | 'variants'. */
  async start(repos: Record<string, string>): Promise<void> {
    const args = [path.join(REPO, 'out', 'engine', 'test', 'hub-serve.js'), '--serve'];
    for (const [id, kind] of Object.entries(repos)) args.push('--repo', `${id}=${kind}`);
    const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc = proc;
    const lines = readline.createInterface({ input: proc.stdout! });
    this.url = await new Promise<string>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`test Hub exited with ${code}`)));
      lines.once('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
    });
    lines.on('line', (l) => {
      const m = JSON.parse(l) as { id: number };
      this.waiting.get(m.id)?.(m as unknown as Record<string, unknown>);
      this.waiting.delete(m.id);
    });
  }

  private send(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc!.stdin!.write(JSON.stringify({ ...msg, id }) + '\n');
    });
  }

  async setFaults(faults: Record<string, unknown>): Promise<void> {
    await this.send({ cmd: 'faults', faults });
  }

  async requests(): Promise<HubRequest[]> {
    return (await this.send({ cmd: 'requests' })).requests as HubRequest[];
  }

  async close(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.stdin!.end();
      setTimeout(() => p.kill(), 5000).unref();
    });
  }
}
