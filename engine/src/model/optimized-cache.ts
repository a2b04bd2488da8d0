// onnxruntime's optimised graph, saved on the first load and loaded (without optimising again) on
// the next. Graph optimisation is most of a load: measured 17-21 s of a 0.5B model's first load.
// The saved graph can hold hardware-specific fused ops, so the cache key names the onnxruntime
// version, the CPU, the provider and the source file's identity; weights go to an external data
// file beside it (a 2 GB protobuf limit otherwise).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ort = require('./ort');
import { derivedDir, sourceStamp } from './derived-graph';

export interface OptimizedGraph {
  /** Where the optimised graph is (or will be written). */
  file: string;
  /** Its weights file (a name beside `file`). */
  dataName: string;
  /** Whether a complete cached graph exists. */
  exists: boolean;
}

const ORT_VERSION = (ort.env.versions as { common?: string }).common ?? 'unknown';

export function optimizedGraph(source: string, provider: string): OptimizedGraph | null {
  try {
    const stamp = sourceStamp(source, `opt1|ort ${ORT_VERSION}|${os.cpus()[0]?.model ?? ''}|${os.arch()}|${provider}`);
    const dir = derivedDir(source);
    const base = path.basename(source, '.onnx');
    const file = path.join(dir, `${base}.ort-${stamp}.onnx`);
    const dataName = `${base}.ort-${stamp}.onnx.data`;
    return { file, dataName, exists: fs.existsSync(file) && fs.existsSync(`${file}.done`) };
  } catch {
    return null;
  }
}

/** Session options that write the optimised graph while a session is created. */
export function saveOptions(g: OptimizedGraph): Pick<ort.InferenceSession.SessionOptions, 'optimizedModelFilePath' | 'extra'> {
  return {
    optimizedModelFilePath: g.file,
    extra: {
      session: {
        optimized_model_external_initializers_file_name: g.dataName,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
      },
    },
  };
}

/**
 * Claims the right to write the graph (one writer at a time across processes). Returns a release
 * function, or null when another process is writing it (a claim older than 10 minutes is stale).
 */
export function claimWrite(g: OptimizedGraph): (() => void) | null {
  const lock = `${g.file}.lock`;
  try {
    const st = fs.statSync(lock);
    if (Date.now() - st.mtimeMs < 10 * 60_000) return null;
    fs.rmSync(lock, { force: true });
  } catch {
    // no lock
  }
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch {
    return null;
  }
  return () => fs.rmSync(lock, { force: true });
}

/** Marks a written graph complete (a crash while writing leaves no mark, so it is not reused). */
export function markSaved(g: OptimizedGraph): void {
  try {
    if (fs.existsSync(g.file)) fs.writeFileSync(`${g.file}.done`, '');
  } catch {
    // best effort: next load optimises again
  }
}

/** Removes a cached graph that failed to load. */
export function dropCached(g: OptimizedGraph): void {
  for (const f of [g.file, `${g.file}.done`, path.join(path.dirname(g.file), g.dataName)]) fs.rmSync(f, { force: true });
}
