// The Hugging Face cache layout, shared with Python's huggingface_hub and transformers.js:
//   <cache>/models--org--name/blobs/<etag>                 file contents, named by their Hub etag
//   <cache>/models--org--name/snapshots/<commit>/<path>    relative symlinks into blobs/
//   <cache>/models--org--name/refs/<revision>              the commit a branch or tag pointed to
// Partial downloads live next to their blob as <etag>.incomplete (resumed with HTTP Range).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';
import { externalDataOf } from './onnx-external';
import { ConcreteVariant, externalDataFiles, VARIANTS, variantFile } from './variants';

export const COMMIT = /^[0-9a-f]{40}$/;

export function repoCacheDir(cacheDir: string, repo: string): string {
  return path.join(cacheDir, getRepoFolderName({ name: repo, type: 'model' }));
}

export function blobPath(repoDir: string, etag: string): string {
  return path.join(repoDir, 'blobs', etag);
}

export function snapshotDir(repoDir: string, commit: string): string {
  return path.join(repoDir, 'snapshots', commit);
}

/** The commit a revision stands for in the cache (a commit hash stands for itself), or null. */
export function cachedCommit(repoDir: string, revision: string): string | null {
  if (COMMIT.test(revision)) return fs.existsSync(snapshotDir(repoDir, revision)) ? revision : null;
  try {
    const c = fs.readFileSync(path.join(repoDir, 'refs', revision), 'utf8').trim();
    return COMMIT.test(c) ? c : null;
  } catch {
    return null;
  }
}

export function writeRef(repoDir: string, revision: string, commit: string): void {
  if (COMMIT.test(revision) || revision === commit) return;
  const file = path.join(repoDir, 'refs', revision);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, commit);
}

/** Points snapshots/<commit>/<file> at its blob (relative symlink, or a copy where links fail). */
export function linkIntoSnapshot(repoDir: string, commit: string, file: string, etag: string): void {
  const dst = path.join(snapshotDir(repoDir, commit), file);
  const src = blobPath(repoDir, etag);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.rmSync(dst, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(dst), src), dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
}

/** Whether a snapshot entry exists and, if it is a link, points at an existing file. */
export function present(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Every path under `dir`, relative, with forward slashes. */
export function listTree(dir: string, prefix = ''): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listTree(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

/**
 * Whether every external-data file of a graph is there: the ones the graph references (read from
 * its protobuf) and the ones named after it (no dangling links).
 */
export function graphDataPresent(dir: string, graph: string, files: readonly string[]): boolean {
  const graphDir = path.dirname(path.join(dir, graph));
  const referenced = externalDataOf(path.join(dir, graph));
  if (referenced === null) return false;
  return referenced.every((f) => present(path.join(graphDir, f))) && externalDataFiles(graph, files).every((f) => present(path.join(dir, f)));
}

/**
 * Variants a model folder can load: the graph and all its external-data files exist, and so do
 * config.json and tokenizer.json.
 */
export function completeVariants(dir: string): ConcreteVariant[] {
  if (!present(path.join(dir, 'config.json')) || !present(path.join(dir, 'tokenizer.json'))) return [];
  return graphVariants(dir);
}

/** Variants whose graph and external data are all in the folder. */
export function graphVariants(dir: string): ConcreteVariant[] {
  const files = listTree(dir);
  const out: ConcreteVariant[] = [];
  for (const v of VARIANTS) {
    if (v === 'auto') continue;
    const graph = variantFile(v);
    if (!present(path.join(dir, graph))) continue;
    if (!graphDataPresent(dir, graph, files)) continue;
    out.push(v);
  }
  return out;
}

/** External-data files of a graph in a folder (referenced or named after it), relative to the folder. */
export function onnxDataFiles(dir: string, graph: string): string[] {
  const rel = path.posix.dirname(graph);
  const referenced = (externalDataOf(path.join(dir, graph)) ?? []).map((f) => path.posix.join(rel, f));
  return [...new Set([...referenced, ...externalDataFiles(graph, listTree(dir))])];
}
