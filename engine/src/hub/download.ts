// Downloads one file into a blob of the cache: resumes a partial `.incomplete` file with an HTTP
// Range request, retries a dropped connection from where it stopped, checks the content against
// the Hub's hash (sha256 for LFS files, git's blob sha1 for small ones) and only then renames it
// to its blob name. A file whose hash differs is deleted and named in the error.
import { createHash, Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { BytefillError } from '../core/types';

export interface ExpectedFile {
  /** Path in the repo, for messages. */
  file: string;
  size: number;
  /** lfs.oid (sha256 hex) or the git blob oid (sha1 hex) of small files. */
  oid: string;
  kind: 'sha256' | 'git-sha1';
}

export interface BlobDownload {
  url: string;
  blob: string;
  expected: ExpectedFile;
  /** Names the repo in messages. */
  repo: string;
  token?: string;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Called with each chunk's length (resumed bytes are not reported again). */
  onBytes?: (n: number) => void;
  /** Attempts after a dropped connection (each resumes). */
  retries?: number;
}

/** Result: bytes fetched over the network by this call (0 when another download made the blob). */
export async function downloadBlob(d: BlobDownload): Promise<number> {
  const release = await lockBlob(d);
  try {
    if (fs.existsSync(d.blob)) return 0;
    return await downloadLocked(d);
  } finally {
    release();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const held = new Set<string>();

/**
 * One writer per blob across processes (an editor and a terminal `pull` may fetch the same model):
 * `<blob>.lock` holds the writer's pid; others wait for it, and a lock whose process died is taken over.
 */
async function lockBlob(d: BlobDownload): Promise<() => void> {
  const lock = `${d.blob}.lock`;
  for (;;) {
    if (d.signal?.aborted) throw aborted(d);
    if (!held.has(lock)) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
        held.add(lock);
        return () => {
          held.delete(lock);
          fs.rmSync(lock, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(fs.readFileSync(lock, 'utf8').trim());
        if (pid !== process.pid && !(pid > 0 && alive(pid))) {
          fs.rmSync(lock, { force: true });
          continue;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function downloadLocked(d: BlobDownload): Promise<number> {
  const incomplete = `${d.blob}.incomplete`;
  const retries = d.retries ?? 3;
  let fetched = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      fetched += await fetchInto(d, incomplete);
      break;
    } catch (e) {
      if (e instanceof BytefillError || d.signal?.aborted || attempt >= retries) throw wrapNetwork(e, d);
    }
  }
  await verify(d, incomplete);
  await fsp.rename(incomplete, d.blob);
  return fetched;
}

function partialSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function fetchInto(d: BlobDownload, incomplete: string): Promise<number> {
  let start = partialSize(incomplete);
  if (start > d.expected.size) {
    await fsp.rm(incomplete, { force: true });
    start = 0;
  }
  if (start === d.expected.size) return 0;
  if (d.signal?.aborted) throw aborted(d);
  const headers: Record<string, string> = {};
  if (d.token) headers.Authorization = `Bearer ${d.token}`;
  if (start > 0) headers.Range = `bytes=${start}-`;
  const res = await (d.fetch ?? fetch)(d.url, { headers, signal: d.signal, redirect: 'follow' });
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel().catch(() => undefined);
    throw httpError(res.status, d.repo, d.expected.file, res.headers.get('x-error-message'));
  }
  // A server that ignores Range answers 200 with the whole file: start over.
  const append = res.status === 206 && start > 0;
  const fh = await fsp.open(incomplete, append ? 'a' : 'w');
  let got = 0;
  try {
    if (!res.body) throw new Error('empty response body');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await fh.write(chunk);
      got += chunk.length;
      d.onBytes?.(chunk.length);
    }
  } finally {
    await fh.close();
  }
  const have = partialSize(incomplete);
  if (have < d.expected.size) throw new Error(`connection closed after ${have} of ${d.expected.size} bytes`);
  return got;
}

async function hashFile(file: string, h: Hash): Promise<string> {
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function verify(d: BlobDownload, incomplete: string): Promise<void> {
  const { expected } = d;
  const size = partialSize(incomplete);
  let actual: string;
  if (expected.kind === 'sha256') actual = await hashFile(incomplete, createHash('sha256'));
  else {
    const h = createHash('sha1');
    h.update(`blob ${size}\0`);
    actual = await hashFile(incomplete, h);
  }
  if (size !== expected.size || actual !== expected.oid.toLowerCase()) {
    await fsp.rm(incomplete, { force: true });
    throw new BytefillError(
      'CHECKSUM_MISMATCH',
      `Downloaded ${expected.file} of ${d.repo} does not match the Hub's checksum (${expected.kind} ${actual.slice(0, 12)}…, ${size} bytes; expected ${expected.oid.slice(0, 12)}…, ${expected.size} bytes): the file was deleted, try again`,
    );
  }
}

function aborted(d: BlobDownload): BytefillError {
  return new BytefillError('ABORTED', `download of ${d.expected.file} from ${d.repo} cancelled (the partial file is kept and resumed next time)`);
}

function wrapNetwork(e: unknown, d: BlobDownload): BytefillError {
  if (e instanceof BytefillError) return e;
  if (d.signal?.aborted) return aborted(d);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e as Error).message;
  return new BytefillError('DOWNLOAD_FAILED', `download of ${d.expected.file} from ${d.repo} failed: ${why} (the partial file is kept and resumed next time)`);
}

/** One clear line per HTTP failure, naming the repo and the file. */
export function httpError(status: number, repo: string, file: string | null, detail?: string | null): BytefillError {
  const what = file ? `${file} of ${repo}` : repo;
  const extra = detail ? ` (${detail})` : '';
  if (status === 401)
    return new BytefillError('HUB_UNAUTHORIZED', `${what}: the Hub answered 401 Unauthorized: the repo is gated or private; set HF_TOKEN to a token with access${extra}`);
  if (status === 403)
    return new BytefillError('HUB_FORBIDDEN', `${what}: the Hub answered 403 Forbidden: accept the model's terms on its Hub page or use a token with read access${extra}`);
  if (status === 404)
    return new BytefillError('HUB_NOT_FOUND', `${what}: not found on the Hub (404): check the id and revision; private repos also answer 404 without a token${extra}`);
  return new BytefillError('DOWNLOAD_FAILED', `${what}: the Hub answered HTTP ${status}${extra}`);
}
