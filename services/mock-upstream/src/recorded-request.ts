/** One request the mock received (control routes under `/_mock/` are not recorded). */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null when the body was empty or not JSON. */
  body: unknown;
  /** True when the client closed the connection before the response was finished. */
  aborted: boolean;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
}
