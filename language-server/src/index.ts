// The language server's public entry for its clients (the VS Code extension): the protocol
// (custom methods and the shapes they carry) and settings normalisation. Pure: no engine, no
// vscode, so the extension's bundle stays small. The server itself runs as its own process
// (main.ts), reached over LSP.
export * from './protocol';
export { normalizeConfig, NormalizedConfig } from './config';
