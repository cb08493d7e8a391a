/** One request the mock received (control routes under `/_mock/` are not recorded). */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query parameters, when the URL had any (a repeated name keeps its last value). */
  query?: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (the form fields for `POST /token`), or null when the body was empty or not JSON. */
  body: unknown;
  /** True when the client closed the connection before the response was finished. */
  aborted: boolean;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
  /** The access key id of a request whose AWS Signature V4 verified (Bedrock with `awsCredentials`). */
  awsAccessKeyId?: string;
}
