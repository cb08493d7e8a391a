import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '@switchyard/core';
import type { CanonicalRequest, ImagePart } from '@switchyard/providers';
import { inlineImages, type FetchImage } from './image-inliner.js';

function request(messages: CanonicalRequest['messages']): CanonicalRequest {
  return {
    model: 'gemini-2.5-flash',
    system: null,
    messages,
    tools: [],
    toolChoice: null,
    parallelToolCalls: null,
    maxTokens: null,
    temperature: null,
    topP: null,
    topK: null,
    stop: [],
    stream: false,
    n: 1,
    responseFormat: null,
    reasoning: null,
    user: null,
  };
}

const urlImage = (url: string, detail?: ImagePart['detail']): ImagePart => ({
  type: 'image',
  source: { kind: 'url', url },
  ...(detail === undefined ? {} : { detail }),
});

/** A fetch stand-in that records calls and answers with the URL as the image data. */
function recordingFetch(): FetchImage & { calls: string[] } {
  const calls: string[] = [];
  const fetch = async (url: string) => {
    calls.push(url);
    return { mediaType: 'image/png', data: Buffer.from(url).toString('base64') };
  };
  return Object.assign(fetch, { calls });
}

const inlined = (url: string) => ({
  kind: 'base64',
  mediaType: 'image/png',
  data: Buffer.from(url).toString('base64'),
});

describe('image inlining', () => {
  it('when the same URL appears several times, then it is fetched once and every part is inlined', async () => {
    const req = request([
      { role: 'user', content: [urlImage('https://a.example/1.png', 'high'), { type: 'text', text: 'and' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
      { role: 'user', content: [urlImage('https://a.example/1.png'), urlImage('https://b.example/2.png')] },
    ]);
    const fetch = recordingFetch();

    await inlineImages(req, fetch);

    expect(fetch.calls.sort()).toEqual(['https://a.example/1.png', 'https://b.example/2.png']);
    expect(req.messages[0]!.content[0]).toEqual({
      type: 'image',
      source: inlined('https://a.example/1.png'),
      detail: 'high',
    });
    expect(req.messages[0]!.content[1]).toEqual({ type: 'text', text: 'and' });
    expect(req.messages[2]!.content).toEqual([
      { type: 'image', source: inlined('https://a.example/1.png') },
      { type: 'image', source: inlined('https://b.example/2.png') },
    ]);
  });

  it('when a tool result contains a URL image, then it is inlined too', async () => {
    const req = request([
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            toolCallId: 'call_1',
            name: 'screenshot',
            isError: false,
            content: [{ type: 'text', text: 'here' }, urlImage('https://c.example/shot.png')],
          },
        ],
      },
    ]);
    const fetch = recordingFetch();

    await inlineImages(req, fetch);

    expect(fetch.calls).toEqual(['https://c.example/shot.png']);
    expect(req.messages[0]!.content[0]).toMatchObject({
      type: 'tool_result',
      content: [
        { type: 'text', text: 'here' },
        { type: 'image', source: inlined('https://c.example/shot.png') },
      ],
    });
  });

  it('when images are already base64, then they are untouched and nothing is fetched', async () => {
    const base64: ImagePart = {
      type: 'image',
      source: { kind: 'base64', mediaType: 'image/jpeg', data: '/9j/4AAQ' },
    };
    const req = request([{ role: 'user', content: [base64, { type: 'text', text: 'what is this' }] }]);
    const before = structuredClone(req);
    const fetch = recordingFetch();

    await inlineImages(req, fetch);

    expect(fetch.calls).toEqual([]);
    expect(req).toEqual(before);
  });

  it('when there are many distinct URLs, then at most four are fetched at once', async () => {
    const urls = Array.from({ length: 10 }, (_, i) => `https://d.example/${i}.png`);
    const req = request([{ role: 'user', content: urls.map((u) => urlImage(u)) }]);
    let inFlight = 0;
    let peak = 0;
    const fetch: FetchImage = async (url) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await Promise.resolve();
      await Promise.resolve();
      inFlight--;
      return { mediaType: 'image/gif', data: url };
    };

    await inlineImages(req, fetch);

    expect(peak).toBe(4);
    expect(req.messages[0]!.content.map((p) => (p as ImagePart).source)).toEqual(
      urls.map((u) => ({ kind: 'base64', mediaType: 'image/gif', data: u })),
    );
  });

  it('when a fetch fails, then the failure is thrown, no further URL is fetched and the request is unchanged', async () => {
    const urls = Array.from({ length: 8 }, (_, i) => `https://e.example/${i}.png`);
    const req = request([{ role: 'user', content: urls.map((u) => urlImage(u)) }]);
    const before = structuredClone(req);
    const refused = new InvalidRequestError('refused', { code: 'image_url_refused' });
    const calls: string[] = [];
    const fetch: FetchImage = async (url) => {
      calls.push(url);
      if (url === urls[0]) throw refused;
      await Promise.resolve();
      return { mediaType: 'image/png', data: 'AAAA' };
    };

    await expect(inlineImages(req, fetch)).rejects.toBe(refused);

    expect(calls).toEqual(urls.slice(0, 4));
    expect(req).toEqual(before);
  });
});
