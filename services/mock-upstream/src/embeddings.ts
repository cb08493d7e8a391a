import { embeddingInputs, expectedEmbedding } from './deterministic-embedding.js';
import type { RouteRequest } from './route-request.js';
import { sendJson } from './send-json.js';
import { sendError } from './wire-errors.js';

const DEFAULT_MODEL = 'text-embedding-3-small';

function base64Floats(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

/**
 * `POST /v1/embeddings` (and Azure's deployments route): deterministic 8-float vectors (see
 * deterministic-embedding.ts). `model` overrides the answer's model (Azure: the deployment).
 */
export async function handleEmbeddings(r: RouteRequest, model?: string): Promise<void> {
  const { ctx, body, faults } = r;
  const inputs = embeddingInputs(body.input);
  if (inputs === null) {
    sendError(
      ctx.res,
      'openai',
      400,
      "'input' must be a non-empty string, array of strings or array of tokens.",
    );
    return;
  }
  if (!(await ctx.sleep(faults.firstByteDelayMs ?? 0))) return;
  const base64 = body.encoding_format === 'base64';
  let tokens = 0;
  const data = inputs.map((input, index) => {
    tokens += input.tokens;
    const vector = expectedEmbedding(input.text);
    return { object: 'embedding', index, embedding: base64 ? base64Floats(vector) : vector };
  });
  sendJson(ctx.res, 200, {
    object: 'list',
    data,
    model: model ?? (typeof body.model === 'string' ? body.model : DEFAULT_MODEL),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}
