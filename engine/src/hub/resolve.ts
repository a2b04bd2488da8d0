// Turns a model spec (folder or Hub id) into a local folder and the ONNX graph to load in it.
// Hub ids are served from the shared Hugging Face cache when the wanted variant is complete there
// (no request at all); otherwise the Hub is asked which commit the revision is and which files it
// has, and only the needed files are downloaded into the cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HubApiError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { BytefillError, Device, DownloadProgress, Logger } from '../core/types';
import { assertModelDir } from '../model/config';
import { blobPath, cachedCommit, completeVariants, graphVariants, linkIntoSnapshot, present, repoCacheDir, snapshotDir, writeRef } from './cache';
import { downloadBlob, ExpectedFile, httpError } from './download';
import { externalDataOf } from './onnx-external';
import { hubSettings, HubSettings } from './env';
import { formatHubId, HubId, parseHubId, parseModelSpec } from './spec';
import { chooseVariant, ConcreteVariant, externalDataFiles, isVariant, runsOnGpu, Variant, VariantChoice, VARIANTS, variantFile } from './variants';

export type { DownloadProgress };

/** Small files a model needs besides the graph; the first two are required. */
export const MODEL_FILES = ['config.json', 'tokenizer.json', 'generation_config.json', 'tokenizer_config.json'];

export interface ResolveOptions {
  /** `auto` (default) or a precision; for folders also a file name under onnx/ or a path. */
  variant?: string;
  device?: Device;
  /** Never touch the network (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Ask the Hub for the revision's current commit even when the cache has a usable copy. */
  refresh?: boolean;
  endpoint?: string;
  cacheDir?: string;
  token?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  log?: Logger;
  fetch?: typeof fetch;
}

export interface ResolvedModel {
  /** Folder to load (a snapshot folder for Hub ids). */
  dir: string;
  /** Graph to load, relative to dir (e.g. onnx/model_q4.onnx), or the folder variant as given. */
  onnx: string | undefined;
  variant: ConcreteVariant | null;
  source: 'folder' | 'cache' | 'hub';
  hub?: HubId & { commit: string };
  /** Bytes fetched over the network by this call. */
  downloadedBytes: number;
}

const noLog: Logger = () => undefined;

export async function resolveModel(spec: string, o: ResolveOptions = {}): Promise<ResolvedModel> {
  const s = parseModelSpec(spec);
  if (s.kind === 'folder') return resolveFolder(s.dir, o);
  return resolveHub(s.id, o);
}

function requestedVariant(v: string | undefined): Variant {
  if (v === undefined || v === '') return 'auto';
  if (!isVariant(v)) throw new BytefillError('BAD_ARGUMENT', `unknown model variant '${v}' (expected one of ${VARIANTS.join(', ')})`);
  return v;
}

function resolveFolder(dir: string, o: ResolveOptions): ResolvedModel {
  const abs = path.resolve(dir);
  // File names and paths (model_quantized.onnx, onnx/x.onnx) and the old default keep working as before.
  if (o.variant === undefined || !isVariant(o.variant)) return { dir: abs, onnx: o.variant, variant: null, source: 'folder', downloadedBytes: 0 };
  // A named precision maps to its file; loading it names the files present if it is missing.
  if (o.variant !== 'auto') return { dir: abs, onnx: variantFile(o.variant), variant: o.variant, source: 'folder', downloadedBytes: 0 };
  assertModelDir(abs);
  const have = graphVariants(abs);
  if (have.length === 0) return { dir: abs, onnx: undefined, variant: null, source: 'folder', downloadedBytes: 0 };
  const c = chooseVariant('auto', have, runsOnGpu(o.device), `model folder ${abs}`);
  if (have.length > 1) (o.log ?? noLog)('info', `${abs}: ${c.reason}`);
  return { dir: abs, onnx: c.file, variant: c.variant, source: 'folder', downloadedBytes: 0 };
}

/** The cached snapshot of `id` with a complete wanted variant, or null. */
function fromCache(id: HubId, requested: Variant, st: HubSettings, o: ResolveOptions): ResolvedModel | null {
  const repoDir = repoCacheDir(st.cacheDir, id.repo);
  const commit = cachedCommit(repoDir, id.revision);
  if (!commit) return null;
  const dir = snapshotDir(repoDir, commit);
  const have = completeVariants(dir);
  if (requested === 'auto' ? have.length === 0 : !have.includes(requested)) return null;
  const c = chooseVariant(requested, have, runsOnGpu(o.device), `cached ${formatHubId(id)}`);
  (o.log ?? noLog)('info', `${formatHubId(id)}: using the cached snapshot ${dir}; ${c.reason}`);
  return { dir, onnx: c.file, variant: c.variant, source: 'cache', hub: { ...id, commit }, downloadedBytes: 0 };
}

function offlineError(id: HubId, requested: Variant, st: HubSettings): BytefillError {
  const repoDir = repoCacheDir(st.cacheDir, id.repo);
  const commit = cachedCommit(repoDir, id.revision);
  const have = commit ? completeVariants(snapshotDir(repoDir, commit)) : [];
  const what = requested === 'auto' ? 'a complete ONNX variant' : `the ${requested} variant (${variantFile(requested)})`;
  const cached = commit ? `; cached variants: ${have.length ? have.join(', ') : 'none complete'}` : '';
  return new BytefillError(
    'OFFLINE',
    `${formatHubId(id)} is not in the Hugging Face cache (${st.cacheDir}) with ${what}, and offline mode (bytefill.offline or HF_HUB_OFFLINE=1) forbids downloading it${cached}`,
  );
}

function hubCallError(e: unknown, id: HubId, st: HubSettings, signal?: AbortSignal): BytefillError {
  if (e instanceof BytefillError) return e;
  if (signal?.aborted) return new BytefillError('ABORTED', `resolving ${formatHubId(id)} cancelled`);
  if (e instanceof HubApiError) return httpError(e.statusCode, formatHubId(id), null);
  if (e instanceof TypeError && /access token/i.test(e.message)) {
    return new BytefillError('BAD_ARGUMENT', `the Hugging Face token (HF_TOKEN or the token file) is not a Hub token: it must start with hf_`);
  }
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e as Error).message;
  return new BytefillError(
    'DOWNLOAD_FAILED',
    `cannot reach the Hub at ${st.endpoint} for ${formatHubId(id)}: ${why} (set HF_ENDPOINT for a mirror, or HF_HUB_OFFLINE=1 to use the cache only)`,
  );
}

/** Throws NO_SPACE when the file system holding `dir` has fewer than `need` bytes free. */
export function assertFreeSpace(dir: string, need: number, what: string): void {
  let d = dir;
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  let free: number;
  try {
    const s = fs.statfsSync(d);
    free = s.bavail * s.bsize;
  } catch {
    return; // statfs unsupported here: the write itself will fail clearly
  }
  if (free < need) throw new BytefillError('NO_SPACE', `not enough disk space for ${what}: ${mb(need)} needed, ${mb(free)} free in ${d}`);
}

async function resolveHub(id: HubId, o: ResolveOptions): Promise<ResolvedModel> {
  const log = o.log ?? noLog;
  const requested = requestedVariant(o.variant);
  const st = hubSettings({ endpoint: o.endpoint, cacheDir: o.cacheDir, token: o.token, offline: o.offline });
  if (!o.refresh || st.offline) {
    const cached = fromCache(id, requested, st, o);
    if (cached) return cached;
  }
  if (st.offline) throw offlineError(id, requested, st);

  const signal = o.signal;
  const baseFetch = o.fetch ?? fetch;
  const { commit, byPath, choice: c, wanted } = await hubPlan(id, requested, st, o);
  const paths = [...byPath.keys()];
  log('info', `${formatHubId(id)}: ${c.reason}`);
  const repoDir = repoCacheDir(st.cacheDir, id.repo);
  const expectedOf = (file: string): ExpectedFile => {
    const e = byPath.get(file)!;
    const x: ExpectedFile = e.lfs ? { file, size: e.lfs.size, oid: e.lfs.oid, kind: 'sha256' } : { file, size: e.size, oid: e.oid ?? '', kind: 'git-sha1' };
    if (!x.oid) throw new BytefillError('DOWNLOAD_FAILED', `the Hub listed ${file} of ${formatHubId(id)} without a checksum`);
    return x;
  };
  const partial = (b: string) => (present(`${b}.incomplete`) ? fs.statSync(`${b}.incomplete`).size : 0);
  const missing = (files: string[]) => files.map(expectedOf).filter((x) => !present(blobPath(repoDir, x.oid)));

  const first = missing(wanted);
  let total = first.reduce((n, x) => n + x.size, 0);
  let bytes = first.reduce((n, x) => n + Math.min(partial(blobPath(repoDir, x.oid)), x.size), 0);
  if (first.length) {
    fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    assertFreeSpace(repoDir, total - bytes, `${formatHubId(id)} (${c.variant})`);
    log('info', `${formatHubId(id)}: downloading ${first.length} file(s), ${mb(total - bytes)} into ${repoDir}`);
  }
  const started = Date.now();
  let fetched = 0;
  let lastReport = 0;
  const fetchAll = async (list: ExpectedFile[]) => {
    for (const x of list) {
      const report = (force: boolean) => {
        const now = Date.now();
        if (!o.onProgress || (!force && now - lastReport < 100)) return;
        lastReport = now;
        o.onProgress({ repo: formatHubId(id), file: x.file, bytes, total, bytesPerSecond: fetched / Math.max((now - started) / 1000, 1e-3) });
      };
      report(true);
      await downloadBlob({
        url: `${st.endpoint}/${id.repo}/resolve/${commit}/${x.file.split('/').map(encodeURIComponent).join('/')}`,
        blob: blobPath(repoDir, x.oid),
        expected: x,
        repo: formatHubId(id),
        token: st.token,
        signal,
        fetch: baseFetch,
        onBytes: (n) => {
          bytes += n;
          fetched += n;
          report(false);
        },
      });
      report(true);
    }
  };
  await fetchAll(first);

  // The graph itself says which external-data files it reads: fetch any not named after it.
  const refs = externalDataOf(blobPath(repoDir, expectedOf(c.file).oid));
  if (refs === null) throw new BytefillError('MODEL_INVALID', `${c.file} of ${formatHubId(id)} is not a readable ONNX graph`);
  const extra = refs.map((f) => path.posix.join(path.posix.dirname(c.file), f)).filter((f) => !wanted.includes(f));
  const absent = extra.filter((f) => !byPath.has(f));
  if (absent.length) throw new BytefillError('MODEL_INVALID', `${c.file} of ${formatHubId(id)} needs ${absent.join(', ')}, which the repo does not have`);
  if (extra.length) {
    const more = missing(extra);
    total += more.reduce((n, x) => n + x.size, 0);
    await fetchAll(more);
  }
  // Only verified files, and only once all are there, enter the snapshot.
  for (const f of [...wanted, ...extra]) linkIntoSnapshot(repoDir, commit, f, expectedOf(f).oid);
  const dir = snapshotDir(repoDir, commit);
  writeRef(repoDir, id.revision, commit);
  if (fetched) log('info', `${formatHubId(id)}: ${mb(fetched)} downloaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { dir, onnx: c.file, variant: c.variant, source: 'hub', hub: { ...id, commit }, downloadedBytes: fetched };
}

interface HubPlan {
  commit: string;
  byPath: Map<string, ListFileEntry>;
  choice: VariantChoice;
  /** The model files, the graph and its external data named after it. */
  wanted: string[];
}

/** Asks the Hub for the revision's commit and files, and picks the variant and files to fetch. */
async function hubPlan(id: HubId, requested: Variant, st: HubSettings, o: ResolveOptions): Promise<HubPlan> {
  const baseFetch = o.fetch ?? fetch;
  const fetchWithSignal: typeof fetch = (input, init) => baseFetch(input, { ...init, signal: o.signal });
  const common = { hubUrl: st.endpoint, accessToken: st.token, fetch: fetchWithSignal };
  let commit: string;
  const entries: ListFileEntry[] = [];
  try {
    const info = await modelInfo({ ...common, name: id.repo, revision: id.revision, additionalFields: ['sha'] });
    commit = String((info as { sha?: string }).sha ?? '');
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new BytefillError('DOWNLOAD_FAILED', `the Hub at ${st.endpoint} gave no commit for ${formatHubId(id)}`);
    for await (const e of listFiles({ ...common, repo: { type: 'model', name: id.repo }, revision: commit, recursive: true })) {
      if (e.type === 'file') entries.push(e);
    }
  } catch (e) {
    throw hubCallError(e, id, st, o.signal);
  }
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const available = VARIANTS.filter((v): v is ConcreteVariant => v !== 'auto' && byPath.has(variantFile(v)));
  const choice = chooseVariant(requested, available, runsOnGpu(o.device), `${formatHubId(id)} on the Hub`);
  for (const f of MODEL_FILES.slice(0, 2)) {
    if (!byPath.has(f)) throw new BytefillError('MODEL_INVALID', `${formatHubId(id)} has no ${f}: not a model in the Hugging Face ONNX layout`);
  }
  const wanted = [...MODEL_FILES.filter((f) => byPath.has(f)), choice.file, ...externalDataFiles(choice.file, [...byPath.keys()])];
  return { commit, byPath, choice, wanted };
}

export interface DownloadSize {
  repo: string;
  variant: ConcreteVariant;
  /** Bytes of every file the model needs with this variant. */
  bytes: number;
}

/** What resolving `spec` would download, from the Hub's listing (for pickers): no file is fetched. */
export async function downloadSize(spec: string, o: ResolveOptions = {}): Promise<DownloadSize> {
  const id = parseHubId(spec);
  if (!id) throw new BytefillError('BAD_ARGUMENT', `'${spec}' is not a Hub id (org/name or org/name@revision)`);
  const st = hubSettings({ endpoint: o.endpoint, cacheDir: o.cacheDir, token: o.token, offline: o.offline });
  if (st.offline) throw offlineError(id, requestedVariant(o.variant), st);
  const plan = await hubPlan(id, requestedVariant(o.variant), st, o);
  const bytes = plan.wanted.reduce((n, f) => {
    const e = plan.byPath.get(f)!;
    return n + (e.lfs?.size ?? e.size);
  }, 0);
  return { repo: formatHubId(id), variant: plan.choice.variant, bytes };
}

export function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}


