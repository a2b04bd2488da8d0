// The engine facade: load models once, complete many times. (Stub being filled in; the signature is fixed.)
import { CompletionRequest, CompletionResult, EngineOptions, Provider } from './types';

export interface ModelInfo {
  name: string;
  dir: string;
  provider: Provider;
  vocabSize: number;
  fim: string | null;
}

export interface EngineInfo {
  models: ModelInfo[];
  device: string;
  ensemble: string | null;
}

export class Engine {
  private constructor() {}
  static async create(_opts: EngineOptions = {}): Promise<Engine> {
    throw new Error('Engine.create: not implemented yet');
  }
  async complete(_req: CompletionRequest): Promise<CompletionResult> {
    throw new Error('not implemented yet');
  }
  info(): EngineInfo {
    throw new Error('not implemented yet');
  }
  async dispose(): Promise<void> {}
}
