import { describe, expect, it } from 'vitest';
import { WIRE_FORMATS } from '../canonical/types.js';
import { prefixSystemPrompt } from './system-prompt-prefix.js';

const PREFIX = "You are Claude Code, Anthropic's official CLI for Claude.";

function prefixed(format: Parameters<typeof prefixSystemPrompt>[0], body: Record<string, unknown>) {
  const copy = structuredClone(body);
  prefixSystemPrompt(format, copy, PREFIX);
  return copy;
}

describe('prefixSystemPrompt, anthropic-messages', () => {
  it('when system is a string, then the prefix becomes its own first text block before it', () => {
    expect(prefixed('anthropic-messages', { system: 'Be terse.', messages: [] })).toEqual({
      system: [
        { type: 'text', text: PREFIX },
        { type: 'text', text: 'Be terse.' },
      ],
      messages: [],
    });
  });

  it('when system is absent or empty, then it is just the prefix block', () => {
    expect(prefixed('anthropic-messages', { messages: [] }).system).toEqual([{ type: 'text', text: PREFIX }]);
    expect(prefixed('anthropic-messages', { system: '' }).system).toEqual([{ type: 'text', text: PREFIX }]);
  });

  it('when system is blocks, then the prefix block goes first and the others keep their cache_control', () => {
    const system = [{ type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } }];
    expect(prefixed('anthropic-messages', { system }).system).toEqual([
      { type: 'text', text: PREFIX },
      { type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } },
    ]);
  });

  it('when the prefix already leads (as a block or glued to the text), then the first block is exactly the prefix', () => {
    const once = prefixed('anthropic-messages', { system: 'Be terse.' });
    expect(prefixed('anthropic-messages', once)).toEqual(once);
    expect(prefixed('anthropic-messages', { system: `${PREFIX}\nBe terse.` }).system).toEqual([
      { type: 'text', text: PREFIX },
      { type: 'text', text: 'Be terse.' },
    ]);
    expect(
      prefixed('anthropic-messages', { system: [{ type: 'text', text: `${PREFIX} Rules.` }] }).system,
    ).toEqual([
      { type: 'text', text: PREFIX },
      { type: 'text', text: 'Rules.' },
    ]);
  });
});

describe('prefixSystemPrompt, openai-chat', () => {
  it('when there is a system message, then its text starts with the prefix; a developer message counts too', () => {
    const body = {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'system', content: 'Be terse.' },
      ],
    };
    expect(prefixed('openai-chat', body).messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'system', content: `${PREFIX}\n\nBe terse.` },
    ]);
    const developer = { messages: [{ role: 'developer', content: [{ type: 'text', text: 'Rules.' }] }] };
    expect(prefixed('openai-chat', developer).messages).toEqual([
      {
        role: 'developer',
        content: [
          { type: 'text', text: PREFIX },
          { type: 'text', text: 'Rules.' },
        ],
      },
    ]);
  });

  it('when there is no system message, then one with the prefix is inserted first', () => {
    expect(prefixed('openai-chat', { messages: [{ role: 'user', content: 'hi' }] }).messages).toEqual([
      { role: 'system', content: PREFIX },
      { role: 'user', content: 'hi' },
    ]);
  });
});

describe('prefixSystemPrompt, openai-responses, gemini and bedrock-converse', () => {
  it('when instructions are set or absent, then they start with the prefix', () => {
    expect(prefixed('openai-responses', { instructions: 'Be terse.' }).instructions).toBe(
      `${PREFIX}\n\nBe terse.`,
    );
    expect(prefixed('openai-responses', { input: 'hi' }).instructions).toBe(PREFIX);
  });

  it('when Gemini has a systemInstruction (either spelling), then the prefix is its first part', () => {
    expect(prefixed('gemini', { systemInstruction: { parts: [{ text: 'Be terse.' }] } })).toEqual({
      systemInstruction: { parts: [{ text: PREFIX }, { text: 'Be terse.' }] },
    });
    expect(prefixed('gemini', { system_instruction: { role: 'system', parts: [{ text: 'x' }] } })).toEqual({
      system_instruction: { role: 'system', parts: [{ text: PREFIX }, { text: 'x' }] },
    });
    expect(prefixed('gemini', { contents: [] })).toEqual({
      contents: [],
      systemInstruction: { parts: [{ text: PREFIX }] },
    });
  });

  it('when Bedrock Converse has system blocks, then the prefix block goes first', () => {
    expect(prefixed('bedrock-converse', { system: [{ text: 'Be terse.' }] }).system).toEqual([
      { text: PREFIX },
      { text: 'Be terse.' },
    ]);
  });

  it('when applied twice in any format, then the second time changes nothing', () => {
    const bodies: Record<(typeof WIRE_FORMATS)[number], Record<string, unknown>> = {
      'anthropic-messages': { system: 'Be terse.' },
      'openai-chat': { messages: [{ role: 'system', content: 'Be terse.' }] },
      'openai-responses': { instructions: 'Be terse.' },
      gemini: { systemInstruction: { parts: [{ text: 'Be terse.' }] } },
      'bedrock-converse': { system: [{ text: 'Be terse.' }] },
    };
    for (const format of WIRE_FORMATS) {
      const once = prefixed(format, bodies[format]);
      expect(once, format).not.toEqual(bodies[format]);
      expect(prefixed(format, once), format).toEqual(once);
    }
  });
});
