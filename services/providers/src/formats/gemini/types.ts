import type { JsonObject } from '../../canonical/json-fields.js';

/**
 * The parts of Gemini's wire format the gateway writes (GenerateContentRequest and
 * GenerateContentResponse, https://ai.google.dev/api/generate-content). Reading goes through
 * `unknown` and the field readers; these types describe only what is produced.
 */

export interface GeminiFunctionCall {
  name: string;
  args: JsonObject;
  /** Gemini sends ids only on some models; the gateway's answers always carry one. */
  id?: string;
}

export interface GeminiFunctionResponse {
  name: string;
  response: JsonObject;
}

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  functionCall?: GeminiFunctionCall;
  functionResponse?: GeminiFunctionResponse;
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parametersJsonSchema: Record<string, unknown>;
}

export interface GeminiThinkingConfig {
  thinkingBudget: number;
  includeThoughts?: boolean;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  responseMimeType?: string;
  responseJsonSchema?: Record<string, unknown>;
  thinkingConfig?: GeminiThinkingConfig;
}

export interface GeminiRequestBody {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiUsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
}

export interface GeminiCandidate {
  content: { role: 'model'; parts: GeminiPart[] };
  finishReason?: string;
  index: 0;
}

export interface GeminiResponseBody {
  candidates: GeminiCandidate[];
  usageMetadata?: GeminiUsageMetadata;
  modelVersion: string;
  responseId: string;
}

/** Gemini's error body: `{error: {code, message, status}}`. */
export interface GeminiErrorBody {
  error: { code: number; message: string; status: string };
}
