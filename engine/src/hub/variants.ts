// Which ONNX file of a Hugging Face ONNX repo to use. onnx-community repos publish one graph per
// precision under onnx/ (model.onnx, model_fp16.onnx, model_q4.onnx, ...), each several hundred MB
// to GBs: only the chosen one, with its external-data files, is downloaded.
import { BytefillError, Device } from '../core/types';
import { backendInstalled } from '../model/session';

export const VARIANTS = ['auto', 'fp32', 'fp16', 'q4', 'q4f16', 'int8', 'uint8', 'bnb4', 'quantized'] as const;
export type Variant = (typeof VARIANTS)[number];
export type ConcreteVariant = Exclude<Variant, 'auto'>;

/** What each precision is, for log lines and pickers. */
export const VARIANT_NOTES: Record<ConcreteVariant, string> = {
  fp32: 'float32 weights',
  fp16: 'float16 weights, KV cache and logits',
  q4: '4-bit weights (MatMulNBits), float32 activations',
  q4f16: '4-bit weights (MatMulNBits), float16 activations',
  int8: '8-bit weights (MatMulInteger)',
  uint8: '8-bit unsigned weights (MatMulInteger)',
  bnb4: '4-bit NF4 weights (MatMulBnb4)',
  quantized: '8-bit dynamically quantized weights',
};

// CPU: 4- and 8-bit graphs are several times smaller and faster than fp32; fp16 math is slow there.
// GPU: half-precision graphs use the tensor cores and halve the KV transfers.
const CPU_ORDER: ConcreteVariant[] = ['q4', 'int8', 'quantized', 'uint8', 'bnb4', 'fp32', 'q4f16', 'fp16'];
const GPU_ORDER: ConcreteVariant[] = ['q4f16', 'fp16', 'q4', 'fp32', 'int8', 'quantized', 'uint8', 'bnb4'];

export function isVariant(s: string): s is Variant {
  return (VARIANTS as readonly string[]).includes(s);
}

/** Repo path of a variant's graph. */
export function variantFile(v: ConcreteVariant): string {
  return v === 'fp32' ? 'onnx/model.onnx' : `onnx/model_${v}.onnx`;
}

/** The variant a repo path names, or null for files outside the naming scheme. */
export function variantOfFile(file: string): ConcreteVariant | null {
  for (const v of VARIANTS) if (v !== 'auto' && variantFile(v) === file) return v;
  return null;
}

/**
 * External-data files of a graph among the repo's files: `model.onnx_data`, `model.onnx_data_1`, ...
 * (transformers.js naming) and `model.onnx.data` (torch.onnx naming).
 */
export function externalDataFiles(graph: string, files: readonly string[]): string[] {
  const esc = graph.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${esc}(_data(_\\d+)?|\\.data)$`);
  return files.filter((f) => re.test(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Whether models will likely run on a GPU with this device setting (decides `auto`). */
export function runsOnGpu(device: Device | undefined): boolean {
  if (device === 'cuda' || device === 'webgpu') return true;
  if (device === 'cpu') return false;
  return backendInstalled('cuda') || process.env.BYTEFILL_WEBGPU === '1';
}

export interface VariantChoice {
  variant: ConcreteVariant;
  file: string;
  /** One line: what was picked and why. */
  reason: string;
}

/**
 * Picks the variant among `available` (variants whose graph exists): the requested one, or for
 * `auto` the first of the device's preference order.
 */
export function chooseVariant(requested: Variant, available: readonly ConcreteVariant[], gpu: boolean, where: string): VariantChoice {
  const have = available.length ? available.join(', ') : 'none';
  if (requested !== 'auto') {
    if (!available.includes(requested)) {
      throw new BytefillError('MODEL_NOT_FOUND', `${where} has no ${requested} variant (${variantFile(requested)}); variants there: ${have}`);
    }
    return { variant: requested, file: variantFile(requested), reason: `variant ${requested} as configured (${VARIANT_NOTES[requested]})` };
  }
  const order = gpu ? GPU_ORDER : CPU_ORDER;
  const v = order.find((x) => available.includes(x));
  if (!v) throw new BytefillError('MODEL_INVALID', `${where} has no ONNX decoder graph under onnx/ (looked for ${order.map(variantFile).join(', ')})`);
  return {
    variant: v,
    file: variantFile(v),
    reason: `auto picked ${v} (${VARIANT_NOTES[v]}) for ${gpu ? 'a GPU' : 'the CPU'}: first available of ${order.join(' > ')}; ${where} has ${have}`,
  };
}
