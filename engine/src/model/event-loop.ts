// onnxruntime-node runs a forward synchronously on the calling thread, so a loop of forwards
// never lets queued messages (a cancel, a status request) run unless it yields between them.
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
