// The language server's public entry for its clients (the VS Code extension): the protocol
// (typed custom requests and notifications, the shapes they carry, engine error codes), the
// settings table and its normalisation. Pure: no engine, no vscode, so the extension's bundle
// stays small. The server itself runs as its own process (main.ts), reached over LSP.
export * from './protocol';
export { normalizeConfig, NormalizedConfig, clientSettingsChanged } from './config';
export { SETTINGS, SETTING_KEYS, EDITOR_SETTING_KEYS, SettingKey, SettingSpec, OnChange } from './settings';
