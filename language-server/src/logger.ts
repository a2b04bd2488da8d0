// Level-filtered logging through the LSP connection's console (shows in the client's output channel).
import { LogLevelName } from './protocol';

export interface ConsoleLike {
  log(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const RANK: Record<LogLevelName, number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };

export class Logger {
  constructor(
    private readonly out: ConsoleLike,
    public level: LogLevelName = 'info',
  ) {}

  private emit(level: Exclude<LogLevelName, 'off'>, msg: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const line = `[${new Date().toISOString().slice(11, 23)}] [${level}] ${msg}`;
    try {
      if (level === 'error') this.out.error(line);
      else if (level === 'warn') this.out.warn(line);
      else if (level === 'info') this.out.info(line);
      else this.out.log(line);
    } catch {
      // The connection may be gone (shutdown); logging must never throw.
    }
  }
  debug(msg: string): void {
    this.emit('debug', msg);
  }
  info(msg: string): void {
    this.emit('info', msg);
  }
  warn(msg: string): void {
    this.emit('warn', msg);
  }
  error(msg: string): void {
    this.emit('error', msg);
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
