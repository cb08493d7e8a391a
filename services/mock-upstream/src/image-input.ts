/** An image in a request: inline (media type and decoded size known) or by reference (both null). */
export interface ImageInput {
  /** The media type of inline data; null for an image given by URL / file URI / S3 location. */
  mediaType: string | null;
  /** Decoded size of inline data in bytes; null for an image given by reference. */
  bytes: number | null;
}

const BY_REFERENCE: ImageInput = { mediaType: null, bytes: null };

/** `scheme:...`: a reference that is not an absolute URL (say "x") is no image at all. */
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base64Bytes(data: unknown): number {
  return typeof data === 'string' ? Buffer.from(data, 'base64').length : 0;
}

function reference(uri: unknown): ImageInput | null {
  return typeof uri === 'string' && ABSOLUTE_URL.test(uri) ? BY_REFERENCE : null;
}

/** `data:<type>[;base64],<data>` → inline image; any other absolute URL → by reference. */
function imageOfUrl(url: unknown): ImageInput | null {
  if (typeof url !== 'string' || !url.startsWith('data:')) return reference(url);
  const comma = url.indexOf(',');
  if (comma === -1) return null;
  const meta = url.slice(5, comma).split(';');
  const data = url.slice(comma + 1);
  const base64 = meta.slice(1).includes('base64');
  let bytes: number;
  try {
    bytes = base64 ? base64Bytes(data) : Buffer.byteLength(decodeURIComponent(data));
  } catch {
    bytes = Buffer.byteLength(data);
  }
  return { mediaType: meta[0] || 'text/plain', bytes };
}

/**
 * The image a content part carries, or null when it is no image: OpenAI `image_url`, Anthropic
 * `image` (source `base64` / `url`), Gemini `inlineData` / `fileData`, Converse `image` (source
 * `bytes` / `s3Location`). A reference must be an absolute URL (`https:`, `gs:`, `s3:`, ...).
 */
export function imageOfPart(part: Record<string, unknown>): ImageInput | null {
  if (part.type === 'image_url') {
    const ref = part.image_url;
    return imageOfUrl(isRecord(ref) ? ref.url : ref);
  }
  if (part.type === 'image') {
    const source = part.source;
    if (!isRecord(source)) return null;
    if (source.type === 'url') return reference(source.url);
    if (source.type !== 'base64') return source.type === 'file' ? BY_REFERENCE : null;
    const mediaType = typeof source.media_type === 'string' ? source.media_type : 'application/octet-stream';
    return { mediaType, bytes: base64Bytes(source.data) };
  }
  if (part.type !== undefined) return null;
  if (isRecord(part.inlineData)) {
    const inline = part.inlineData;
    const mediaType = typeof inline.mimeType === 'string' ? inline.mimeType : 'application/octet-stream';
    return { mediaType, bytes: base64Bytes(inline.data) };
  }
  if (isRecord(part.fileData)) return reference(part.fileData.fileUri);
  if (isRecord(part.image)) {
    const image = part.image;
    const source = isRecord(image.source) ? image.source : {};
    if (isRecord(source.s3Location)) return reference(source.s3Location.uri);
    if (typeof source.bytes !== 'string') return null;
    const format = typeof image.format === 'string' ? image.format : 'octet-stream';
    return { mediaType: `image/${format}`, bytes: base64Bytes(source.bytes) };
  }
  return null;
}

/** ` [image: <media type or "url">, <decoded byte count or "url">]`, the suffix the echo gets per image. */
export function describeImage(image: ImageInput): string {
  return ` [image: ${image.mediaType ?? 'url'}, ${image.bytes === null ? 'url' : image.bytes}]`;
}
