// Which added tokens are control tokens (markers of prompt structure, not text).
//
// Real tokenizer.json files do not mark all of them `special`: Qwen2.5/Qwen3 ship <|fim_prefix|>,
// <|fim_middle|>, <|fim_suffix|>, <|fim_pad|>, <|repo_name|> and <|file_sep|> with special=false.
// Treated as text they would enter the byte layer's covers and would not end a completion. An
// added token is a control token when it is marked special, or when its text is one of the known
// FIM / repository / chat markers, or has the `<|...|>` form that every such family uses.
// Plain-text added tokens such as <think> or <tool_call> stay text.

const KNOWN_CONTROL = new Set([
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|fim_prefix|>',
  '<|fim_middle|>',
  '<|fim_suffix|>',
  '<|fim_pad|>',
  '<|repo_name|>',
  '<|file_sep|>',
  '<fim_prefix>',
  '<fim_middle>',
  '<fim_suffix>',
  '<fim_pad>',
  '<file_sep>',
  '<repo_name>',
  '<reponame>',
  '<filename>',
  '<｜fim▁begin｜>',
  '<｜fim▁hole｜>',
  '<｜fim▁end｜>',
  '<｜end▁of▁sentence｜>',
  '<｜begin▁of▁sentence｜>',
  '<PRE>',
  '<SUF>',
  '<MID>',
  '<EOT>',
]);

/** `<|name|>` (ASCII bars) or `<｜name｜>` (full-width bars, DeepSeek): a marker, never text. */
const BARRED = /^<[|｜][^\s<>]{1,64}[|｜]>$/u;

export function isControlTokenText(content: string): boolean {
  return KNOWN_CONTROL.has(content) || BARRED.test(content);
}
