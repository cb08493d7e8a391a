/**
 * RFC 3986 percent-encoding of one path segment or query component: everything but the unreserved
 * characters `A-Z a-z 0-9 - . _ ~` (encodeURIComponent also leaves `!'()*` alone).
 */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A model name as one path segment, `@` kept (Vertex's documented `claude-...@20250929` form). */
export function modelSegment(model: string): string {
  return encodeRfc3986(model).replace(/%40/g, '@');
}
