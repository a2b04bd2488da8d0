// What the shared Hugging Face cache holds: models, revisions, sizes and loadable variants.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanCacheDir } from '@huggingface/hub';
import { completeVariants } from './cache';
import { ConcreteVariant, externalDataFiles, variantFile } from './variants';

export interface CachedModel {
  repo: string;
  commit: string;
  /** Branches and tags that point at this commit. */
  refs: string[];
  dir: string;
  /** Bytes of the files of this snapshot. */
  size: number;
  /** Variants whose graph, external data, config and tokenizer are all there, with their sizes. */
  variants: Array<{ variant: ConcreteVariant; bytes: number }>;
}

function fileSize(f: string): number {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}

export async function listCachedModels(cacheDir: string): Promise<CachedModel[]> {
  if (!fs.existsSync(cacheDir)) return [];
  const info = await scanCacheDir(cacheDir);
  const out: CachedModel[] = [];
  for (const repo of info.repos) {
    if (repo.id.type !== 'model') continue;
    for (const rev of repo.revisions) {
      const files = rev.files.map((f) => path.relative(rev.path, f.path).split(path.sep).join('/'));
      const variants = completeVariants(rev.path).map((variant) => {
        const graph = variantFile(variant);
        const bytes = [graph, ...externalDataFiles(graph, files)].reduce((n, f) => n + fileSize(path.join(rev.path, f)), 0);
        return { variant, bytes };
      });
      out.push({ repo: repo.id.name, commit: rev.commitOid, refs: rev.refs, dir: rev.path, size: rev.size, variants });
    }
  }
  return out.sort((a, b) => a.repo.localeCompare(b.repo));
}
