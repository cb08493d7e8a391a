export {
  approximateTokens,
  countTextTokens,
  countTextTokensSync,
  preloadTokenizer,
  tokenizerFor,
  type TokenizerName,
} from './text-tokens.js';
export {
  TOKENS_PER_IMAGE,
  estimatePromptTokens,
  estimatePromptTokensSync,
  maxOutputTokens,
  type PromptEstimate,
} from './prompt-tokens.js';
