// Human-readable one-paragraph summary of a bytefill/status result (pure; unit-tested).
import type { StatusResult } from '../../language-server/src/index';

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
  const r = s.requests;
  parts.push(`Requests: ${r.total} (completed ${r.completed}, cached ${r.cached}, cancelled ${r.cancelled}, empty ${r.empty}, errors ${r.errors}).`);
  return parts.join(' ');
}
