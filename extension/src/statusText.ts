// Human-readable one-paragraph summary of a bytefill/status result (pure; unit-tested).
import type { EngineStatus, StatusResult } from '../../language-server/src/index';

export function formatStatus(s: StatusResult): string {
  const parts: string[] = [];
  parts.push(`bytefill: ${s.state}${s.error ? ` — ${s.error}` : ''}.`);
  if (s.models.length) {
    parts.push(`Models: ${s.models.map((m) => `${m.name} on ${m.provider}`).join(', ')}${s.ensemble ? ` (${s.ensemble})` : ''}.`);
  } else if (s.configuredModels.length) {
    parts.push(`Configured: ${s.configuredModels.join(', ')}.`);
  }
  parts.push(`Mode: ${s.mode}.`);
  if (s.loadMs !== null) parts.push(`Loaded in ${s.loadMs} ms.`);
  if (s.lastLatencyMs !== null) parts.push(`Last completion: ${s.lastLatencyMs} ms.`);
  if (s.engine) parts.push(engineText(s.engine));
  const r = s.requests;
  parts.push(`Requests: ${r.total} (completed ${r.completed}, cached ${r.cached}, cancelled ${r.cancelled}, empty ${r.empty}, errors ${r.errors}).`);
  return parts.join(' ');
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;

function engineText(e: EngineStatus): string {
  const where = { worker: 'worker thread', process: 'child process', none: "server's thread" }[e.isolation];
  const crashes = e.restarts > 0 || e.lastCrash ? ` (restarted ${e.restarts}×; last crash: ${e.lastCrash})` : '';
  const kv = e.kvCache.map((c) => `${c.model} ${mib(c.bytes)} of ${mib(c.maxBytes)}, ${(c.bytesPerToken / 1024).toFixed(0)} KiB per token`);
  return `Engine: ${where}${crashes}.${kv.length ? ` KV cache: ${kv.join('; ')}.` : ''}`;
}
