// A JSON file from an untrusted folder: bounded read (io/bounded-read) and a parse error that
// names the file and the position but never quotes the text (V8's messages do).
import { BytefillError } from './types';
import { BoundedReadError, readBounded } from './bounded-read';

/** `what` starts the messages, e.g. "Model config" -> "Model config missing: FILE does not exist". */
export function readJsonFile(file: string, maxBytes: number, what: string): unknown {
  let data: Buffer;
  try {
    data = readBounded(file, maxBytes);
  } catch (e) {
    if (e instanceof BoundedReadError) {
      if (e.problem === 'missing') throw new BytefillError('MODEL_INVALID', `${what} missing: ${file} does not exist`);
      throw new BytefillError('MODEL_INVALID', `${what} invalid: ${file} ${e.detail}`);
    }
    throw e;
  }
  return parseJsonNamed(data, file, what);
}

export function parseJsonNamed(data: Buffer | string, file: string, what: string): unknown {
  let text = typeof data === 'string' ? data : data.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM before JSON is harmless
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    throw new BytefillError('MODEL_INVALID', `${what} invalid: ${file} is not valid JSON${m ? ` (at character ${m[1]})` : ''}`);
  }
}
