import type { IncomingHttpHeaders } from 'node:http';

/**
 * Faults the mock applies to a response. Every field is optional; an absent field means "no fault".
 *
 * Sources, later ones winning field by field: the instance faults (constructor option, `setFaults`,
 * `POST /_mock/faults`), then the request headers (`x-mock-*`), then the JSON body field `mock`.
 * A per-request value can switch an instance fault off again: `status` below 400, `hang: false`,
 * delays of 0 and a negative `cutAfterChunks` all mean "no fault".
 */
export interface MockFaults {
  /** Respond with this HTTP status (>= 400) and an error body in the route's wire shape; 429 adds `retry-after: 1`. */
  status?: number;
  /** Delay before the response headers. */
  latencyMs?: number;
  /** Streams: send the headers at once, then wait this long before the first SSE event. Non-stream: added to `latencyMs`. */
  firstByteDelayMs?: number;
  /** Streams: close the connection after this many content chunks (no `[DONE]`, no usage). Negative: off. */
  cutAfterChunks?: number;
  /** Never respond; the socket stays open until the client goes away (or the mock closes). */
  hang?: boolean;
  /** Streams: delay between two SSE events. */
  chunkDelayMs?: number;
  /** With `status` 429 or 503/529: the `retry-after` header in seconds (default 1 for 429, none otherwise). */
  retryAfterSeconds?: number;
}

type FaultKey = keyof MockFaults;

const NUMERIC_FAULTS: readonly Exclude<FaultKey, 'hang'>[] = [
  'status',
  'latencyMs',
  'firstByteDelayMs',
  'cutAfterChunks',
  'chunkDelayMs',
  'retryAfterSeconds',
];

const HEADER_OF: Readonly<Record<FaultKey, string>> = {
  status: 'x-mock-status',
  latencyMs: 'x-mock-latency-ms',
  firstByteDelayMs: 'x-mock-first-byte-delay-ms',
  cutAfterChunks: 'x-mock-cut-after',
  hang: 'x-mock-hang',
  chunkDelayMs: 'x-mock-chunk-delay-ms',
  retryAfterSeconds: 'x-mock-retry-after',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validNumber(key: FaultKey, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (key === 'status') return Number.isInteger(value) && value >= 100 && value <= 599;
  if (key === 'cutAfterChunks') return Number.isInteger(value);
  return value >= 0;
}

function invalid(key: FaultKey, value: unknown): Error {
  return new Error(`invalid mock fault ${key}: ${JSON.stringify(value)}`);
}

/**
 * Validates a faults object (as given to `setFaults` or `POST /_mock/faults`). `strict` throws on an
 * unknown key or a value of the wrong type; otherwise such fields are dropped.
 */
export function parseMockFaults(value: unknown, strict: boolean): MockFaults | null {
  if (value === null || value === undefined) return null;
  if (!isRecord(value)) {
    if (strict) throw new Error('mock faults must be a JSON object or null');
    return null;
  }
  const faults: MockFaults = {};
  for (const key of NUMERIC_FAULTS) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'number' && validNumber(key, v)) faults[key] = v;
    else if (strict) throw invalid(key, v);
  }
  const hang = value.hang;
  if (typeof hang === 'boolean') faults.hang = hang;
  else if (hang !== undefined && hang !== null && strict) throw invalid('hang', hang);
  if (strict) {
    for (const key of Object.keys(value)) {
      if (!(key in HEADER_OF)) throw new Error(`unknown mock fault ${key}`);
    }
  }
  return faults;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Faults requested through `x-mock-*` headers; null when the request carries none (the common case). */
export function faultsFromHeaders(headers: IncomingHttpHeaders): MockFaults | null {
  let faults: MockFaults | null = null;
  for (const key of NUMERIC_FAULTS) {
    const raw = headerValue(headers, HEADER_OF[key]);
    if (raw === undefined || raw.trim() === '') continue;
    const v = Number(raw);
    if (validNumber(key, v)) (faults ??= {})[key] = v;
  }
  const hang = headerValue(headers, HEADER_OF.hang)?.trim().toLowerCase();
  if (hang === '1' || hang === 'true' || hang === 'yes') (faults ??= {}).hang = true;
  else if (hang === '0' || hang === 'false' || hang === 'no') (faults ??= {}).hang = false;
  return faults;
}

/** Faults requested through the JSON body field `mock`; invalid fields are ignored. */
export function faultsFromBody(body: unknown): MockFaults | null {
  return isRecord(body) ? parseMockFaults(body.mock, false) : null;
}

/** The faults for one request: instance, then headers, then body, merged field by field. */
export function resolveFaults(
  instance: MockFaults | null,
  headers: IncomingHttpHeaders,
  body: unknown,
): MockFaults {
  const fromHeaders = faultsFromHeaders(headers);
  const fromBody = faultsFromBody(body);
  if (fromHeaders === null && fromBody === null) return instance ?? {};
  return { ...instance, ...fromHeaders, ...fromBody };
}
