// pull <id> [--variant v]: download a Hub model into the Hugging Face cache.
// models: what the cache holds (repos, revisions, sizes, complete variants).
import { BytefillError, Device, formatHubId, hubSettings, listCachedModels, Logger, mb, parseHubId, resolveModel } from '../index';
import { oneOf, opt, parseArgs } from './args';

export async function runPull(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: ['json', 'verbose', 'offline'], options: ['variant', 'device'] });
  const spec = a.positional[0];
  if (!spec || a.positional.length > 1) throw new BytefillError('BAD_ARGUMENT', 'pull needs one Hub id: bytefill pull org/name[@revision] [--variant auto|fp32|fp16|q4|q4f16|int8|uint8|bnb4|quantized]');
  const id = parseHubId(spec);
  if (!id) throw new BytefillError('BAD_ARGUMENT', `'${spec}' is not a Hub id (org/name or org/name@revision)`);
  const json = a.flags.has('json');
  const tty = process.stderr.isTTY;
  // Always print the variant choice: it decides what is downloaded.
  const logAll: Logger = (level, msg) => (level === 'info' && !a.flags.has('verbose') ? process.stderr.write(`${msg}\n`) : log(level, msg));
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    const r = await resolveModel(spec, {
      variant: opt(a, 'variant') ?? 'auto',
      device: oneOf<Device>(a, 'device', ['auto', 'cpu', 'webgpu', 'cuda'], 'auto'),
      offline: a.flags.has('offline'),
      refresh: true,
      signal: ac.signal,
      log: logAll,
      onProgress: json
        ? undefined
        : (p) => {
            const pct = p.total ? ((100 * p.bytes) / p.total).toFixed(1) : '100';
            const line = `${p.file}: ${mb(p.bytes)} / ${mb(p.total)} (${pct}%) ${mb(p.bytesPerSecond)}/s`;
            process.stderr.write(tty ? `\r${line.padEnd(79)}` : `${line}\n`);
          },
    });
    if (tty && !json) process.stderr.write('\n');
    const out = { repo: formatHubId(id), commit: r.hub?.commit, variant: r.variant, onnx: r.onnx, dir: r.dir, downloadedBytes: r.downloadedBytes };
    if (json) console.log(JSON.stringify(out));
    else console.log(`${out.repo} ${r.variant}: ${r.dir} (${mb(r.downloadedBytes)} downloaded)`);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  return 0;
}

export async function runModels(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { flags: ['json', 'verbose'], options: [] });
  const cacheDir = hubSettings().cacheDir;
  const models = listCachedModels(cacheDir);
  if (a.flags.has('json')) {
    console.log(JSON.stringify({ cacheDir, models }));
    return 0;
  }
  console.log(`Hugging Face cache: ${cacheDir}`);
  if (models.length === 0) console.log('no models cached (bytefill pull org/name downloads one)');
  for (const m of models) {
    const refs = m.refs.length ? ` (${m.refs.join(', ')})` : '';
    const variants = m.variants.length ? m.variants.map((v) => `${v.variant} ${mb(v.bytes)}`).join(', ') : 'no complete ONNX variant';
    console.log(`${m.repo}@${m.commit.slice(0, 10)}${refs}  ${mb(m.size)}  variants: ${variants}`);
  }
  return 0;
}
