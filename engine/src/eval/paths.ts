// Locating the repository root, so defaults work from out/ (tsc) and dist/ (bundled) alike.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Nearest ancestor of `from` holding a package.json (the repo root in development). */
export function findRepoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}
