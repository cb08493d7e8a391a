import type { WireFormat } from '../canonical/types.js';

/** Between the prefix and a system prompt it is joined to as text (formats with one system string). */
const SEPARATOR = '\n\n';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(block: unknown, key: string): string | undefined {
  return isRecord(block) && typeof block[key] === 'string' ? block[key] : undefined;
}

/** `prefix` before `text` in one string: unchanged when it already starts with the prefix. */
function joined(prefix: string, text: unknown): string {
  if (typeof text !== 'string' || text === '') return prefix;
  return text.startsWith(prefix) ? text : `${prefix}${SEPARATOR}${text}`;
}

/**
 * Puts `prefix` before the system prompt of a request body in `format`, in place. Idempotent: a body
 * whose system prompt already starts with the prefix is left as it is.
 *
 * - anthropic-messages: the prefix becomes the FIRST `system` text block of its own, exactly (Claude
 *   Code's OAuth clients must send it so); a string `system` becomes blocks, and a string or first
 *   block that starts with the prefix is split so the first block is the prefix alone.
 * - openai-chat: the first `system` or `developer` message gets it (text content joined, parts get a
 *   first text part); without one, a system message is inserted first.
 * - openai-responses: `instructions`.
 * - gemini: a first part of `systemInstruction` (or `system_instruction`) of its own.
 * - bedrock-converse: a first `system` text block of its own.
 */
export function prefixSystemPrompt(format: WireFormat, body: Record<string, unknown>, prefix: string): void {
  if (prefix === '') return;
  switch (format) {
    case 'anthropic-messages':
      body.system = anthropicSystem(body.system, prefix);
      return;
    case 'openai-chat':
      prefixChatMessages(body, prefix);
      return;
    case 'openai-responses':
      body.instructions = joined(prefix, body.instructions);
      return;
    case 'gemini':
      prefixGemini(body, prefix);
      return;
    case 'bedrock-converse':
      body.system = prefixedBlocks(body.system, prefix, 'text', {});
      return;
  }
}

function anthropicSystem(system: unknown, prefix: string): unknown[] {
  const block = { type: 'text' } as const;
  if (typeof system === 'string') {
    if (system === '' || system === prefix) return [{ ...block, text: prefix }];
    const rest = system.startsWith(prefix) ? system.slice(prefix.length).trimStart() : system;
    return rest === ''
      ? [{ ...block, text: prefix }]
      : [
          { ...block, text: prefix },
          { ...block, text: rest },
        ];
  }
  return prefixedBlocks(system, prefix, 'text', block);
}

/**
 * Blocks whose first is `{...extra, [key]: prefix}` exactly: unchanged when it already is; a first
 * block that starts with the prefix and goes on keeps the rest (and its other fields, e.g. caching).
 */
function prefixedBlocks(blocks: unknown, prefix: string, key: string, extra: Json): unknown[] {
  const list = Array.isArray(blocks) ? [...(blocks as unknown[])] : [];
  const own = { ...extra, [key]: prefix };
  const first = list[0];
  const text = textOf(first, key);
  if (text === prefix) return list;
  if (text !== undefined && isRecord(first) && text.startsWith(prefix)) {
    const rest = text.slice(prefix.length).trimStart();
    return rest === '' ? [own, ...list.slice(1)] : [own, { ...first, [key]: rest }, ...list.slice(1)];
  }
  return [own, ...list];
}

function prefixChatMessages(body: Json, prefix: string): void {
  const messages = Array.isArray(body.messages) ? [...(body.messages as unknown[])] : [];
  const index = messages.findIndex((m) => isRecord(m) && (m.role === 'system' || m.role === 'developer'));
  const message = messages[index];
  if (index === -1 || !isRecord(message)) {
    body.messages = [{ role: 'system', content: prefix }, ...messages];
    return;
  }
  const content = message.content;
  if (Array.isArray(content)) {
    const first = textOf(content[0], 'text');
    if (first === undefined || !first.startsWith(prefix)) {
      messages[index] = { ...message, content: [{ type: 'text', text: prefix }, ...(content as unknown[])] };
    }
  } else {
    messages[index] = { ...message, content: joined(prefix, content) };
  }
  body.messages = messages;
}

function prefixGemini(body: Json, prefix: string): void {
  const key =
    !('systemInstruction' in body) && 'system_instruction' in body
      ? 'system_instruction'
      : 'systemInstruction';
  const instruction = body[key];
  if (typeof instruction === 'string') {
    body[key] = {
      parts: prefixedBlocks(instruction === '' ? [] : [{ text: instruction }], prefix, 'text', {}),
    };
    return;
  }
  const current = isRecord(instruction) ? instruction : {};
  body[key] = { ...current, parts: prefixedBlocks(current.parts, prefix, 'text', {}) };
}
