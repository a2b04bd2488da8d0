// Shared test helpers: where the repo and its bundled models are.
import * as path from 'node:path';
import * as fs from 'node:fs';

function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'models', 'tiny-code-b', 'config.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repo root with models/ not found');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot(__dirname);
export const modelDir = (name: 'tiny-code-a' | 'tiny-code-b') => path.join(repoRoot, 'models', name);
