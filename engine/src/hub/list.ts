// What the shared Hugging Face cache holds: models, revisions, sizes and loadable variants.
// (@huggingface/hub's scanCacheDir does not descend into snapshot subfolders such as onnx/, so
// the walk is done here.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { completeVariants, listTree, onnxDataFiles } from './cache';
import { ConcreteVariant, variantFile } from './variants';

export interface CachedModel {
  repo: string;
  commit: string;
  /** Branches and tags that point at this commit. */
  refs: string[];
  dir: string;
  /** Bytes of the distinct files of this snapshot. */
  size: number;
  /** Variants whose graph, external data, config and tokenizer are all there, with their sizes. */
  variants: Array<{ variant: ConcreteVariant; bytes: number }>;
}

function realSize(f: string, seen: Set<string>): number {
  try {
    const real = fs.realpathSync(f);
    if (seen.has(real)) return 0;
    seen.add(real);
    return fs.statSync(real).size;
  } catch {
    return 0;
  }
}

function readRefs(repoDir: string): Map<string, string[]> {
  const byCommit = new Map<string, string[]>();
  for (const ref of listTree(path.join(repoDir, 'refs'))) {
    try {
      const c = fs.readFileSync(path.join(repoDir, 'refs', ref), 'utf8').trim();
      byCommit.set(c, [...(byCommit.get(c) ?? []), ref]);
    } catch {
      // unreadable ref: skip
    }
  }
  return byCommit;
}

export function listCachedModels(cacheDir: string): CachedModel[] {
  let repos: string[];
  try {
    repos = fs.readdirSync(cacheDir).filter((d) => d.startsWith('models--'));
  } catch {
    return [];
  }
  const out: CachedModel[] = [];
  for (const name of repos) {
    const repoDir = path.join(cacheDir, name);
    const repo = name.slice('models--'.length).split('--').join('/');
    const refs = readRefs(repoDir);
    let commits: string[];
    try {
      commits = fs.readdirSync(path.join(repoDir, 'snapshots'));
    } catch {
      continue;
    }
    for (const commit of commits) {
      const dir = path.join(repoDir, 'snapshots', commit);
      const seen = new Set<string>();
      const size = listTree(dir).reduce((n, f) => n + realSize(path.join(dir, f), seen), 0);
      const variants = completeVariants(dir).map((variant) => {
        const graph = variantFile(variant);
        const s = new Set<string>();
        const bytes = [graph, ...onnxDataFiles(dir, graph)].reduce((n, f) => n + realSize(path.join(dir, f), s), 0);
        return { variant, bytes };
      });
      out.push({ repo, commit, refs: refs.get(commit) ?? [], dir, size, variants });
    }
  }
  return out.sort((a, b) => a.repo.localeCompare(b.repo) || a.commit.localeCompare(b.commit));
}
