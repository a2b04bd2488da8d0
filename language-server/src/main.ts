// Entry point: `node dist/server.js --stdio` (or --node-ipc when started by the extension).
// onnxruntime telemetry off before anything can load it (the engine's ort module sets it too).
process.env.ORT_DISABLE_TELEMETRY = '1';
import { createConnection } from 'vscode-languageserver/node';
import { FramingGuard } from './framing';
import { startServer } from './server';

/** `--name=value` or `--name value` from argv. */
function argValue(name: string): string | undefined {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

// On stdio the byte stream is framed by Content-Length headers; a guard checks the framing
// (see framing.ts) so a bad frame is logged and skipped instead of wedging the connection.
let guard: FramingGuard | undefined;
let logFraming: (m: string) => void = (m) => process.stderr.write(`${m}\n`);
if (process.argv.includes('--stdio')) {
  const partial = Number(argValue('--partial-message-timeout-ms'));
  guard = new FramingGuard({
    partialTimeoutMs: Number.isFinite(partial) && partial > 0 ? partial : undefined,
    onError: (m) => logFraming(m),
  });
  process.stdin.pipe(guard);
}
const connection = guard ? createConnection(guard, process.stdout) : createConnection();
if (guard) {
  logFraming = (m) => {
    process.stderr.write(`${m}\n`);
    try {
      connection.console.error(m);
    } catch {
      // connection gone
    }
  };
  // With explicit streams vscode-languageserver does not redirect console.log (stdout is the
  // protocol channel): do it here.
  console.log = (...a: unknown[]) => connection.console.log(a.map(String).join(' '));
  console.info = (...a: unknown[]) => connection.console.info(a.map(String).join(' '));
  console.warn = (...a: unknown[]) => connection.console.warn(a.map(String).join(' '));
  console.error = (...a: unknown[]) => connection.console.error(a.map(String).join(' '));
}

// A bug in one request must not take completions down for the whole session: log, keep going.
process.on('uncaughtException', (e) => {
  try {
    connection.console.error(`[uncaughtException] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } catch {
    // connection gone
  }
});
process.on('unhandledRejection', (e) => {
  try {
    connection.console.error(`[unhandledRejection] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } catch {
    // connection gone
  }
});

startServer(connection);
