import type { CanonicalPart, CanonicalRequest, ImagePart } from '@switchyard/providers';

/** Fetches one image URL (the relay binds its ImageFetcher and the request's abort signal). */
export type FetchImage = (url: string) => Promise<{ mediaType: string; data: string }>;

// Why 4: overlaps the latency of several images without letting one request open many connections or
// hold many images (up to the fetcher's size limit each) in memory at once.
const MAX_PARALLEL_FETCHES = 4;

/**
 * Replaces every `{kind:'url'}` image source of the request, in messages and inside tool results,
 * with the fetched image as base64, for upstream formats that need images inline. Each distinct URL
 * is fetched once, a few at a time. All or nothing: when any fetch fails, the request is left as it
 * was and the first failure is thrown.
 */
export async function inlineImages(req: CanonicalRequest, fetch: FetchImage): Promise<void> {
  const parts = urlImageParts(req);
  if (parts.length === 0) return;
  const urls = [...new Set(parts.map((p) => p.url))];
  const fetched = new Map<string, { mediaType: string; data: string }>();
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < urls.length) {
      const url = urls[next++] as string;
      try {
        fetched.set(url, await fetch(url));
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_FETCHES, urls.length) }, worker));
  for (const { part, url } of parts) {
    const image = fetched.get(url)!;
    part.source = { kind: 'base64', mediaType: image.mediaType, data: image.data };
  }
}

function urlImageParts(req: CanonicalRequest): Array<{ part: ImagePart; url: string }> {
  const out: Array<{ part: ImagePart; url: string }> = [];
  const visit = (part: CanonicalPart): void => {
    if (part.type === 'image' && part.source.kind === 'url') out.push({ part, url: part.source.url });
    if (part.type === 'tool_result') part.content.forEach(visit);
  };
  for (const message of req.messages) message.content.forEach(visit);
  return out;
}
