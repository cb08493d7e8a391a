import type { JsonObject } from '../../canonical/json-fields.js';

/**
 * The parts of the Bedrock Converse request the gateway writes
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html). Binary fields
 * (`bytes`) are base64 text in the JSON body.
 */

export type ConverseImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export interface ConverseImageBlock {
  image: { format: ConverseImageFormat; source: { bytes: string } };
}

export type ConverseToolResultContent = { text: string } | ConverseImageBlock;

export type ConverseContentBlock =
  | { text: string }
  | ConverseImageBlock
  | { toolUse: { toolUseId: string; name: string; input: JsonObject } }
  | { toolResult: { toolUseId: string; content: ConverseToolResultContent[]; status: 'success' | 'error' } }
  | {
      reasoningContent: { reasoningText: { text: string; signature: string } } | { redactedContent: string };
    };

export interface ConverseMessage {
  role: 'user' | 'assistant';
  content: ConverseContentBlock[];
}

export interface ConverseToolSpec {
  toolSpec: { name: string; description?: string; inputSchema: { json: Record<string, unknown> } };
}

export type ConverseToolChoice =
  { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };

export interface ConverseRequestBody {
  messages: ConverseMessage[];
  system?: Array<{ text: string }>;
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: { tools: ConverseToolSpec[]; toolChoice?: ConverseToolChoice };
  additionalModelRequestFields?: JsonObject;
}
