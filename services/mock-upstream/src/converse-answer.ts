import type { ExpectedCompletion } from './deterministic-completion.js';
import { anthropicStopReason, converseUsage } from './expected-wire-fields.js';

/** The answer's identity and the usage knobs, as the Converse routes fill them. */
export interface ConverseAnswerOptions {
  toolUseId: string;
  cachedTokens: number;
}

/** One ConverseStream event: its `:event-type`, JSON payload and whether `cutAfterChunks` counts it. */
export interface ConverseStreamEvent {
  eventType: string;
  payload: Record<string, unknown>;
  content: boolean;
}

/** The mock answers at once; Converse's `metrics.latencyMs` reports that as 0. */
const METRICS = { latencyMs: 0 } as const;

function toolInput(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

/** The whole Converse answer: output.message.content = reasoningContent?, then text or toolUse. */
export function converseResponse(
  exp: ExpectedCompletion,
  opts: ConverseAnswerOptions,
): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (exp.reasoning) {
    content.push({
      reasoningContent: { reasoningText: { text: exp.reasoning.text, signature: exp.reasoning.signature } },
    });
  }
  if (exp.toolCall) {
    content.push({
      toolUse: {
        toolUseId: opts.toolUseId,
        name: exp.toolCall.name,
        input: toolInput(exp.toolCall.arguments),
      },
    });
  } else {
    content.push({ text: exp.content });
  }
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: anthropicStopReason(exp),
    usage: converseUsage(exp, opts.cachedTokens),
    metrics: METRICS,
  };
}

/**
 * The ConverseStream sequence: messageStart; per block contentBlockStart (toolUse only), deltas
 * (reasoningContent text pieces then its signature, text pieces, toolUse.input pieces),
 * contentBlockStop; messageStop {stopReason}; metadata {usage, metrics}.
 */
export function converseStreamEvents(
  exp: ExpectedCompletion,
  opts: ConverseAnswerOptions,
): ConverseStreamEvent[] {
  const events: ConverseStreamEvent[] = [
    { eventType: 'messageStart', payload: { role: 'assistant' }, content: false },
  ];
  let index = 0;
  const delta = (body: Record<string, unknown>, content: boolean): void => {
    events.push({
      eventType: 'contentBlockDelta',
      payload: { contentBlockIndex: index, delta: body },
      content,
    });
  };
  const stop = (): void => {
    events.push({ eventType: 'contentBlockStop', payload: { contentBlockIndex: index }, content: false });
    index++;
  };
  if (exp.reasoning) {
    for (const text of exp.reasoning.chunks) delta({ reasoningContent: { text } }, true);
    delta({ reasoningContent: { signature: exp.reasoning.signature } }, false);
    stop();
  }
  if (exp.toolCall) {
    events.push({
      eventType: 'contentBlockStart',
      payload: {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: opts.toolUseId, name: exp.toolCall.name } },
      },
      content: false,
    });
    for (const input of exp.toolArgumentChunks) delta({ toolUse: { input } }, true);
  } else {
    for (const text of exp.chunks) delta({ text }, true);
  }
  stop();
  events.push(
    { eventType: 'messageStop', payload: { stopReason: anthropicStopReason(exp) }, content: false },
    {
      eventType: 'metadata',
      payload: { usage: converseUsage(exp, opts.cachedTokens), metrics: METRICS },
      content: false,
    },
  );
  return events;
}
