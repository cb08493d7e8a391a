import { invalid, requireArgumentsObject } from '../../canonical/json-fields.js';
import type {
  CanonicalMessage,
  CanonicalPart,
  CanonicalRequest,
  ImagePart,
  ToolResultPart,
} from '../../canonical/types.js';
import type {
  ConverseContentBlock,
  ConverseImageBlock,
  ConverseImageFormat,
  ConverseMessage,
  ConverseRequestBody,
  ConverseToolChoice,
  ConverseToolResultContent,
} from './types.js';

const IMAGE_FORMATS: Readonly<Record<string, ConverseImageFormat>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * The Converse body for `req` (the model goes in the URL). Consecutive same-role turns merge;
 * images must be inline (the relay inlines URLs first) in a format Converse takes; reasoning goes
 * back only with its signature (`reasoningText`) or as `redactedContent`. `top_k` goes in
 * `additionalModelRequestFields` (the field name the models on Converse read). Reasoning settings
 * are not sent: their fields differ per model family, and Anthropic models, whose
 * `reasoning_config` is documented, go through InvokeModel instead. Converse has no JSON mode, so a
 * response format is a 400; so is tool choice `none` in a conversation that has tool calls or
 * results, since Converse refuses those without a tool configuration.
 */
export function buildConverseRequest(req: CanonicalRequest): ConverseRequestBody {
  if (req.n > 1) throw invalid('n', 'Bedrock Converse returns one answer.');
  if (req.responseFormat !== null && req.responseFormat.type !== 'text') {
    throw invalid('response_format', 'Bedrock Converse has no JSON mode.');
  }
  const body: ConverseRequestBody = { messages: buildMessages(req.messages) };
  if (req.system !== null && req.system !== '') body.system = [{ text: req.system }];
  const inference: NonNullable<ConverseRequestBody['inferenceConfig']> = {};
  if (req.maxTokens !== null) inference.maxTokens = req.maxTokens;
  if (req.temperature !== null) inference.temperature = req.temperature;
  if (req.topP !== null) inference.topP = req.topP;
  if (req.stop.length > 0) inference.stopSequences = req.stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  const toolConfig = buildToolConfig(req);
  if (toolConfig !== null) body.toolConfig = toolConfig;
  if (req.topK !== null) body.additionalModelRequestFields = { top_k: req.topK };
  return body;
}

function buildToolConfig(req: CanonicalRequest): ConverseRequestBody['toolConfig'] | null {
  if (req.tools.length === 0) return null;
  const choice = req.toolChoice;
  if (choice?.type === 'none') {
    const usesTools = req.messages.some((m) =>
      m.content.some((p) => p.type === 'tool_call' || p.type === 'tool_result'),
    );
    if (usesTools) {
      throw invalid(
        'tool_choice',
        "Bedrock Converse cannot turn tools off ('none') in a conversation with tool calls.",
      );
    }
    return null;
  }
  const tools = req.tools.map((t) => ({
    toolSpec: {
      name: t.name,
      ...(t.description === null || t.description === '' ? {} : { description: t.description }),
      inputSchema: { json: t.parameters },
    },
  }));
  let toolChoice: ConverseToolChoice | null = null;
  if (choice?.type === 'auto') toolChoice = { auto: {} };
  if (choice?.type === 'required') toolChoice = { any: {} };
  if (choice?.type === 'tool') toolChoice = { tool: { name: choice.name } };
  return toolChoice === null ? { tools } : { tools, toolChoice };
}

function buildMessages(messages: readonly CanonicalMessage[]): ConverseMessage[] {
  const out: ConverseMessage[] = [];
  messages.forEach((m, i) => {
    const content = m.content.flatMap((p) => block(p, `messages[${i}]`));
    if (content.length === 0) return;
    const last = out.at(-1);
    if (last?.role === m.role) last.content.push(...content);
    else out.push({ role: m.role, content });
  });
  return out;
}

function block(p: CanonicalPart, param: string): ConverseContentBlock[] {
  switch (p.type) {
    case 'text':
      // Converse refuses blank text blocks.
      return p.text === '' ? [] : [{ text: p.text }];
    case 'image':
      return [image(p, param)];
    case 'tool_call':
      return [
        { toolUse: { toolUseId: p.id, name: p.name, input: requireArgumentsObject(p.arguments, param) } },
      ];
    case 'tool_result':
      return [toolResult(p, param)];
    case 'thinking':
      return p.signature === null || p.text === ''
        ? []
        : [{ reasoningContent: { reasoningText: { text: p.text, signature: p.signature } } }];
    case 'redacted_thinking':
      return [{ reasoningContent: { redactedContent: p.data } }];
  }
}

function toolResult(p: ToolResultPart, param: string): ConverseContentBlock {
  const content: ConverseToolResultContent[] = p.content.flatMap((c): ConverseToolResultContent[] => {
    if (c.type === 'image') return [image(c, param)];
    return c.text === '' ? [] : [{ text: c.text }];
  });
  return { toolResult: { toolUseId: p.toolCallId, content, status: p.isError ? 'error' : 'success' } };
}

function image(p: ImagePart, param: string): ConverseImageBlock {
  if (p.source.kind !== 'base64') {
    throw invalid(param, 'Bedrock Converse takes images inline only; an image URL reached the request.');
  }
  const format = IMAGE_FORMATS[p.source.mediaType.toLowerCase()];
  if (format === undefined) {
    throw invalid(param, `Bedrock Converse takes png, jpeg, gif and webp images, not ${p.source.mediaType}.`);
  }
  return { image: { format, source: { bytes: p.source.data } } };
}
