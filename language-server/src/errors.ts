// Engine failures as LSP errors: the one place an exception becomes a ResponseError. An engine
// error (BytefillError) keeps its code (ENGINE_ERROR_CODES in protocol.ts) and its user-facing
// message; anything else is INTERNAL with its message.
import { ResponseError } from 'vscode-languageserver';
import { BytefillError } from '../../engine/src/index';
import { ENGINE_ERROR_CODES, EngineErrorData, EngineErrorName } from './protocol';
import { errorMessage } from './logger';

/** The engine error's name, or INTERNAL for any other failure. */
export function engineErrorName(e: unknown): EngineErrorName {
  return e instanceof BytefillError ? e.code : 'INTERNAL';
}

/** `message` replaces the error's own (e.g. one that names the model folder). */
export function toResponseError(e: unknown, context: { message?: string; models?: string[] } = {}): ResponseError<EngineErrorData> {
  const name = engineErrorName(e);
  const data: EngineErrorData = context.models ? { name, models: context.models } : { name };
  return new ResponseError<EngineErrorData>(ENGINE_ERROR_CODES[name], context.message ?? errorMessage(e), data);
}
