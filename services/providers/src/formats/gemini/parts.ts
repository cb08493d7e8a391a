import type { JsonObject } from '../../canonical/json-fields.js';
import type { CanonicalPart, ImagePart, ToolResultPart } from '../../canonical/types.js';
import type { GeminiPart } from './types.js';

/**
 * Thought signatures. Gemini puts a `thoughtSignature` on a thought part (the signature of that
 * reasoning) or on a text or functionCall part (the signature of the reasoning that led to it; Gemini
 * 3 rejects a function-calling history whose first functionCall lost it). Canonically the first is a
 * thinking part with that signature; the second is a thinking part with empty text and the signature,
 * placed right before the part it came on. Writing Gemini parts reverses this, so a signature goes
 * back on the part it arrived on.
 */

/** Appends a thought part; it extends the thinking part just before it while that one is unsigned. */
export function appendThought(out: CanonicalPart[], text: string, signature: string | null): void {
  const last = out.at(-1);
  if (last?.type === 'thinking' && last.signature === null) {
    last.text += text;
    last.signature = signature;
    return;
  }
  out.push({ type: 'thinking', text, signature });
}

/** Appends the canonical form of a signature Gemini put on a text or functionCall part. */
export function appendPartSignature(out: CanonicalPart[], signature: string): void {
  out.push({ type: 'thinking', text: '', signature });
}

/** How canonical parts become Gemini parts on one side. */
export interface GeminiPartWriter {
  /**
   * `client` (an answer to a Gemini caller): functionCall parts carry the call id, and thinking
   * without a signature is shown. `upstream` (a request to Gemini): no ids (Gemini matches calls by
   * name), and unsigned thinking is dropped (Gemini takes its reasoning back only with a signature).
   */
  side: 'client' | 'upstream';
  /** Tool-call arguments as Gemini's `args` object. */
  args(json: string): JsonObject;
  /** Parts for the canonical parts that are not model output. */
  other(part: ImagePart | ToolResultPart): GeminiPart[];
}

/**
 * Canonical parts as Gemini parts. A signature-only thinking part goes onto the text or functionCall
 * part after it; with no such part next it becomes a thought part of its own in a client answer and
 * is dropped upstream (only a functionCall needs it there, and Gemini refuses empty text parts).
 * Empty text and Anthropic's redacted thinking have no Gemini form.
 */
export function toGeminiParts(content: readonly CanonicalPart[], writer: GeminiPartWriter): GeminiPart[] {
  const client = writer.side === 'client';
  const parts: GeminiPart[] = [];
  let pending: string | null = null;
  const flush = (): void => {
    if (pending !== null && client) parts.push({ text: '', thought: true, thoughtSignature: pending });
    pending = null;
  };
  const signed = (part: GeminiPart): GeminiPart => {
    if (pending !== null) part.thoughtSignature = pending;
    pending = null;
    return part;
  };
  for (const p of content) {
    switch (p.type) {
      case 'thinking':
        flush();
        if (p.text === '') {
          pending = p.signature;
        } else if (p.signature !== null || client) {
          const part: GeminiPart = { text: p.text, thought: true };
          if (p.signature !== null) part.thoughtSignature = p.signature;
          parts.push(part);
        }
        break;
      case 'text':
        if (p.text !== '') parts.push(signed({ text: p.text }));
        break;
      case 'tool_call': {
        const args = writer.args(p.arguments);
        parts.push(
          signed({ functionCall: client ? { name: p.name, args, id: p.id } : { name: p.name, args } }),
        );
        break;
      }
      case 'redacted_thinking':
        break;
      default:
        flush();
        parts.push(...writer.other(p));
    }
  }
  flush();
  return parts;
}
