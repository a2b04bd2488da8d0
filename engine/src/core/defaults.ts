// Defaults the engine, its CLI and the language server's settings share. Plain constants with no
// imports: the language server's settings table (and so the editor extension's bundle) reads them
// without loading the engine.

/** Tokens generated per completion when a request does not say. */
export const DEFAULT_MAX_TOKENS = 64;

/**
 * USCD defaults.
 * threshold 0.2: measured on tiny-code-b (|V| = 4096; 506 greedy steps of single-line FIM
 * completions on held-out Python, `node out/engine/src/uscd/measure.js stats 60`): steps with
 * u < 0.2 (about 53%) have median top probability 0.70 to 0.99 and the contrast almost never changes
 * their argmax; steps with u >= 0.2 have median top probability 0.15 to 0.53. That matches the
 * published default gate (contrast unless the top token has p above about 0.63) without its
 * dependence on |V|. In decoding it contrasts about 40% of the steps (uscd/gate.ts).
 * alpha 0.5: on 100 held-out single-line completions (tiny-code-b, byte mode, threshold 0.2) mean
 * edit similarity to the true line was plain 0.288, alpha 0.3 0.261, 0.5 0.260, 0.7 0.245: no alpha
 * helped, 0.3 and 0.5 tie, the published 0.7 is worse. USCD is opt-in; 0.5 is the brief's choice
 * and no worse than the gentler 0.3 on this data.
 * beta 0.1: Li et al.'s plausibility cut (not tuned here).
 */
export const DEFAULT_USCD = { alpha: 0.5, threshold: 0.2, beta: 0.1 } as const;

/** Byte budget of each model's prefix KV cache, MiB (see BENCHMARKS.md, section 6). */
export const DEFAULT_KV_CACHE_MB = 256;

/**
 * Prompt tokens per prefill forward. Measured on both bundled models (BENCHMARKS.md, section 6):
 * chunks of 128-512 cost the same as one forward within noise, 64 up to 1.4x; 256 keeps the
 * wait of a cancel under about a quarter of a 1000-token prefill.
 */
export const DEFAULT_PREFILL_CHUNK = 256;
