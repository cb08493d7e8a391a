import type { MockFaults } from './mock-faults.js';
import type { ResponseContext } from './response-context.js';

/** What a route handler gets: the response, the parsed JSON body ({} when none) and the faults. */
export interface RouteRequest {
  ctx: ResponseContext;
  body: Record<string, unknown>;
  faults: MockFaults;
  /** Content chunks per stream unless the body says otherwise. */
  defaultChunks: number;
  /** Cached prompt tokens to report (header `x-mock-cached-tokens`, else the instance's `cachedTokens`). */
  cachedTokens: number;
  /** The OpenAI chat route reports no usage (as some OpenAI-compatible hosts do): instance `omitUsage`. */
  omitUsage: boolean;
  /** The query string's parameters. */
  query: URLSearchParams;
  /** Next number of the instance's response id sequence. */
  nextId(): number;
}

/** Unix time in seconds, as the `created` fields use. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Waits the `firstByteDelayMs` fault (non-stream answers); false when the client left meanwhile. */
export function awaitFirstByte(r: RouteRequest): Promise<boolean> {
  return r.ctx.sleep(r.faults.firstByteDelayMs ?? 0);
}
