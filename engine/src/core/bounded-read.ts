// Reads a file that came from outside (a model folder, a CLI argument) without trusting it:
// regular files only (a FIFO would block forever, /dev/zero never ends, a socket or a device is
// not data), at most `maxBytes`, and the check is repeated on the open descriptor so a file
// swapped after the first look is caught too.
import * as fs from 'node:fs';

export type ReadProblem = 'missing' | 'unreadable' | 'not-regular' | 'too-large';

export class BoundedReadError extends Error {
  constructor(
    readonly problem: ReadProblem,
    /** What is wrong, without the path (the caller names the file in its own words). */
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'BoundedReadError';
  }
}

/** 'a FIFO (named pipe)', 'a character device', ... for a stat that is not a regular file. */
export function fileKind(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB` : `${n} bytes`;
}

function errnoProblem(e: unknown): BoundedReadError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return new BoundedReadError('missing', 'does not exist');
  if (err.code === 'EACCES' || err.code === 'EPERM') return new BoundedReadError('unreadable', 'cannot be read (permission denied)');
  if (err.code === 'ELOOP') return new BoundedReadError('unreadable', 'cannot be read (too many levels of symbolic links)');
  return new BoundedReadError('unreadable', `cannot be read (${err.code ?? 'error'})`);
}

/** Checks what `file` is (following symlinks) without opening it; throws BoundedReadError. */
export function checkRegularFile(file: string, maxBytes: number): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw errnoProblem(e);
  }
  if (!st.isFile()) throw new BoundedReadError('not-regular', `is ${fileKind(st)}, not a regular file`);
  if (st.size > maxBytes) throw new BoundedReadError('too-large', `is ${mib(st.size)}, over the limit of ${mib(maxBytes)}`);
  return st;
}

/** The bytes of a regular file of at most maxBytes; throws BoundedReadError. */
export function readBounded(file: string, maxBytes: number): Buffer {
  checkRegularFile(file, maxBytes);
  let fd: number;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, open() must not wait for a writer.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw errnoProblem(e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new BoundedReadError('not-regular', `is ${fileKind(st)}, not a regular file`);
    if (st.size > maxBytes) throw new BoundedReadError('too-large', `is ${mib(st.size)}, over the limit of ${mib(maxBytes)}`);
    // Read to EOF but never past the limit (the file may grow while we read).
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size, 4096) + 1, maxBytes + 1));
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new BoundedReadError('too-large', `grew past the limit of ${mib(maxBytes)} while being read`);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof BoundedReadError) throw e;
    throw errnoProblem(e);
  } finally {
    fs.closeSync(fd);
  }
}
