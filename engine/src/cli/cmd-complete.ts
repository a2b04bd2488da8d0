import { BytefillError, Logger, Engine } from '../index';
import { intOpt, opt, parseArgs } from './args';
import { COMMON_FLAGS, ENGINE_OPTIONS, engineOptions, REQUEST_OPTIONS, requestOptions } from './options';
import { readTextFile } from './read-file';

export async function runComplete(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: COMMON_FLAGS, options: [...ENGINE_OPTIONS, ...REQUEST_OPTIONS, 'file', 'cursor'] });
  const file = opt(a, 'file');
  if (!file) throw new BytefillError('BAD_ARGUMENT', 'complete needs --file PATH');
  const text = readTextFile(file, log);
  const chars = Array.from(text);
  const cursor = intOpt(a, 'cursor', chars.length)!;
  if (cursor > chars.length) throw new BytefillError('BAD_ARGUMENT', `--cursor ${cursor} is past the end of ${file} (${chars.length} characters)`);
  const req = requestOptions(a);
  const engine = await Engine.create(engineOptions(a, log));
  try {
    const r = await engine.complete({ ...req, prefix: chars.slice(0, cursor).join(''), suffix: chars.slice(cursor).join('') });
    if (a.flags.has('json')) console.log(JSON.stringify(r));
    else process.stdout.write(r.completion + '\n');
  } finally {
    await engine.dispose();
  }
  return 0;
}

