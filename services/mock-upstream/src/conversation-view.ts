import { imageOfPart } from './image-input.js';
import type { ImageInput } from './image-input.js';

/**
 * A chat request body of any supported format, reduced to what the deterministic model reads:
 * OpenAI Chat Completions and Anthropic Messages (`messages[].content`), Gemini (`contents[].parts`,
 * `systemInstruction`) and Bedrock Converse (`messages[].content[]` blocks without `type`, `system[]`).
 */
export interface ConversationView {
  turns: ConversationTurn[];
  /** Top-level system text (Anthropic `system`, Gemini `systemInstruction`, Converse `system`); '' when none. */
  system: string;
  /** The first function tool the request offers, or null. */
  tool: ToolView | null;
  /** True when the request turns reasoning on (see `reasoningEnabled`). */
  reasoning: boolean;
  /** The request's output token limit, or null. */
  maxTokens: number | null;
}

/** One message of the conversation, reduced to its role, text and images. */
export interface ConversationTurn {
  /** `user`, `assistant` (Gemini `model`), or the format's own role (`system`, `tool`, ...). */
  role: string;
  text: string;
  images: ImageInput[];
}

/** The first tool a request offers: what a tool call needs of it. */
export interface ToolView {
  name: string;
  /** The first key of the tool's parameter schema `properties`, or null when it has none. */
  firstProperty: string | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTextBlock(part: Record<string, unknown>): boolean {
  if (typeof part.text !== 'string') return false;
  // Gemini parts and Converse blocks carry no `type`; Gemini thought parts are reasoning, not text.
  return part.type === 'text' || (part.type === undefined && part.thought !== true);
}

/**
 * The text of a message `content`: the string itself, or the concatenated `text` of its text
 * parts/blocks (`type: "text"`, or Gemini/Converse blocks without `type`); anything else is "".
 */
export function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (isRecord(part) && isTextBlock(part)) text += part.text as string;
  }
  return text;
}

function imagesOfContent(content: unknown): ImageInput[] {
  if (!Array.isArray(content)) return [];
  const images: ImageInput[] = [];
  for (const part of content) {
    const image = isRecord(part) ? imageOfPart(part) : null;
    if (image !== null) images.push(image);
  }
  return images;
}

function turnsOf(body: Record<string, unknown>): ConversationTurn[] {
  if (Array.isArray(body.contents)) {
    return body.contents.filter(isRecord).map((content) => {
      const role = content.role === undefined || content.role === 'user' ? 'user' : content.role;
      return {
        role: role === 'model' ? 'assistant' : String(role),
        text: textOfContent(content.parts),
        images: imagesOfContent(content.parts),
      };
    });
  }
  if (!Array.isArray(body.messages)) return [];
  return body.messages.filter(isRecord).map((message) => ({
    role: typeof message.role === 'string' ? message.role : '',
    text: textOfContent(message.content),
    images: imagesOfContent(message.content),
  }));
}

function systemOf(body: Record<string, unknown>): string {
  if (isRecord(body.systemInstruction)) return textOfContent(body.systemInstruction.parts);
  if (typeof body.systemInstruction === 'string') return body.systemInstruction;
  return textOfContent(body.system);
}

function firstPropertyOf(schema: unknown): string | null {
  if (!isRecord(schema) || !isRecord(schema.properties)) return null;
  return Object.keys(schema.properties)[0] ?? null;
}

function geminiDeclaration(tools: unknown[]): Record<string, unknown> | null {
  for (const tool of tools) {
    if (!isRecord(tool) || !Array.isArray(tool.functionDeclarations)) continue;
    const declaration: unknown = tool.functionDeclarations[0];
    if (isRecord(declaration)) return declaration;
  }
  return null;
}

function converseTool(body: Record<string, unknown>): ToolView | null {
  const config = body.toolConfig;
  if (!isRecord(config) || !Array.isArray(config.tools)) return null;
  for (const tool of config.tools) {
    if (!isRecord(tool) || !isRecord(tool.toolSpec)) continue;
    const spec = tool.toolSpec;
    const schema = isRecord(spec.inputSchema) ? spec.inputSchema.json : undefined;
    return {
      name: typeof spec.name === 'string' ? spec.name : 'tool',
      firstProperty: firstPropertyOf(schema),
    };
  }
  return null;
}

/**
 * The first tool: OpenAI `tools[0].function`, Anthropic `tools[0]` (`input_schema`), Gemini's first
 * `functionDeclarations` entry, Converse `toolConfig.tools[0].toolSpec`; a `tools` entry of another
 * kind is named "tool".
 */
function firstToolOf(body: Record<string, unknown>): ToolView | null {
  const tools = body.tools;
  if (!Array.isArray(tools) || tools.length === 0) return converseTool(body);
  const tool: unknown = tools[0];
  if (!isRecord(tool)) return { name: 'tool', firstProperty: null };
  const fn = tool.function;
  if (isRecord(fn) && typeof fn.name === 'string') {
    return { name: fn.name, firstProperty: firstPropertyOf(fn.parameters) };
  }
  if (typeof tool.name === 'string') {
    return { name: tool.name, firstProperty: firstPropertyOf(tool.input_schema) };
  }
  const declaration = geminiDeclaration(tools);
  if (declaration !== null) {
    return {
      name: typeof declaration.name === 'string' ? declaration.name : 'tool',
      firstProperty: firstPropertyOf(declaration.parameters ?? declaration.parametersJsonSchema),
    };
  }
  return { name: 'tool', firstProperty: null };
}

/**
 * Reasoning is on with OpenAI `reasoning_effort` (any value but "none"), Anthropic `thinking.type:
 * "enabled"`, Gemini `generationConfig.thinkingConfig.includeThoughts: true`, or Converse
 * `additionalModelRequestFields.reasoning_config` (unless its type is "disabled") or
 * `additionalModelRequestFields.thinking.type: "enabled"`.
 */
export function reasoningEnabled(body: Record<string, unknown>): boolean {
  if (typeof body.reasoning_effort === 'string' && body.reasoning_effort !== 'none') return true;
  if (isRecord(body.thinking) && body.thinking.type === 'enabled') return true;
  const generation = body.generationConfig;
  if (isRecord(generation) && isRecord(generation.thinkingConfig)) {
    if (generation.thinkingConfig.includeThoughts === true) return true;
  }
  const extra = body.additionalModelRequestFields;
  if (isRecord(extra)) {
    const config = extra.reasoning_config;
    if (config === true || (isRecord(config) && config.type !== 'disabled')) return true;
    if (isRecord(extra.thinking) && extra.thinking.type === 'enabled') return true;
  }
  return false;
}

function positiveInteger(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : null;
}

/**
 * OpenAI `max_completion_tokens` / `max_tokens`, Anthropic `max_tokens`, Gemini
 * `generationConfig.maxOutputTokens`, Converse `inferenceConfig.maxTokens`.
 */
function maxTokensOf(body: Record<string, unknown>): number | null {
  const direct = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens);
  if (direct !== null) return direct;
  if (isRecord(body.generationConfig)) return positiveInteger(body.generationConfig.maxOutputTokens);
  if (isRecord(body.inferenceConfig)) return positiveInteger(body.inferenceConfig.maxTokens);
  return null;
}

/** Reads a chat body of any supported format; a non-object body reads as an empty conversation. */
export function viewConversation(body: unknown): ConversationView {
  const record = isRecord(body) ? body : {};
  return {
    turns: turnsOf(record),
    system: systemOf(record),
    tool: firstToolOf(record),
    reasoning: reasoningEnabled(record),
    maxTokens: maxTokensOf(record),
  };
}
