// Entry point: `node dist/server.js --stdio` (or --node-ipc when started by the extension).
import { createConnection } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection();

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
