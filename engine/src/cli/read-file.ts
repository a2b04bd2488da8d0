import * as fs from 'node:fs';
import { BoundedReadError, BytefillError, Logger, MAX_INPUT_FILE_BYTES, isValidUtf8, readBounded } from '../index';

/**
 * The bytes of a file named on the command line: a regular file of at most MAX_INPUT_FILE_BYTES
 * (`/dev/zero` never ends and a FIFO blocks until a writer comes: both are errors, at once).
 */
export function readInputFile(file: string): Buffer {
  try {
    return readBounded(file, MAX_INPUT_FILE_BYTES);
  } catch (e) {
    if (!(e instanceof BoundedReadError)) throw e;
    if (e.problem === 'missing') throw new BytefillError('FILE_NOT_FOUND', `file not found: ${file}`);
    if (e.problem === 'not-regular' && isFolder(file)) throw new BytefillError('BAD_ARGUMENT', `${file} is a folder, not a file`);
    throw new BytefillError('BAD_ARGUMENT', `${file} ${e.detail}`);
  }
}

function isFolder(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a source file as text; invalid UTF-8 is replaced (with a warning), never a crash. */
export function readTextFile(file: string, log: Logger): string {
  const buf = readInputFile(file);
  if (!isValidUtf8(buf)) log('warn', `${file} is not valid UTF-8; invalid bytes are read as U+FFFD`);
  return buf.toString('utf8');
}
