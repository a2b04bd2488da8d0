// Human-readable one-paragraph summary of a bytefill/status result (pure; unit-tested).
import type { EngineStatus, LanguageStats, LatencySummary, RequestTimings, StatusResult } from '../../language-server/src/index';

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

const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${Math.round(x)} ms`);
const share = (n: number, d: number): string => (d > 0 ? `${Math.round((100 * n) / d)}%` : '-');

/** A text histogram of answer latencies: one row per bucket, bars scaled to the largest. */
export function latencyHistogram(l: LatencySummary, width = 30): string[] {
  const max = Math.max(1, ...l.histogram);
  return l.histogram.map((n, i) => {
    const lo = i === 0 ? 0 : l.boundsMs[i - 1];
    const label = i < l.boundsMs.length ? `${lo}-${l.boundsMs[i]} ms` : `> ${lo} ms`;
    const bar = '#'.repeat(Math.round((n / max) * width));
    return `${label.padStart(14)} | ${bar}${n ? ` ${n}` : ''}`;
  });
}

function statsLines(name: string, s: LanguageStats): string[] {
  const accepted = s.acceptedFull + s.acceptedPartial;
  return [
    `${name}: ${s.shown} shown, ${s.acceptedFull} accepted + ${s.acceptedPartial} partly (${share(accepted, s.shown)}), ` +
      `${s.charsAccepted} characters accepted; latency p50 ${ms(s.latency.p50)}, p95 ${ms(s.latency.p95)} (${s.latency.count} answers); ` +
      `from cache ${s.cacheHits}, from speculation ${s.speculationHits}`,
  ];
}

function stageLines(t: RequestTimings): string[] {
  return [
    `Last request (${t.languageId}, ${t.candidates} candidate${t.candidates === 1 ? '' : 's'}): ${ms(t.totalMs)} total`,
    `  debounce ${ms(t.debounceMs)}, queue ${ms(t.queueMs)}, prompt ${ms(t.promptMs)}, prefill ${ms(t.prefillMs)}, ` +
      `covers ${ms(t.coversMs)}, decode ${ms(t.decodeMs)}, post-process ${ms(t.postprocessMs)}`,
  ];
}

/** The full report of "bytefill: Show Status" (counted in this session only, never sent anywhere). */
export function formatReport(s: StatusResult): string {
  const lines = [formatStatus(s), ''];
  if (s.stats) {
    lines.push('Usage in this session (counted locally, never sent anywhere)', '');
    lines.push(...statsLines('All languages', s.stats.total));
    for (const [id, l] of Object.entries(s.stats.byLanguage).sort()) lines.push(...statsLines(`  ${id}`, l));
    const sp = s.stats.speculation;
    lines.push('', `Speculation: ${sp.started} started, ${sp.finished} ready, ${sp.cancelled} cancelled, ${sp.empty} empty, ${sp.used} used (${share(sp.used, sp.finished)} of the ready ones)`);
    lines.push('', 'Answer latency:', ...latencyHistogram(s.stats.total.latency));
  }
  if (s.warm) {
    const w = s.warm;
    lines.push('', `Cache warming: ${w.started} started, ${w.finished} finished, ${w.cancelled} cancelled, ${w.skipped} skipped` +
      (w.last ? `; last: ${w.last.computedTokens} of ${w.last.promptTokens} prompt tokens computed in ${Math.round(w.last.ms)} ms` : ''));
  }
  if (s.lastRequest) lines.push('', ...stageLines(s.lastRequest));
  if (s.context?.enabled) lines.push('', contextLine(s.context));
  return lines.join('\n');
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;

function engineText(e: EngineStatus): string {
  const where = { worker: 'worker thread', process: 'child process', none: "server's thread" }[e.isolation];
  const crashes = e.restarts > 0 || e.lastCrash ? ` (restarted ${e.restarts}×; last crash: ${e.lastCrash})` : '';
  const kv = e.kvCache.map((c) => {
    const reused = c.reusedTokens + c.computedTokens > 0 ? `, ${share(c.reusedTokens, c.reusedTokens + c.computedTokens)} of prompt tokens reused` : '';
    return `${c.model} ${mib(c.bytes)} of ${mib(c.maxBytes)}, ${(c.bytesPerToken / 1024).toFixed(0)} KiB per token${reused}`;
  });
  return `Engine: ${where}${crashes}.${kv.length ? ` KV cache: ${kv.join('; ')}.` : ''}`;
}

/** The context ring and what the last prompt took from it (and reused from the KV cache). */
export function contextLine(c: NonNullable<StatusResult['context']>): string {
  const ring = `Context ring: ${c.chunks} chunks, ${(c.bytes / 1024).toFixed(1)} KiB${c.paths?.length ? ` (${c.paths.join(', ')})` : ''}`;
  if (!c.last) return ring;
  const l = c.last;
  const from = l.paths?.length ? ` (${l.paths.join(', ')})` : '';
  return `${ring}; last prompt: ${l.contextTokens} of ${l.promptTokens} tokens from ${l.contextChunks} chunks${from}, ${l.cachedTokens} tokens reused from the KV cache`;
}
