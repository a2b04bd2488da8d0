// Custom LSP methods and shared shapes between the extension and the server.
// Pure types and constants: safe for the extension to import (no engine, no vscode).

export type LoadState = 'loading' | 'ready' | 'error' | 'disabled';
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error' | 'off';

/** Validated server configuration (what the extension sends as `bytefill`). */
export interface ServerConfig {
  enable: boolean;
  /** Model folders; empty = the bundled default model. */
  models: string[];
  ensemble: 'mixture' | 'product';
  weights: number[];
  mode: 'byte' | 'heal' | 'token';
  uscd: { enabled: boolean; alpha: number; threshold: number };
  device: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  maxTokens: number;
  maxTimeMs: number;
  debounceMs: number;
  /** Language ids to complete in; ["*"] = all. */
  languages: string[];
  extraContext: boolean;
  logLevel: LogLevelName;
  /** Context windows in characters (the engine trims by tokens). */
  prefixChars: number;
  suffixChars: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  enable: true,
  models: [],
  ensemble: 'mixture',
  weights: [],
  mode: 'byte',
  uscd: { enabled: false, alpha: 0.5, threshold: 0.2 },
  device: 'auto',
  maxTokens: 64,
  maxTimeMs: 8000,
  debounceMs: 75,
  languages: ['*'],
  extraContext: false,
  logLevel: 'info',
  prefixChars: 6000,
  suffixChars: 2000,
};

export interface LoadProgressParams {
  state: LoadState;
  message: string;
  /** Model folders involved (for error messages that name the path). */
  models?: string[];
}

export interface ErrorParams {
  message: string;
  code?: string;
  models?: string[];
}

export interface StatusModel {
  name: string;
  dir: string;
  provider: string;
  vocabSize?: number;
  fim?: string | null;
}

export interface StatusResult {
  state: LoadState;
  error: string | null;
  models: StatusModel[];
  /** Configured folders (empty = bundled default). */
  configuredModels: string[];
  device: string | null;
  ensemble: string | null;
  mode: string;
  lastLatencyMs: number | null;
  loadMs: number | null;
  requests: RequestCounts;
  cacheSize: number;
  serverVersion: string;
}

export interface RequestCounts {
  total: number;
  completed: number;
  cached: number;
  cancelled: number;
  empty: number;
  errors: number;
  notReady: number;
}

export const Methods = {
  status: 'bytefill/status',
  reload: 'bytefill/reload',
  loadProgress: 'bytefill/loadProgress',
  error: 'bytefill/error',
} as const;
