import type {
  CanonicalRequest,
  CanonicalResponse,
  CanonicalStreamEvent,
  CanonicalUsage,
  WireFormat,
} from './types.js';

/**
 * One event of an upstream stream after its framing was removed: an SSE event (`event:` name and
 * `data:` text), or one AWS event-stream message (`:event-type` header and JSON payload).
 */
export interface FramedEvent {
  event: string | null;
  data: string;
}

/** What a client request carries outside its body (Gemini puts the model and streaming in the URL). */
export interface ClientRequestContext {
  /** The model named in the URL, when the format puts it there. */
  model?: string;
  /** True for a streaming endpoint (Gemini's `:streamGenerateContent`). */
  stream?: boolean;
}

/** How to render an answer for the client. */
export interface RenderContext {
  /** The model name the client asked for: answers name it, never the upstream's mapped name. */
  model: string;
  /** OpenAI Chat: the client set `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Gemini: `alt=sse` was given (else a stream is one JSON array written incrementally). */
  sse: boolean;
}

/** Renders canonical stream events as the client's wire bytes, event by event, keeping its state. */
export interface StreamEncoder {
  /** The text to write for this event; '' when it produces nothing. */
  push(event: CanonicalStreamEvent): string;
  /**
   * The text that ends the stream with an error in the client's format, after whatever was sent so
   * far (closing open blocks where the format needs it). `err` is usually a GatewayError.
   */
  error(err: unknown): string;
}

/** The client side of a wire format: what the gateway accepts from callers and answers them with. */
export interface ClientCodec {
  readonly format: WireFormat;
  /**
   * Parses a request body (already a JSON object) into the canonical request. Throws an
   * InvalidRequestError (naming the parameter) for anything malformed.
   */
  parseRequest(body: Record<string, unknown>, ctx: ClientRequestContext): CanonicalRequest;
  renderResponse(res: CanonicalResponse, ctx: RenderContext): unknown;
  createStreamEncoder(ctx: RenderContext): StreamEncoder;
  /** Any error as this format's error body and HTTP status; unknown errors become a generic 500. */
  renderError(err: unknown): { status: number; body: unknown };
}

/** Turns a stream of framed upstream events into canonical events, keeping per-stream state. */
export interface StreamDecoder {
  push(event: FramedEvent): CanonicalStreamEvent[];
  /**
   * The upstream body ended. Returns the events still owed (for example a held-back
   * `message_delta`); when the stream ended before its natural end it returns none and
   * `complete` stays false.
   */
  end(): CanonicalStreamEvent[];
  /** True once the upstream signalled the natural end of the answer. */
  readonly complete: boolean;
  /** The latest usage the upstream reported, or null. */
  readonly usage: CanonicalUsage | null;
}

/** The upstream side of a wire format: what the gateway sends providers and reads back. */
export interface UpstreamCodec {
  readonly format: WireFormat;
  /**
   * The upstream body for `req` with `upstreamModel`. Throws an InvalidRequestError for anything
   * the format cannot express that would change the request's meaning (n > 1, an image by URL
   * where only inline data works, ...). Formats that put the model or streaming in the URL leave
   * them out of the body.
   */
  buildRequest(req: CanonicalRequest, upstreamModel: string): Record<string, unknown>;
  /** Parses a successful non-stream answer. Throws an UpstreamError when it is malformed. */
  parseResponse(body: unknown): CanonicalResponse;
  createStreamDecoder(): StreamDecoder;
  /** The human message out of an upstream error body, or null when it has none. */
  errorMessage(body: string): string | null;
  /** The usage out of a non-stream answer, for same-format passthrough; null when absent. */
  usageOf(body: unknown): CanonicalUsage | null;
  /** True when images must be inline base64 (URLs are fetched by the relay through its SSRF guard). */
  readonly needsInlineImages: boolean;
}
