// The "Choose Model…" QuickPick's content and the download notification's text. Pure (no vscode
// import) so it is unit-tested directly; extension.ts shows it.
import type { CachedModelInfo, DownloadProgressInfo, DownloadSizeInfo } from '../../language-server/src/index';

export interface CuratedModel {
  id: string;
  label: string;
  detail: string;
}

/** Fill-in-the-middle capable base code models published in ONNX by onnx-community. */
export const CURATED_MODELS: readonly CuratedModel[] = [
  { id: 'onnx-community/Qwen2.5-Coder-0.5B', label: 'Qwen2.5-Coder 0.5B', detail: 'base model, fill-in-the-middle; fastest on a CPU' },
  { id: 'onnx-community/Qwen2.5-Coder-1.5B', label: 'Qwen2.5-Coder 1.5B', detail: 'base model, fill-in-the-middle; good balance on a CPU' },
  { id: 'onnx-community/Qwen2.5-Coder-3B', label: 'Qwen2.5-Coder 3B', detail: 'base model, fill-in-the-middle; best quality, wants a GPU' },
];

export type PickAction = { kind: 'hub'; id: string } | { kind: 'browse' } | { kind: 'enter' } | { kind: 'none' };

export interface PickItem {
  label: string;
  description?: string;
  detail?: string;
  /** Separator rows have kind 'none' and separator: true. */
  separator?: boolean;
  action: PickAction;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(0)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(@[^\s@]+)?$/;

/** Validation message for a typed Hub id, or undefined when it is well-formed. */
export function hubIdError(input: string): string | undefined {
  const s = input.trim();
  if (!s) return 'Enter a Hub id such as onnx-community/Qwen2.5-Coder-1.5B';
  if (!HUB_ID.test(s)) return 'A Hub id is org/name, optionally @revision (branch, tag or commit)';
  return undefined;
}

/**
 * Items: curated models (with the download size of the variant `auto` picks, once known), the
 * models already in the cache, then Browse folder… and Enter a Hub id….
 * `sizes` undefined = still being fetched.
 */
export function buildPickItems(sizes: DownloadSizeInfo[] | undefined, cached: CachedModelInfo[], current: readonly string[]): PickItem[] {
  const items: PickItem[] = [{ label: 'Code models on the Hugging Face Hub', separator: true, action: { kind: 'none' } }];
  const cachedRepos = new Set(cached.filter((c) => c.variants.length > 0).map((c) => c.repo));
  for (const m of CURATED_MODELS) {
    const s = sizes?.find((x) => x.repo === m.id);
    let description: string;
    if (cachedRepos.has(m.id)) description = 'downloaded';
    else if (!sizes) description = 'size…';
    else if (s?.bytes !== undefined) description = `${s.variant}: ${formatBytes(s.bytes)} download`;
    else description = `size unknown${s?.error ? ` (${s.error})` : ''}`;
    if (current.includes(m.id)) description += ' · in use';
    items.push({ label: m.label, description, detail: `${m.id}: ${m.detail}`, action: { kind: 'hub', id: m.id } });
  }
  const others = cached.filter((c) => c.variants.length > 0 && !CURATED_MODELS.some((m) => m.id === c.repo));
  if (others.length) {
    items.push({ label: 'In the Hugging Face cache', separator: true, action: { kind: 'none' } });
    const seen = new Set<string>();
    for (const c of others) {
      if (seen.has(c.repo)) continue;
      seen.add(c.repo);
      const variants = c.variants.map((v) => `${v.variant} ${formatBytes(v.bytes)}`).join(', ');
      items.push({ label: c.repo, description: `${variants}${current.includes(c.repo) ? ' · in use' : ''}`, action: { kind: 'hub', id: c.repo } });
    }
  }
  items.push({ label: 'Other', separator: true, action: { kind: 'none' } });
  items.push({ label: '$(folder-opened) Browse folder…', detail: 'A model folder: config.json, tokenizer.json, onnx/model*.onnx', action: { kind: 'browse' } });
  items.push({ label: '$(cloud-download) Enter a Hub id…', detail: 'org/name or org/name@revision of an ONNX model', action: { kind: 'enter' } });
  return items;
}

/** Text of the download notification and the status bar percentage. */
export function formatDownload(p: DownloadProgressInfo): { message: string; percent: number } {
  const percent = p.total > 0 ? Math.min(100, Math.floor((100 * p.bytes) / p.total)) : 0;
  const speed = p.bytesPerSecond > 0 ? `, ${formatBytes(p.bytesPerSecond)}/s` : '';
  return { message: `${formatBytes(p.bytes)} of ${formatBytes(p.total)} (${percent}%${speed}): ${p.file}`, percent };
}
