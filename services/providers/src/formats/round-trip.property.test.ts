import { describe, expect, it } from 'vitest';
import type { CanonicalMessage, CanonicalPart, CanonicalRequest } from '../canonical/types.js';
import { anthropicClientCodec, anthropicUpstreamCodec } from './anthropic-messages/index.js';
import { openaiChatClientCodec, openaiChatUpstreamCodec } from './openai-chat/index.js';

/**
 * Property: a random valid OpenAI Chat request survives OpenAI → canonical → Anthropic → canonical →
 * OpenAI → canonical with its meaning intact (system prompt, turns, texts, images, tools, tool
 * choice, tool calls and results, stop sequences, sampling, max tokens, reasoning effort).
 * The only allowed difference is the one Anthropic's format imposes: consecutive turns of the same
 * role are merged, so both sides are compared with same-role turns merged.
 */

/** mulberry32: seeded, so a failing case can be replayed from the seed in the test name. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'alpha',
  'beta',
  'gamma',
  'naïve',
  '日本語',
  'emoji 🚀',
  'quote "x"',
  'line\nbreak',
  'tab\tsep',
];

class Gen {
  constructor(readonly r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  text(): string {
    return Array.from({ length: this.int(1, 5) }, () => this.pick(WORDS)).join(' ');
  }
}

const IMAGE_B64 = Buffer.from('89504e470d0a1a0a0000000d494844520000000100000001', 'hex').toString('base64');

/** A random, valid OpenAI Chat Completions request that Anthropic can express. */
function randomRequest(g: Gen): Record<string, unknown> {
  const tools = Array.from({ length: g.int(0, 3) }, (_, i) => ({
    type: 'function',
    function: {
      name: `tool_${i}`,
      description: g.chance(0.7) ? g.text() : undefined,
      parameters: {
        type: 'object',
        properties: { [`arg${i}`]: { type: g.pick(['string', 'number', 'boolean']) } },
        required: g.chance(0.5) ? [`arg${i}`] : [],
      },
    },
  }));
  const messages: Array<Record<string, unknown>> = [];
  if (g.chance(0.6)) messages.push({ role: 'system', content: g.text() });
  let callN = 0;
  const turns = g.int(1, 4);
  for (let t = 0; t < turns; t++) {
    const userParts: Array<Record<string, unknown>> = [{ type: 'text', text: g.text() }];
    if (g.chance(0.3)) {
      userParts.push({
        type: 'image_url',
        image_url: {
          url: g.chance(0.5) ? `data:image/png;base64,${IMAGE_B64}` : `https://example.com/img/${t}.png`,
        },
      });
    }
    messages.push({
      role: 'user',
      content: g.chance(0.5) && userParts.length === 1 ? userParts[0]!.text : userParts,
    });
    if (t === turns - 1) break;
    if (tools.length > 0 && g.chance(0.5)) {
      const calls = Array.from({ length: g.int(1, 2) }, () => {
        const tool = g.pick(tools);
        const argName = Object.keys(tool.function.parameters.properties)[0]!;
        return {
          id: `call_${callN++}`,
          type: 'function',
          function: { name: tool.function.name, arguments: JSON.stringify({ [argName]: g.text() }) },
        };
      });
      messages.push({ role: 'assistant', content: g.chance(0.5) ? g.text() : null, tool_calls: calls });
      for (const c of calls) messages.push({ role: 'tool', tool_call_id: c.id, content: g.text() });
    } else {
      messages.push({ role: 'assistant', content: g.text() });
    }
  }
  const body: Record<string, unknown> = { model: 'gpt-4o', messages };
  // Anthropic cannot force tool use while thinking, nor sample with thinking on: not generated together.
  const reasoning = g.chance(0.3);
  if (tools.length > 0) {
    body.tools = tools;
    if (g.chance(0.5)) {
      body.tool_choice = g.pick<unknown>(
        reasoning
          ? ['auto', 'none']
          : ['auto', 'none', 'required', { type: 'function', function: { name: tools[0]!.function.name } }],
      );
    }
    if (g.chance(0.3) && body.tool_choice !== 'none') body.parallel_tool_calls = false;
  }
  if (reasoning) {
    body.reasoning_effort = g.pick(['low', 'medium', 'high']);
    body.max_completion_tokens = 30_000;
  } else {
    if (g.chance(0.5)) body.temperature = g.int(0, 10) / 10;
    if (g.chance(0.5)) body.top_p = g.int(1, 10) / 10;
    if (g.chance(0.7)) body.max_tokens = g.int(1, 4096);
  }
  if (g.chance(0.4)) body.stop = g.chance(0.5) ? 'STOP' : ['END', 'Human:'];
  if (g.chance(0.3)) body.stream = true;
  if (g.chance(0.2)) body.user = 'user-123';
  return body;
}

/** Consecutive turns of one role merged (Anthropic requires alternation), text parts merged too. */
function normalize(req: CanonicalRequest): CanonicalRequest {
  const messages: CanonicalMessage[] = [];
  for (const m of req.messages) {
    const prev = messages.at(-1);
    if (prev !== undefined && prev.role === m.role) prev.content = [...prev.content, ...m.content];
    else messages.push({ role: m.role, content: [...m.content] });
  }
  for (const m of messages) m.content = m.content.map(normalizePart);
  // Effort and budget are two spellings of one setting (CONVERSION.md's mapping): compare the effort.
  const reasoning =
    req.reasoning === null
      ? null
      : {
          enabled: req.reasoning.enabled,
          effort: req.reasoning.effort ?? effortOf(req.reasoning.budgetTokens),
          budgetTokens: null,
        };
  // With tools offered, no tool_choice means "auto" in both formats.
  const toolChoice = req.toolChoice ?? (req.tools.length > 0 ? { type: 'auto' as const } : null);
  return { ...req, model: 'x', messages, reasoning, toolChoice };
}

function effortOf(budget: number | null): 'minimal' | 'low' | 'medium' | 'high' | null {
  if (budget === null) return null;
  return budget <= 1024 ? 'minimal' : budget <= 4096 ? 'low' : budget <= 16384 ? 'medium' : 'high';
}

function normalizePart(p: CanonicalPart): CanonicalPart {
  if (p.type === 'tool_call') return { ...p, arguments: JSON.stringify(JSON.parse(p.arguments)) };
  if (p.type === 'tool_result') return { ...p, name: null };
  return p;
}

describe('OpenAI → canonical → Anthropic → canonical → OpenAI', () => {
  const SEEDS = Array.from({ length: 300 }, (_, i) => 1000 + i);

  it.each(SEEDS)('when random request #%i makes the round trip, then its meaning is intact', (seed) => {
    const body = randomRequest(new Gen(prng(seed)));
    const first = openaiChatClientCodec.parseRequest(structuredClone(body), {});
    const anthropicBody = anthropicUpstreamCodec.buildRequest(first, 'claude-sonnet-4-5');
    const middle = anthropicClientCodec.parseRequest(JSON.parse(JSON.stringify(anthropicBody)), {});
    const openaiBody = openaiChatUpstreamCodec.buildRequest(middle, 'gpt-4o');
    const last = openaiChatClientCodec.parseRequest(JSON.parse(JSON.stringify(openaiBody)), {});

    const want = normalize(first);
    // Anthropic requires max_tokens: a request without one comes back with the gateway's default.
    const got = normalize({ ...last, maxTokens: first.maxTokens === null ? null : last.maxTokens });
    expect(got).toEqual(want);
    expect(normalize({ ...middle, maxTokens: want.maxTokens })).toEqual(want);
  });
});
