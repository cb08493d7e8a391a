import { handleChatCompletions } from './chat-completions.js';
import { handleEmbeddings } from './embeddings.js';
import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';

/** An Azure OpenAI operation: chat completions or embeddings. */
export type AzureOperation = 'chat' | 'embeddings';

/** Azure's own answer to a request without `api-version` (not OpenAI's error shape). */
function sendMissingApiVersion(r: RouteRequest): void {
  sendJson(r.ctx.res, 400, {
    error: {
      code: 'MissingApiVersionParameter',
      message: 'The api-version query parameter (?api-version=) is required for all requests.',
    },
  });
}

/**
 * `POST /openai/deployments/{deployment}/chat/completions|embeddings?api-version=...`: the OpenAI
 * answer with Azure's content-filter annotations, its `model` being the deployment.
 */
export async function handleAzureDeployment(
  r: RouteRequest,
  deployment: string,
  operation: AzureOperation,
): Promise<void> {
  if (!r.query.get('api-version')) {
    sendMissingApiVersion(r);
    return;
  }
  if (operation === 'embeddings') return handleEmbeddings(r, deployment);
  return handleChatCompletions(r, { model: deployment, azure: true });
}

/** `POST /openai/v1/chat/completions|embeddings`: Azure's v1 API (no api-version, the model in the body). */
export async function handleAzureV1(r: RouteRequest, operation: AzureOperation): Promise<void> {
  if (operation === 'embeddings') return handleEmbeddings(r);
  return handleChatCompletions(r, { azure: true });
}
