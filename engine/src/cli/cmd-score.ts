import { BytefillError, Logger, Engine, ensemble, OPTION_RANGES } from '../index';
import { intOpt, numOpt, parseArgs } from './args';
import { COMMON_FLAGS, ENGINE_OPTIONS, engineOptions } from './options';

/**
 * score --files PATH... : exact bits per byte of each file as the product of next-byte
 * probabilities, under one model or the ensemble; for one model also the token-level bits of
 * encode(file) (byte-level <= token-level: the byte level also counts non-canonical tokenizations).
 * --telescoped (one model): the bits from the prefix mass at the context windows' ends, much
 * faster and at least the per-byte bits (scoreBytes' `telescoped`). --padded-batches: branches as
 * left-padded batches, not one token-tree sequence (scoreBytes' `treeBranches: false`; slower on long
 * files, the same bits up to float rounding).
 */
export async function runScore(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: [...COMMON_FLAGS, 'exact', 'telescoped', 'padded-batches'], options: [...ENGINE_OPTIONS, 'files', 'max-bytes', 'tolerance'] });
  const files = [...(a.options.get('files') ?? []), ...a.positional];
  if (files.length === 0) throw new BytefillError('BAD_ARGUMENT', 'score needs --files PATH...');
  const tolerance = a.flags.has('exact') ? 0 : numOpt(a, 'tolerance', 1e-4, [0, 1]);
  // Options are checked before the (slow) engine load.
  const maxBytes = intOpt(a, 'max-bytes', undefined, OPTION_RANGES.maxBytes);
  const engine = await Engine.create(engineOptions(a, log));
  const json = a.flags.has('json');
  try {
    const r = await ensemble.scoreFiles(engine, files, {
      maxBytes,
      uncheckedMass: tolerance,
      lazyMass: tolerance,
      telescoped: a.flags.has('telescoped'),
      treeBranches: !a.flags.has('padded-batches'),
      onFile: json ? undefined : (f) => process.stderr.write(`${f.file}: ${f.bitsPerByte.toFixed(4)} bits/byte over ${f.bytes} bytes (${f.bytesPerSecond.toFixed(0)} B/s)\n`),
    });
    const info = engine.info();
    const out = { models: info.models.map((m) => m.name), ensemble: info.ensemble, tolerance, ...r };
    if (json) console.log(JSON.stringify(out));
    else {
      const t = r.total;
      console.log(`${out.models.join(' + ')}${info.ensemble ? ` (${info.ensemble})` : ''}: ${t.bitsPerByte.toFixed(4)} bits/byte over ${t.bytes} bytes, ${t.bytesPerSecond.toFixed(0)} bytes/s`);
      if (t.tokenLevelBitsPerByte !== undefined) console.log(`token-level log-likelihood of encode(file): ${t.tokenLevelBitsPerByte.toFixed(4)} bits/byte`);
    }
  } finally {
    await engine.dispose();
  }
  return 0;
}
