import { UpstreamError } from '@switchyard/core';
import type { FramedEvent } from '../../canonical/codec.js';
import type { ProviderAdapter, ProviderDeps, UpstreamCall, Unframer } from '../../provider-adapter.js';
import { parseBaseUrl } from '../shared/base-url.js';
import { unsupportedFormat, unsupportedOperation } from '../shared/errors.js';
import { withoutKeys } from '../shared/body.js';
import { createSseUnframer } from '../shared/sse-unframer.js';

/** Code Assist's API version segment, as Gemini CLI calls it. */
const VERSION = 'v1internal';
/** What loadCodeAssist is told about the caller (Gemini CLI sends the same "unspecified" values). */
const CLIENT_METADATA = {
  ideType: 'IDE_UNSPECIFIED',
  platform: 'PLATFORM_UNSPECIFIED',
  pluginType: 'GEMINI',
};
/** Why 1000: one entry per account; more accounts than that on one relay is not a Code Assist setup. */
const MAX_PROJECTS = 1000;

/**
 * Gemini Code Assist (`cloudcode-pa.googleapis.com`), the API Gemini CLI uses with a Google account:
 * a Gemini `GenerateContentRequest` goes inside `{model, project, request}` to
 * `/v1internal:generateContent` (or `:streamGenerateContent?alt=sse`), and each answer comes back as
 * `{"response": GenerateContentResponse}`. Accounts are OAuth accounts (profile google-gemini-cli);
 * the project is the channel's `project_id`, else each account's own, asked of `loadCodeAssist` once.
 */
export function createGeminiCodeAssistProvider(): ProviderAdapter {
  const projects = new Map<number, Promise<string>>();

  async function projectFor(call: UpstreamCall, deps: ProviderDeps, origin: string, token: string) {
    const configured = call.channel.options.project_id;
    if (configured !== undefined && configured !== '') return configured;
    let found = projects.get(call.account.id);
    if (found === undefined) {
      found = loadProject(deps, `${origin}/${VERSION}:loadCodeAssist`, token);
      // A failed lookup is not kept: the next request asks again.
      found.catch(() => projects.delete(call.account.id));
      if (projects.size >= MAX_PROJECTS) projects.clear();
      projects.set(call.account.id, found);
    }
    return found;
  }

  return {
    id: 'gemini-code-assist',
    chatFormat: () => 'gemini',
    // The Gemini body travels inside an envelope: never forwarded as the client sent it.
    passthrough: () => false,
    supports: (operation) => operation === 'chat',
    async prepare(call, deps) {
      if (call.operation !== 'chat') throw unsupportedOperation('gemini-code-assist', call.operation);
      if (call.format !== 'gemini') throw unsupportedFormat('gemini-code-assist', call.format);
      const base = parseBaseUrl(call.channel);
      const token = call.account.apiKey;
      const project = await projectFor(call, deps, base.origin, token);
      const verb = call.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
      return {
        origin: base.origin,
        path: `/${VERSION}:${verb}`,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: call.model.replace(/^models\//, ''),
          project,
          request: withoutKeys(call.body, ['model']),
        }),
        framing: 'sse',
      };
    },
    createUnframer: () => unwrapping(createSseUnframer()),
    unwrapResponse: (body) => inner(body),
  };
}

export const geminiCodeAssistProvider: ProviderAdapter = createGeminiCodeAssistProvider();

/** `loadCodeAssist`: the account's Code Assist project (free-tier accounts get a managed one). */
async function loadProject(deps: ProviderDeps, url: string, token: string): Promise<string> {
  if (deps.postJson === undefined) {
    throw new UpstreamError("Set the channel's project_id: this relay cannot look the project up.", {
      retryable: true,
      code: 'upstream_prepare_failed',
    });
  }
  const res = await deps.postJson(
    url,
    { metadata: CLIENT_METADATA },
    { authorization: `Bearer ${token}` },
    // Why 15 s: one small lookup per account and relay; longer means the endpoint is down.
    AbortSignal.timeout(15_000),
  );
  let project: unknown;
  try {
    project = (JSON.parse(res.text) as { cloudaicompanionProject?: unknown }).cloudaicompanionProject;
  } catch {
    project = undefined;
  }
  const id = typeof project === 'string' ? project : (project as { id?: unknown } | undefined)?.id;
  if (res.status >= 400 || typeof id !== 'string' || id === '') {
    throw new UpstreamError(
      `Code Assist named no project for this account (loadCodeAssist answered HTTP ${res.status}); set the channel's project_id, or sign the account in with Gemini CLI once to onboard it.`,
      {
        retryable: true,
        upstreamStatus: res.status >= 400 ? res.status : null,
        code: 'upstream_prepare_failed',
      },
    );
  }
  return id;
}

function inner(body: unknown): unknown {
  return body !== null && typeof body === 'object' && 'response' in body
    ? (body as { response: unknown }).response
    : body;
}

/** Each SSE event's `{"response": chunk}` as the plain Gemini chunk the Gemini decoder reads. */
function unwrapping(sse: Unframer): Unframer {
  const map = (events: FramedEvent[]): FramedEvent[] =>
    events.map((e) => {
      try {
        const parsed = JSON.parse(e.data) as unknown;
        const chunk = inner(parsed);
        return chunk === parsed ? e : { event: e.event, data: JSON.stringify(chunk) };
      } catch {
        return e;
      }
    });
  return { push: (chunk) => map(sse.push(chunk)), end: () => map(sse.end()) };
}
