/**
 * Local token counts for text: exact for OpenAI's tiktoken encodings (through `gpt-tokenizer`, pure
 * JS), and a cheap documented estimate for every other model family, whose tokenizers are not public.
 *
 * An encoding is large (o200k_base: a few hundred ms and tens of MB to load), so each one is loaded
 * with a dynamic import the first time a model needs it, once, and never at process start.
 */

/** The tokenizer a model's text is counted with. */
export type TokenizerName = 'o200k_base' | 'cl100k_base' | 'approximate';

type EncodingName = Exclude<TokenizerName, 'approximate'>;

/** Counts the tokens of one text. */
export type TextTokenCounter = (text: string) => number;

/** The encodings' count functions; only the module named here is ever imported. */
const ENCODINGS: Record<
  EncodingName,
  () => Promise<{ countTokens: EncodeFn; setMergeCacheSize: (size: number) => void }>
> = {
  o200k_base: () => import('gpt-tokenizer/encoding/o200k_base'),
  cl100k_base: () => import('gpt-tokenizer/encoding/cl100k_base'),
};

type EncodeFn = (text: string, options: { disallowedSpecial: Set<string> }) => number;

/**
 * No special token is disallowed and none is allowed, so `<|endoftext|>` in a caller's text is
 * counted as the plain text it is (as the API counts it) instead of throwing.
 */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Why 10,000: the encoder caches the tokens of recent words; its default (100,000 entries) grows a
 * busy relay by tens of megabytes, while 10,000 already covers the words of a large working set.
 */
const MERGE_CACHE_ENTRIES = 10_000;

const loaded = new Map<EncodingName, TextTokenCounter>();
const loading = new Map<EncodingName, Promise<TextTokenCounter>>();

/** o200k_base model families (OpenAI's `tiktoken` model table; gpt-oss's harmony encoding extends it). */
const O200K = /^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|gpt-oss|o1(?:-|$)|o3(?:-|$)|o4(?:-|$))/;
/** cl100k_base model families: gpt-4 and its dated/turbo variants, gpt-3.5, the embedding models. */
const CL100K = /^(?:gpt-4(?:-|$)|gpt-3\.5|text-embedding-)/;

/**
 * The tokenizer for a model name. A provider prefix (`openai/gpt-4o`) and a fine-tune prefix
 * (`ft:gpt-4o-mini:org::id`) are ignored; names are matched case-insensitively.
 */
export function tokenizerFor(model: string): TokenizerName {
  let name = model.trim().toLowerCase();
  name = name.slice(name.lastIndexOf('/') + 1);
  if (name.startsWith('ft:')) name = name.slice(3);
  if (O200K.test(name)) return 'o200k_base';
  if (CL100K.test(name)) return 'cl100k_base';
  return 'approximate';
}

/**
 * The estimate for models whose tokenizer is not public (Claude, Gemini, open models):
 * ceil(ASCII characters / 4) + 1 per non-ASCII code point. Why: Latin text and code run about 4
 * characters per token in BPE tokenizers; CJK and other scripts run about one token per character on
 * the Claude and Gemini tokenizers. One pass over the UTF-16 code units, no allocation.
 */
export function approximateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) ascii++;
    // A low surrogate is the second half of a code point already counted at its high half.
    else if (c < 0xdc00 || c > 0xdfff) other++;
  }
  return Math.ceil(ascii / 4) + other;
}

function load(encoding: EncodingName): Promise<TextTokenCounter> {
  let pending = loading.get(encoding);
  if (pending === undefined) {
    pending = ENCODINGS[encoding]().then(
      ({ countTokens, setMergeCacheSize }) => {
        setMergeCacheSize(MERGE_CACHE_ENTRIES);
        const counter: TextTokenCounter = (text) => countTokens(text, PLAIN_TEXT);
        loaded.set(encoding, counter);
        return counter;
      },
      (err: unknown) => {
        // Let a later call try again rather than remembering the failure for the process's life.
        loading.delete(encoding);
        throw err;
      },
    );
    loading.set(encoding, pending);
  }
  return pending;
}

/** The counter for a model, loading its encoding first when needed (once per process). */
export async function tokenCounterFor(model: string): Promise<TextTokenCounter> {
  const name = tokenizerFor(model);
  if (name === 'approximate') return approximateTokens;
  return loaded.get(name) ?? load(name);
}

/** The counter for a model when it can count now: null while the model's encoding is not loaded. */
export function loadedTokenCounterFor(model: string): TextTokenCounter | null {
  const name = tokenizerFor(model);
  if (name === 'approximate') return approximateTokens;
  return loaded.get(name) ?? null;
}

/** Loads the model's encoding (if it has one) so that the synchronous counts can use it. */
export async function preloadTokenizer(model: string): Promise<void> {
  await tokenCounterFor(model);
}

/**
 * The number of tokens `text` is for `model`: exact for the tiktoken encodings (special tokens
 * counted as plain text), else `approximateTokens`. Loads the encoding on first use.
 */
export async function countTextTokens(model: string, text: string): Promise<number> {
  return (await tokenCounterFor(model))(text);
}

/**
 * `countTextTokens` without waiting: null when the model's encoding is not loaded yet (call
 * `preloadTokenizer` to load it). Never starts a load itself.
 */
export function countTextTokensSync(model: string, text: string): number | null {
  const counter = loadedTokenCounterFor(model);
  return counter === null ? null : counter(text);
}
