import * as fs from 'node:fs';
import { BytefillError, Logger, isValidUtf8 } from '../index';

/** Reads a source file as text; invalid UTF-8 is replaced (with a warning), never a crash. */
export function readTextFile(file: string, log: Logger): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new BytefillError('FILE_NOT_FOUND', `file not found: ${file}`);
    if (err.code === 'EISDIR') throw new BytefillError('BAD_ARGUMENT', `${file} is a folder, not a file`);
    throw new BytefillError('BAD_ARGUMENT', `cannot read ${file}: ${err.message}`);
  }
  if (!isValidUtf8(buf)) log('warn', `${file} is not valid UTF-8; invalid bytes are read as U+FFFD`);
  return buf.toString('utf8');
}
