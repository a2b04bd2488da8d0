// Hostile model folders, built at test time: every one fails fast with an error that names the
// file, the field and the limit and quotes nothing from the file. Each case has a time bound
// (generous: the machine may be loaded) so a freeze fails the test instead of hanging it.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BytefillError, CONFIG_RANGES, Engine, MAX_ENSEMBLE_MODELS, ModelBundle, OnnxModel, preflightModelFolder, TOKENIZER_LIMITS } from '../src/index';
import { modelDir, repoRoot } from './helpers';

const B = modelDir('tiny-code-b');
const BOUND_MS = 20_000;
const SECRET = 'SECRET-CONTENT-7f3a';

async function within<T>(p: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** Loads `dir` as a bundle and returns the BytefillError (fails if it loads or throws anything else). */
async function loadError(dir: string, what: string): Promise<BytefillError> {
  try {
    const b = await within(ModelBundle.load(dir, { device: 'cpu', threads: 1 }), what);
    await b.dispose();
  } catch (e) {
    if (e instanceof BytefillError) {
      assert.ok(!e.message.includes(SECRET), `${what}: the message quotes file content: ${e.message}`);
      assert.ok(!e.message.includes('\n'), `${what}: one line: ${e.message}`);
      return e;
    }
    throw e;
  }
  throw new Error(`${what}: loaded without an error`);
}

describe('hostile model folders', () => {
  let tmp: string;
  let n = 0;
  const goodConfig = () => JSON.parse(fs.readFileSync(path.join(B, 'config.json'), 'utf8')) as Record<string, unknown>;
  const goodTokenizer = () => JSON.parse(fs.readFileSync(path.join(B, 'tokenizer.json'), 'utf8')) as Record<string, any>;

  /** A copy of tiny-code-b (the graph is a symlink to the real one) with `edit` applied. */
  function folder(edit: (d: string) => void = () => undefined): string {
    const d = path.join(tmp, `m${n++}`);
    fs.mkdirSync(path.join(d, 'onnx'), { recursive: true });
    fs.copyFileSync(path.join(B, 'config.json'), path.join(d, 'config.json'));
    fs.copyFileSync(path.join(B, 'tokenizer.json'), path.join(d, 'tokenizer.json'));
    fs.symlinkSync(path.join(B, 'onnx', 'model.onnx'), path.join(d, 'onnx', 'model.onnx'));
    edit(d);
    return d;
  }
  const withConfig = (patch: Record<string, unknown>) =>
    folder((d) => fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...goodConfig(), ...patch })));
  const replaceWith = (d: string, name: string, make: (p: string) => void) => {
    fs.rmSync(path.join(d, name));
    make(path.join(d, name));
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-hostile-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('the unmodified copy loads (the cases below differ from it in one thing)', async () => {
    const b = await within(ModelBundle.load(folder(), { device: 'cpu', threads: 1 }), 'good copy');
    assert.equal(b.tok.vocabSize, 4096);
    await b.dispose();
  });

  test('num_hidden_layers 1e9 is rejected by range, naming field and limit', async () => {
    const e = await loadError(withConfig({ num_hidden_layers: 1_000_000_000 }), 'layers 1e9');
    assert.equal(e.code, 'MODEL_INVALID');
    assert.match(e.message, /config\.json: "num_hidden_layers" is 1000000000, outside the supported range 1\.\.512/);
  });

  test('every sizing field of config.json has a range', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['vocab_size', 2 ** 31, /"vocab_size" is 2147483648, outside the supported range 1\.\.1048576/],
      ['hidden_size', 10_000_000, /"hidden_size" is 10000000, outside/],
      ['num_attention_heads', 0, /"num_attention_heads" must be a positive integer \(got 0\)/],
      ['num_key_value_heads', 5000, /"num_key_value_heads" is 5000, outside/],
      ['head_dim', 1_000_000, /"head_dim" is 1000000, outside/],
      ['max_position_embeddings', 1e12, /"max_position_embeddings" is 1000000000000, outside/],
      ['intermediate_size', 1e9, /"intermediate_size" is 1000000000, outside/],
      ['num_hidden_layers', 1.5, /"num_hidden_layers" must be a positive integer \(got 1\.5\)/],
      ['hidden_size', SECRET, /"hidden_size" must be a positive integer \(got a string\)/],
      ['eos_token_id', 99_999, /"eos_token_id" must hold token ids in 0\.\.4095 \(got 99999\)/],
    ];
    for (const [key, value, re] of cases) {
      const e = await loadError(withConfig({ [key]: value }), `${key}=${String(value)}`);
      assert.equal(e.code, 'MODEL_INVALID', key);
      assert.match(e.message, re, key);
    }
    assert.deepEqual(Object.keys(CONFIG_RANGES).sort(), [
      'head_dim', 'hidden_size', 'intermediate_size', 'max_position_embeddings', 'num_attention_heads', 'num_hidden_layers', 'num_key_value_heads', 'vocab_size',
    ]);
  });

  test('an added token with id 2e9 (and 1e8) is rejected before any array is sized by it', async () => {
    for (const id of [2e9, 1e8]) {
      const d = folder((dir) => {
        const t = goodTokenizer();
        t.added_tokens.push({ id, content: '<evil>', special: true });
        fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(t));
      });
      const before = process.memoryUsage().rss;
      const e = await loadError(d, `added id ${id}`);
      assert.match(e.message, new RegExp(`tokenizer\\.json: added_tokens\\[6\\]\\.id must be an integer id in 0\\.\\.${TOKENIZER_LIMITS.maxTokenId - 1} \\(got ${id}\\)`));
      assert.ok(process.memoryUsage().rss - before < 500 * 1024 * 1024, 'no large allocation');
    }
  });

  test('a vocabulary id out of range is rejected too', async () => {
    const d = folder((dir) => {
      const t = goodTokenizer();
      t.model.vocab['zzz-evil'] = 5e8;
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(t));
    });
    assert.match((await loadError(d, 'vocab id 5e8')).message, /model\.vocab values must be an integer id/);
  });

  test('config.json, tokenizer.json or the graph symlinked to /dev/zero: not a regular file', async () => {
    for (const name of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) {
      const d = folder((dir) => replaceWith(dir, name, (p) => fs.symlinkSync('/dev/zero', p)));
      const e = await loadError(d, `${name} -> /dev/zero`);
      assert.equal(e.code, 'MODEL_INVALID');
      assert.match(e.message, new RegExp(`${name.replace('.', '\\.')} is a character device, not a regular file`));
    }
  });

  test('config.json or tokenizer.json as a FIFO: rejected at once, nothing waits for a writer', async () => {
    for (const name of ['config.json', 'tokenizer.json']) {
      const d = folder((dir) => replaceWith(dir, name, (p) => execFileSync('mkfifo', [p])));
      const e = await loadError(d, `${name} FIFO`);
      assert.match(e.message, new RegExp(`${name.replace('.', '\\.')} is a FIFO \\(named pipe\\), not a regular file`));
    }
  });

  test('config.json as a unix socket', async () => {
    let server: net.Server | undefined;
    const d = folder((dir) => fs.rmSync(path.join(dir, 'config.json')));
    await new Promise<void>((res) => {
      server = net.createServer().listen(path.join(d, 'config.json'), () => res());
    });
    try {
      assert.match((await loadError(d, 'socket')).message, /config\.json is a socket, not a regular file/);
    } finally {
      server?.close();
    }
  });

  test('an external-data file of the graph that is a FIFO', async () => {
    const d = folder((dir) => execFileSync('mkfifo', [path.join(dir, 'onnx', 'model.onnx_data')]));
    assert.match((await loadError(d, 'onnx_data FIFO')).message, /model\.onnx_data is a FIFO/);
  });

  test('files over their size limit: named with the limit', async () => {
    const d = folder((dir) => fs.writeFileSync(path.join(dir, 'config.json'), '{' + ' '.repeat(2 * 1024 * 1024) + '}'));
    assert.match((await loadError(d, 'big config')).message, /config\.json is 2\.0 MiB, over the limit of 1 MiB/);
  });

  test('invalid JSON: the error gives the position and quotes nothing', async () => {
    const d = folder((dir) => fs.writeFileSync(path.join(dir, 'config.json'), `{"vocab_size": ${SECRET}}`));
    const e = await loadError(d, 'bad json');
    assert.match(e.message, /config\.json is not valid JSON( \(at character \d+\))?$/);
    const t = folder((dir) => fs.writeFileSync(path.join(dir, 'tokenizer.json'), `{"model": ${SECRET}`));
    assert.match((await loadError(t, 'bad tokenizer json')).message, /tokenizer\.json is not valid JSON/);
  });

  test('a logits width that differs from vocab_size is caught against the graph', async () => {
    const d = withConfig({ vocab_size: 4100 });
    await assert.rejects(within(OnnxModel.load(d, { device: 'cpu', threads: 1 }), 'logits'), (e: BytefillError) => {
      assert.equal(e.code, 'MODEL_INVALID');
      assert.match(e.message, /has 4096 logits per position, config\.json says "vocab_size" 4100/);
      return true;
    });
  });

  test(`more than ${MAX_ENSEMBLE_MODELS} model folders: refused before any is read`, async () => {
    const dirs = Array.from({ length: MAX_ENSEMBLE_MODELS + 1 }, (_, i) => path.join(tmp, `never-read-${i}`));
    await assert.rejects(within(Engine.create({ models: dirs }), 'ensemble size'), (e: BytefillError) => {
      assert.equal(e.code, 'BAD_ARGUMENT');
      assert.match(e.message, /9 model folders given: an ensemble has at most 8 models/);
      return true;
    });
  });

  test('preflight: checks without onnxruntime and reports the graph size for a host to budget memory', () => {
    const p = preflightModelFolder(folder());
    assert.equal(p.onnxBytes, fs.statSync(path.join(B, 'onnx', 'model.onnx')).size);
    assert.equal(p.config.numLayers, 8);
    assert.equal(p.tokenizer.vocabSize, 4096);
  });

  test('an ensemble whose last member is broken fails before any session is created', async () => {
    const logs: string[] = [];
    const bad = withConfig({ num_hidden_layers: 1_000_000_000 });
    await assert.rejects(
      within(Engine.create({ models: [B, bad], device: 'cpu', threads: 1, log: (_l, m) => logs.push(m) }), 'ensemble'),
      /num_hidden_layers/,
    );
    assert.deepEqual(logs.filter((m) => m.startsWith('loading model')), [], 'no member was loaded');
  });

  test('a folder that cannot be read is reported as unreadable, not as missing tokenizer.json', () => {
    const d = folder();
    fs.chmodSync(d, 0o000);
    try {
      // Root reads anything: run the check as an unprivileged user then (a real EACCES, no mock).
      const script = `
        const { ModelBundle } = require(${JSON.stringify(path.join(repoRoot, 'out/engine/src/index.js'))});
        ModelBundle.load(${JSON.stringify(d)}, { device: 'cpu', threads: 1 }).then(
          () => { console.log('LOADED'); },
          (e) => { console.log(e.code + ' ' + e.message); });`;
      const asRoot = process.getuid?.() === 0;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: BOUND_MS, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^MODEL_INVALID Model folder .* cannot be read \(permission denied\)/);
      assert.doesNotMatch(r.stdout, /has no tokenizer\.json/);
    } finally {
      fs.chmodSync(d, 0o755);
    }
  });
});
