/**
 * The deterministic embedding model: every input string maps to 8 floats in [-1, 1], rounded to
 * 6 decimals. Component i is the 32-bit FNV-1a hash of the string's UTF-16 code units, seeded with
 * the FNV offset basis XOR (i * 0x9e3779b9), scaled from [0, 2^32 - 1] to [-1, 1].
 * Token-array inputs (arrays of numbers) are embedded as their numbers joined by a single space.
 * Prompt tokens of a string: ceil(characters / 4); of a token array: its length.
 */

export const EMBEDDING_DIMENSIONS = 8;

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The 8-float vector the mock returns for `text`. */
export function expectedEmbedding(text: string): number[] {
  const vector: number[] = [];
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) {
    const hash = fnv1a(text, 0x811c9dc5 ^ Math.imul(i, 0x9e3779b9));
    vector.push(Math.round(((hash / 0xffffffff) * 2 - 1) * 1e6) / 1e6);
  }
  return vector;
}

export interface EmbeddingInput {
  text: string;
  tokens: number;
}

function isTokenArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number');
}

function stringInput(text: string): EmbeddingInput {
  return { text, tokens: Math.ceil(Array.from(text).length / 4) };
}

/**
 * Normalises the OpenAI `input` field (string, string[], number[] or number[][]) to a list of texts;
 * null when it is none of these (or empty).
 */
export function embeddingInputs(input: unknown): EmbeddingInput[] | null {
  if (typeof input === 'string') return [stringInput(input)];
  if (isTokenArray(input)) return [{ text: input.join(' '), tokens: input.length }];
  if (!Array.isArray(input) || input.length === 0) return null;
  const inputs: EmbeddingInput[] = [];
  for (const item of input) {
    if (typeof item === 'string') inputs.push(stringInput(item));
    else if (isTokenArray(item)) inputs.push({ text: item.join(' '), tokens: item.length });
    else return null;
  }
  return inputs;
}
