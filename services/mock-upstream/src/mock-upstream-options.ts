import type { MockFaults } from './mock-faults.js';

export interface MockUpstreamOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Initial per-instance faults. */
  faults?: MockFaults;
  /** Content chunks per stream (a request's numeric body field `mock_chunks` overrides it); default 5. */
  chunks?: number;
  /** Sent back as the `x-mock-upstream` response header, to tell several mocks apart. */
  name?: string;
  /** When set, requests must present this key as `Authorization: Bearer <key>` or `x-api-key`, else 401. */
  requireKey?: string;
  /**
   * Most recorded requests kept (oldest dropped first), so a long benchmark does not grow memory
   * without bound; default 10,000.
   */
  maxRecordedRequests?: number;
}
