// The test Hub as its own process, for tests of other parts (the language server's tests may not
// import engine test code): `node out/engine/test/hub-serve.js --serve --repo ID=bundled:tiny-code-b
// --repo ID=variants` prints {"url"} on stdout, then answers JSON-line commands on stdin:
// {"id":1,"cmd":"faults","faults":{...}} and {"id":2,"cmd":"requests"}.
// Without --serve (as when node --test loads every file of this folder) it does nothing.
import * as readline from 'node:readline';
import { TestHub, bundledRepoFiles, variantsRepoFiles } from './hub-server';

async function serve(argv: string[]): Promise<void> {
  const hub = new TestHub();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--repo') continue;
    const [id, kind] = argv[++i].split('=');
    if (kind === 'variants') hub.addRepo(id, variantsRepoFiles());
    else if (kind === 'bundled:tiny-code-a' || kind === 'bundled:tiny-code-b') hub.addRepo(id, bundledRepoFiles(kind.slice(8) as 'tiny-code-a' | 'tiny-code-b'));
    else throw new Error(`unknown repo kind ${kind}`);
  }
  const url = await hub.start();
  process.stdout.write(JSON.stringify({ url }) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const m = JSON.parse(line) as { id: number; cmd: string; faults?: TestHub['faults'] };
    if (m.cmd === 'faults') hub.faults = m.faults ?? {};
    const reply = m.cmd === 'requests' ? { id: m.id, requests: hub.requests } : { id: m.id, ok: true };
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
  rl.on('close', () => void hub.close().then(() => process.exit(0)));
}

if (require.main === module && process.argv.includes('--serve')) {
  serve(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`hub-serve: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
