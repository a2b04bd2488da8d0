// Usage statistics, counted in this process only (never written or sent anywhere): what was shown,
// what was accepted, how fast answers came, and how often the cache and speculation answered.
import { LanguageStats, LatencySummary, StatsResult } from './protocol';

/** Latencies kept for percentiles and the histogram (most recent). */
const LATENCY_WINDOW = 1000;
/** Histogram bucket upper bounds, ms (the last bucket is open). */
export const HISTOGRAM_BOUNDS_MS = [10, 30, 100, 300, 1000, 3000];

function emptyLanguage(): LanguageStats {
  return {
    requests: 0,
    shown: 0,
    acceptedFull: 0,
    acceptedPartial: 0,
    charsAccepted: 0,
    cacheHits: 0,
    speculationHits: 0,
    latency: summarize([]),
  };
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(latencies: number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const histogram = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  for (const ms of sorted) {
    let k = HISTOGRAM_BOUNDS_MS.findIndex((b) => ms <= b);
    if (k < 0) k = HISTOGRAM_BOUNDS_MS.length;
    histogram[k]++;
  }
  return { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), boundsMs: HISTOGRAM_BOUNDS_MS, histogram };
}

export type AnswerSource = 'engine' | 'cache' | 'speculation';

export class Stats {
  private readonly langs = new Map<string, { s: LanguageStats; lat: number[] }>();
  private readonly all: number[] = [];

  private lang(languageId: string): { s: LanguageStats; lat: number[] } {
    let l = this.langs.get(languageId);
    if (!l) {
      l = { s: emptyLanguage(), lat: [] };
      this.langs.set(languageId, l);
    }
    return l;
  }

  request(languageId: string): void {
    this.lang(languageId).s.requests++;
  }

  /**
   * A non-empty answer. `newSuggestion` is false when it only continues the suggestion already
   * shown (the user typed through it): that is not shown again.
   */
  answered(languageId: string, source: AnswerSource, latencyMs: number, newSuggestion: boolean): void {
    const l = this.lang(languageId);
    if (newSuggestion) l.s.shown++;
    if (source === 'cache') l.s.cacheHits++;
    if (source === 'speculation') l.s.speculationHits++;
    push(l.lat, latencyMs);
    push(this.all, latencyMs);
  }

  accepted(languageId: string, full: boolean, chars: number): void {
    const l = this.lang(languageId);
    if (full) l.s.acceptedFull++;
    else l.s.acceptedPartial++;
    l.s.charsAccepted += chars;
  }

  snapshot(speculation: StatsResult['speculation']): StatsResult {
    const byLanguage: Record<string, LanguageStats> = {};
    const total = emptyLanguage();
    for (const [id, l] of this.langs) {
      byLanguage[id] = { ...l.s, latency: summarize(l.lat) };
      for (const k of ['requests', 'shown', 'acceptedFull', 'acceptedPartial', 'charsAccepted', 'cacheHits', 'speculationHits'] as const) total[k] += l.s[k];
    }
    total.latency = summarize(this.all);
    return { total, byLanguage, speculation: { ...speculation } };
  }
}

function push(xs: number[], x: number): void {
  xs.push(x);
  if (xs.length > LATENCY_WINDOW) xs.shift();
}
