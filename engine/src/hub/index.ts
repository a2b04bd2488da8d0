// Models from the Hugging Face Hub: specs, the shared cache, variant choice and downloads.
export { resolveModel, downloadSize, assertFreeSpace, mb, MODEL_FILES } from './resolve';
export type { DownloadProgress, DownloadSize, ResolveOptions, ResolvedModel } from './resolve';
export { parseModelSpec, parseHubId, formatHubId } from './spec';
export type { HubId, ModelSpec } from './spec';
export { VARIANTS, VARIANT_NOTES, chooseVariant, variantFile, variantOfFile, externalDataFiles, runsOnGpu, isVariant } from './variants';
export type { Variant, ConcreteVariant } from './variants';
export { hubSettings } from './env';
export type { HubSettings } from './env';
export { listCachedModels } from './list';
export type { CachedModel } from './list';
