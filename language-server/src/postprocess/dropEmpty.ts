// Whitespace-only completions are not worth showing.
import { PostprocessContext } from './types';

export function dropEmpty(completion: string, _ctx: PostprocessContext): string {
  return completion.trim().length === 0 ? '' : completion;
}
