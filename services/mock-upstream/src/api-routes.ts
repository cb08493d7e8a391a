import { handleAnthropicCountTokens, handleAnthropicMessages } from './anthropic-messages.js';
import { handleAzureDeployment, handleAzureV1 } from './azure-openai.js';
import { handleBedrockConverse } from './bedrock-converse.js';
import { handleBedrockInvoke } from './bedrock-invoke.js';
import { handleChatCompletions } from './chat-completions.js';
import { handleEmbeddings } from './embeddings.js';
import { handleCodeAssistGenerate, handleLoadCodeAssist } from './code-assist.js';
import { handleGenerateContent } from './gemini-generate-content.js';
import { handleGetGeminiModel, handleListGeminiModels } from './gemini-models.js';
import { handleListModels, handleRetrieveModel } from './models.js';
import type { RouteRequest } from './route-request.js';
import { handleVertexAnthropic } from './vertex-anthropic.js';
import type { WireShape } from './wire-errors.js';

/**
 * How a route authenticates: `key` (the instance's `requireKey` as bearer token or `x-api-key`),
 * `azure` (`requireKey` as the `api-key` header), `gemini` (`requireKey` as `x-goog-api-key` or
 * `?key=`), `vertex` (a bearer access token issued by the mock's `/token`), `aws` (SigV4 against the
 * instance's `awsCredentials`). Anthropic `key` routes and `gemini` routes also take a live access
 * token of the mock's OAuth server (`/oauth/*`) as `Authorization: Bearer` instead of a key.
 */
export type AuthScheme = 'key' | 'azure' | 'gemini' | 'vertex' | 'aws';

/** A matched API route: its error shape, its authentication and its handler. */
export interface ApiRoute {
  shape: WireShape;
  auth: AuthScheme;
  handle(r: RouteRequest): Promise<void> | void;
}

const MODELS_PREFIX = '/v1/models/';
const AZURE_DEPLOYMENT = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/;
const AZURE_V1 = /^\/openai\/v1\/(chat\/completions|embeddings)$/;
const GEMINI_GENERATE = /^\/(?:v1beta|v1)\/models\/([^/]+):(generateContent|streamGenerateContent)$/;
const GEMINI_MODEL = /^\/v1beta\/models\/([^/:]+)$/;
const VERTEX =
  /^\/(?:v1|v1beta1)\/projects\/[^/]+\/locations\/[^/]+\/publishers\/(google|anthropic)\/models\/([^/]+):([A-Za-z]+)$/;
const BEDROCK = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/;

function decodeSegment(segment: string | undefined): string | null {
  if (segment === undefined) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function route(shape: WireShape, auth: AuthScheme, handle: ApiRoute['handle']): ApiRoute {
  return { shape, auth, handle };
}

function matchGet(path: string): ApiRoute | null {
  if (path === '/v1/models' || path === '/openai/v1/models') {
    return route('openai', path === '/v1/models' ? 'key' : 'azure', handleListModels);
  }
  if (path.startsWith(MODELS_PREFIX) && path.length > MODELS_PREFIX.length) {
    const id = decodeSegment(path.slice(MODELS_PREFIX.length));
    return id === null ? null : route('openai', 'key', (r) => handleRetrieveModel(r, id));
  }
  if (path === '/v1beta/models') return route('google', 'gemini', handleListGeminiModels);
  const gemini = GEMINI_MODEL.exec(path);
  const model = decodeSegment(gemini?.[1]);
  return model === null ? null : route('google', 'gemini', (r) => handleGetGeminiModel(r, model));
}

function matchVertex(path: string): ApiRoute | null {
  const m = VERTEX.exec(path);
  const model = decodeSegment(m?.[2]);
  if (m === null || model === null) return null;
  const [, publisher, , method] = m;
  if (publisher === 'google' && (method === 'generateContent' || method === 'streamGenerateContent')) {
    const stream = method === 'streamGenerateContent';
    return route('google', 'vertex', (r) => handleGenerateContent(r, { model, stream }));
  }
  if (publisher === 'anthropic' && (method === 'rawPredict' || method === 'streamRawPredict')) {
    const stream = method === 'streamRawPredict';
    return route('anthropic', 'vertex', (r) => handleVertexAnthropic(r, { model, stream }));
  }
  return null;
}

function matchPost(path: string): ApiRoute | null {
  if (path === '/v1/chat/completions') return route('openai', 'key', handleChatCompletions);
  if (path === '/v1/messages') return route('anthropic', 'key', handleAnthropicMessages);
  if (path === '/v1/embeddings') return route('openai', 'key', handleEmbeddings);
  if (path === '/v1/messages/count_tokens') return route('anthropic', 'key', handleAnthropicCountTokens);
  if (path === '/v1internal:generateContent') {
    return route('google', 'gemini', (r) => handleCodeAssistGenerate(r, false));
  }
  if (path === '/v1internal:streamGenerateContent') {
    return route('google', 'gemini', (r) => handleCodeAssistGenerate(r, true));
  }
  if (path === '/v1internal:loadCodeAssist') return route('google', 'gemini', handleLoadCodeAssist);

  const deployment = AZURE_DEPLOYMENT.exec(path);
  if (deployment !== null) {
    const name = decodeSegment(deployment[1]);
    const operation = deployment[2] === 'embeddings' ? 'embeddings' : 'chat';
    return name === null ? null : route('openai', 'azure', (r) => handleAzureDeployment(r, name, operation));
  }
  const v1 = AZURE_V1.exec(path);
  if (v1 !== null) {
    const operation = v1[1] === 'embeddings' ? 'embeddings' : 'chat';
    return route('openai', 'azure', (r) => handleAzureV1(r, operation));
  }
  const gemini = GEMINI_GENERATE.exec(path);
  if (gemini !== null) {
    const model = decodeSegment(gemini[1]);
    const stream = gemini[2] === 'streamGenerateContent';
    return model === null
      ? null
      : route('google', 'gemini', (r) => handleGenerateContent(r, { model, stream }));
  }
  const bedrock = BEDROCK.exec(path);
  if (bedrock !== null) {
    const modelId = decodeSegment(bedrock[1]);
    const action = bedrock[2] ?? '';
    const stream = action.endsWith('stream');
    if (modelId === null) return null;
    return action.startsWith('invoke')
      ? route('aws', 'aws', (r) => handleBedrockInvoke(r, { modelId, stream }))
      : route('aws', 'aws', (r) => handleBedrockConverse(r, { modelId, stream }));
  }
  return matchVertex(path);
}

/** The API route for `method` and `path` (without the query), or null when there is none. */
export function matchApiRoute(method: string | undefined, path: string): ApiRoute | null {
  if (method === 'POST') return matchPost(path);
  if (method === 'GET') return matchGet(path);
  return null;
}

/** The error shape and authentication of a path no route matches, by its prefix. */
export function unmatchedRoute(path: string): {
  shape: WireShape;
  auth: AuthScheme;
  notFoundShape: WireShape;
} {
  if (path.startsWith('/model/')) return { shape: 'aws', auth: 'aws', notFoundShape: 'aws' };
  if (path.startsWith('/v1beta/')) return { shape: 'google', auth: 'gemini', notFoundShape: 'google' };
  if (path.startsWith('/v1/projects/') || path.startsWith('/v1beta1/projects/')) {
    return { shape: 'google', auth: 'vertex', notFoundShape: 'google' };
  }
  if (path.startsWith('/openai/')) return { shape: 'openai', auth: 'azure', notFoundShape: 'openai' };
  return {
    shape: path.startsWith('/v1/messages') ? 'anthropic' : 'openai',
    auth: 'key',
    notFoundShape: 'openai',
  };
}
