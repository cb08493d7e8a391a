import type { MockFaults } from './mock-faults.js';
import type { ResponseContext } from './response-context.js';

/** What a route handler gets: the response, the parsed JSON body ({} when none) and the faults. */
export interface RouteRequest {
  ctx: ResponseContext;
  body: Record<string, unknown>;
  faults: MockFaults;
  /** Content chunks per stream unless the body says otherwise. */
  defaultChunks: number;
  /** Next number of the instance's response id sequence. */
  nextId(): number;
}

/** Unix time in seconds, as the `created` fields use. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
