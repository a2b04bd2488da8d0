// A Hugging Face Hub on 127.0.0.1 for tests: serves the routes @huggingface/hub and bytefill's
// downloader call (model info, tree, paths-info, resolve) from repos held in memory, with the
// headers the real Hub sends (ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, Range/206), a
// request log, and faults a test can switch on (drop or stall a response mid-file, corrupt a file,
// gate a repo behind a token).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { modelDir } from './helpers';

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  auth?: string;
  /** Body bytes sent (resolve routes). */
  sent: number;
}

interface HubFile {
  data: Buffer;
  lfs: boolean;
  /** git blob sha1 (the oid of every file) */
  oid: string;
  /** sha256 of LFS files */
  sha256?: string;
}

interface HubRepo {
  commit: string;
  files: Map<string, HubFile>;
  /** Token required to download files (gated) or to see the repo at all (private). */
  token?: string;
  private?: boolean;
}

export interface Faults {
  /** Send this many body bytes of the file, then destroy the socket; `times` responses are cut. */
  drop?: { file: string; after: number; times: number };
  /** Send this many body bytes, then hold the connection open (until the client gives up). */
  stall?: { file: string; after: number; onStall?: () => void };
  /** Serve the file with one byte flipped (its listed checksum stays the original one). */
  corrupt?: { file: string };
}

const isLfs = (p: string, size: number) => /\.onnx(_data(_\d+)?|\.data)?$/.test(p) || size > 10_000_000;

export class TestHub {
  readonly requests: HubRequest[] = [];
  readonly repos = new Map<string, HubRepo>();
  faults: Faults = {};
  private server?: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';

  /** Adds a repo; files are repo paths to contents. Returns its commit hash. */
  addRepo(id: string, files: Record<string, Buffer | string>, o: { token?: string; private?: boolean } = {}): string {
    const map = new Map<string, HubFile>();
    const h = createHash('sha1').update(id);
    for (const [p, v] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const data = typeof v === 'string' ? Buffer.from(v) : v;
      const oid = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
      const lfs = isLfs(p, data.length);
      map.set(p, { data, lfs, oid, sha256: lfs ? createHash('sha256').update(data).digest('hex') : undefined });
      h.update(p).update(oid);
    }
    const commit = h.digest('hex');
    this.repos.set(id, { commit, files: map, token: o.token, private: o.private });
    return commit;
  }

  /** Body bytes served for `file` (all repos), by the Hub or its CDN. */
  bytesServed(file?: string): number {
    const body = (r: HubRequest) => r.path.includes('/resolve/') || r.path.startsWith('/cdn-lfs/');
    return this.requests.filter((r) => body(r) && (!file || r.path.endsWith('/' + file))).reduce((n, r) => n + r.sent, 0);
  }

  /** Repo paths whose contents were requested through resolve. */
  resolvedFiles(): string[] {
    return this.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.replace(/^\/[^/]+\/[^/]+\/resolve\/[^/]+\//, ''));
  }

  /** Like the real Hub: LFS files answer 302 to a CDN (here a second server, another origin). */
  redirectLfs = false;
  private cdn?: http.Server;
  private cdnUrl = '';

  private async listen(handler: http.RequestListener): Promise<[http.Server, string]> {
    const server = http.createServer(handler);
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
  }

  async start(): Promise<string> {
    [this.server, this.url] = await this.listen((req, res) => this.handle(req, res));
    [this.cdn, this.cdnUrl] = await this.listen((req, res) => this.handleCdn(req, res));
    return this.url;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const server of [this.server, this.cdn]) await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }

  /** The CDN: /cdn-lfs/<org>/<name>/<sha256>/<file>, pre-signed (no token needed). */
  private handleCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const log: HubRequest = { method: req.method ?? 'GET', path: p, range: req.headers.range, auth: req.headers.authorization, sent: 0 };
    this.requests.push(log);
    const m = /^\/cdn-lfs\/([^/]+\/[^/]+)\/([0-9a-f]{64})\/(.+)$/.exec(p);
    const f = m ? this.repos.get(m[1])?.files.get(m[3]) : undefined;
    if (!m || !f || f.sha256 !== m[2]) {
      res.writeHead(404);
      res.end();
      return;
    }
    this.serveBody(req, res, m[3], f, { ETag: `"${f.sha256}"`, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' }, log);
  }

  private json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  /** 401 without a token, 403 with a wrong one; null when access is granted. */
  private denied(repo: HubRepo, auth: string | undefined): number | null {
    if (!repo.token) return null;
    if (!auth) return 401;
    return auth === `Bearer ${repo.token}` ? null : 403;
  }

  private rev(repo: HubRepo, rev: string): boolean {
    return rev === 'main' || rev === 'HEAD' || rev === repo.commit;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = decodeURIComponent(url.pathname);
    const log: HubRequest = { method: req.method ?? 'GET', path: p, range: req.headers.range, auth: req.headers.authorization, sent: 0 };
    this.requests.push(log);
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(p))) return this.info(res, m[1], m[2], log);
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(p))) return this.tree(res, m[1], m[2], m[3] ?? '', url.searchParams.get('recursive') === 'true', log);
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/([^/]+)$/.exec(p))) return this.pathsInfo(req, res, m[1], m[2], log);
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p))) return this.resolve(req, res, m[1], m[2], m[3], log);
    this.json(res, 404, { error: 'Not found' });
  }

  private repoOr404(res: http.ServerResponse, id: string, rev: string, log: HubRequest): HubRepo | null {
    const repo = this.repos.get(id);
    if (!repo || (repo.private && this.denied(repo, log.auth) !== null)) {
      this.json(res, repo ? 401 : 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
      return null;
    }
    if (!this.rev(repo, rev)) {
      this.json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
      return null;
    }
    return repo;
  }

  private entry(p: string, f: HubFile) {
    return { type: 'file', oid: f.oid, size: f.data.length, path: p, ...(f.lfs ? { lfs: { oid: f.sha256, size: f.data.length, pointerSize: 134 } } : {}) };
  }

  private info(res: http.ServerResponse, id: string, rev: string, log: HubRequest): void {
    const repo = this.repoOr404(res, id, rev, log);
    if (!repo) return;
    this.json(res, 200, {
      _id: createHash('sha1').update(id).digest('hex').slice(0, 24),
      id,
      sha: repo.commit,
      private: !!repo.private,
      gated: repo.token && !repo.private ? 'manual' : false,
      downloads: 0,
      likes: 0,
      pipeline_tag: 'text-generation',
      lastModified: '2026-01-01T00:00:00.000Z',
      siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
    });
  }

  private tree(res: http.ServerResponse, id: string, rev: string, dir: string, recursive: boolean, log: HubRequest): void {
    const repo = this.repoOr404(res, id, rev, log);
    if (!repo) return;
    const prefix = dir ? dir.replace(/\/$/, '') + '/' : '';
    const out: unknown[] = [];
    const dirs = new Set<string>();
    for (const [p, f] of repo.files) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash >= 0) {
        const d = prefix + rest.slice(0, slash);
        if (!dirs.has(d)) {
          dirs.add(d);
          out.push({ type: 'directory', oid: createHash('sha1').update(d).digest('hex'), size: 0, path: d });
        }
        if (!recursive) continue;
      }
      out.push(this.entry(p, f));
    }
    this.json(res, 200, out);
  }

  private pathsInfo(req: http.IncomingMessage, res: http.ServerResponse, id: string, rev: string, log: HubRequest): void {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const repo = this.repoOr404(res, id, rev, log);
      if (!repo) return;
      const paths: string[] = JSON.parse(body || '{}').paths ?? [];
      this.json(
        res,
        200,
        paths.filter((p) => repo.files.has(p)).map((p) => ({ ...this.entry(p, repo.files.get(p)!), lastCommit: { id: repo.commit, title: 'test', date: '2026-01-01T00:00:00.000Z' } })),
      );
    });
  }

  private resolve(req: http.IncomingMessage, res: http.ServerResponse, id: string, rev: string, file: string, log: HubRequest): void {
    const repo = this.repoOr404(res, id, rev, log);
    if (!repo) return;
    const deny = this.denied(repo, log.auth);
    if (deny) {
      this.json(res, deny, { error: deny === 401 ? 'Access to this model is restricted: log in' : 'Access denied: not on the access list' }, { 'X-Error-Code': 'GatedRepo' });
      return;
    }
    const f = repo.files.get(file);
    if (!f) {
      this.json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
      return;
    }
    const etag = f.lfs ? f.sha256! : f.oid;
    const headers: Record<string, string> = {
      ETag: `"${etag}"`,
      'X-Repo-Commit': repo.commit,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
    };
    if (f.lfs) {
      headers['X-Linked-Etag'] = `"${etag}"`;
      headers['X-Linked-Size'] = String(f.data.length);
    }
    if (f.lfs && this.redirectLfs) {
      res.writeHead(302, { ...headers, Location: `${this.cdnUrl}/cdn-lfs/${id}/${f.sha256}/${file}`, 'Content-Length': '0' });
      res.end();
      return;
    }
    this.serveBody(req, res, file, f, headers, log);
  }

  private serveBody(req: http.IncomingMessage, res: http.ServerResponse, file: string, f: HubFile, headers: Record<string, string>, log: HubRequest): void {
    let data = f.data;
    if (this.faults.corrupt?.file === file) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    let end = data.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), end);
      if (start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
        res.end();
        return;
      }
      headers['Content-Range'] = `bytes ${start}-${end}/${data.length}`;
    }
    const body = data.subarray(start, end + 1);
    headers['Content-Length'] = String(body.length);
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const drop = this.faults.drop;
    const stall = this.faults.stall;
    if (drop && drop.file === file && drop.times > 0 && body.length > drop.after) {
      drop.times--;
      log.sent = drop.after;
      // FIN after the bytes (not RST, which could discard what the client has not read yet).
      res.write(body.subarray(0, drop.after), () => res.socket?.end());
      return;
    }
    if (stall && stall.file === file && body.length > stall.after) {
      log.sent = stall.after;
      res.write(body.subarray(0, stall.after), () => setTimeout(() => stall.onStall?.(), 20));
      return;
    }
    log.sent = body.length;
    res.end(body);
  }
}

/** Files of a bundled model laid out as its Hub repo. */
export function bundledRepoFiles(name: 'tiny-code-a' | 'tiny-code-b'): Record<string, Buffer> {
  const dir = modelDir(name);
  return {
    'config.json': fs.readFileSync(path.join(dir, 'config.json')),
    'tokenizer.json': fs.readFileSync(path.join(dir, 'tokenizer.json')),
    'onnx/model.onnx': fs.readFileSync(path.join(dir, 'onnx', 'model.onnx')),
    'README.md': Buffer.from('# test model\n'),
    '.gitattributes': Buffer.from('*.onnx filter=lfs diff=lfs merge=lfs -text\n'),
  };
}

/** A repo with several precisions, laid out as onnx-community publishes them. Most graphs are the
 *  bundled tiny-code-b (loadable); q4 is a small graph whose weights are in two external-data
 *  shards; model.onnx_data is filler named after the fp32 graph. */
export function variantsRepoFiles(): Record<string, Buffer> {
  const base = bundledRepoFiles('tiny-code-b');
  const graph = base['onnx/model.onnx'];
  const filler = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
  const q4 = externalDataGraph(['model_q4.onnx_data', 'model_q4.onnx_data_1']);
  return {
    ...base,
    'generation_config.json': Buffer.from('{"eos_token_id": 0}\n'),
    'tokenizer_config.json': Buffer.from('{"model_max_length": 2048}\n'),
    'onnx/model.onnx_data': filler(200_000, 1),
    'onnx/model_fp16.onnx': graph,
    'onnx/model_q4.onnx': q4.graph,
    'onnx/model_q4.onnx_data': q4.data['model_q4.onnx_data'],
    'onnx/model_q4.onnx_data_1': q4.data['model_q4.onnx_data_1'],
    'onnx/model_q4f16.onnx': graph,
    'onnx/model_int8.onnx': graph,
    'onnx/model_quantized.onnx': graph,
  };
}

// A minimal protobuf writer, enough for a small ONNX graph with external data.
const varint = (n: number): Buffer => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
const int = (f: number, n: number) => Buffer.concat([varint(f * 8), varint(n)]);
const bytesField = (f: number, b: Buffer | string) => {
  const v = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([varint(f * 8 + 2), varint(v.length), v]);
};
const msg = (f: number, ...parts: Buffer[]) => bytesField(f, Buffer.concat(parts));

/**
 * A valid ONNX graph Y = X + W0 + W1 + ... (float[2]) whose initializer Wi lives in external file
 * `locations[i]`; returns the graph and the data files (W i = [i+1, 10*(i+1)]).
 */
export function externalDataGraph(locations: string[]): { graph: Buffer; data: Record<string, Buffer> } {
  const data: Record<string, Buffer> = {};
  const inits: Buffer[] = [];
  const nodes: Buffer[] = [];
  let prev = 'X';
  locations.forEach((loc, i) => {
    const w = Buffer.from(new Float32Array([i + 1, 10 * (i + 1)]).buffer);
    const offset = data[loc]?.length ?? 0;
    data[loc] = Buffer.concat([data[loc] ?? Buffer.alloc(0), w]);
    const entry = (k: string, v: string) => msg(13, bytesField(1, k), bytesField(2, v));
    inits.push(msg(5, int(1, 2), int(2, 1), bytesField(8, `W${i}`), entry('location', loc), entry('offset', String(offset)), entry('length', '8'), int(14, 1)));
    const out = i === locations.length - 1 ? 'Y' : `T${i}`;
    nodes.push(msg(1, bytesField(1, prev), bytesField(1, `W${i}`), bytesField(2, out), bytesField(4, 'Add')));
    prev = out;
  });
  const valueInfo = (f: number, name: string) => msg(f, bytesField(1, name), msg(2, msg(1, int(1, 1), msg(2, msg(1, int(1, 2))))));
  const graph = msg(7, ...nodes, bytesField(2, 'g'), ...inits, valueInfo(11, 'X'), valueInfo(12, 'Y'));
  return { graph: Buffer.concat([int(1, 8), msg(8, bytesField(1, ''), int(2, 13)), graph]), data };
}
