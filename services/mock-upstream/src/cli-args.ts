import { parseArgs } from 'node:util';
import type { MockUpstreamOptions } from './mock-upstream-options.js';

export const DEFAULT_CLI_PORT = 9090;
export const DEFAULT_CLI_HOST = '127.0.0.1';

export const MOCK_UPSTREAM_USAGE = `Usage: switchyard-mock-upstream [options]

Fake OpenAI / Azure OpenAI / Anthropic / Gemini / Vertex AI / Bedrock upstream with fault injection.

Options:
  --port <n>          port to listen on (default: $MOCK_UPSTREAM_PORT or ${DEFAULT_CLI_PORT}; 0 picks a free one)
  --host <addr>       interface to listen on (default: ${DEFAULT_CLI_HOST})
  --chunks <n>        content chunks per stream (default: 5)
  --latency-ms <n>    delay before every response's headers
  --status <code>     answer every request with this HTTP error status
  --require-key <k>   reject requests whose bearer token / x-api-key differs (401)
  --name <name>       value of the x-mock-upstream response header
  --cached-tokens <n> cached prompt tokens every usage reports
  --aws-credentials <ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]>
                      verify AWS Signature V4 on the Bedrock routes (403 otherwise)
  -h, --help          show this help`;

/** Parsed command line: the server options (port and host always set), or a help request. */
export interface MockUpstreamCliArgs {
  help: boolean;
  options: MockUpstreamOptions & { port: number; host: string };
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Parses the mock-upstream command line; throws with a readable message on bad input. */
export function parseMockUpstreamArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): MockUpstreamCliArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      chunks: { type: 'string' },
      'latency-ms': { type: 'string' },
      status: { type: 'string' },
      'require-key': { type: 'string' },
      name: { type: 'string' },
      'cached-tokens': { type: 'string' },
      'aws-credentials': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const envPort = env.MOCK_UPSTREAM_PORT;
  const portRaw = values.port ?? (envPort !== undefined && envPort !== '' ? envPort : undefined);
  const options: MockUpstreamCliArgs['options'] = {
    port: portRaw === undefined ? DEFAULT_CLI_PORT : integer('port', portRaw, 0, 65_535),
    host: values.host ?? DEFAULT_CLI_HOST,
  };
  if (values.chunks !== undefined) options.chunks = integer('chunks', values.chunks, 1, 100_000);
  const latency = values['latency-ms'];
  const status = values.status;
  if (latency !== undefined || status !== undefined) {
    options.faults = {};
    if (latency !== undefined) options.faults.latencyMs = integer('latency-ms', latency, 0, 3_600_000);
    if (status !== undefined) options.faults.status = integer('status', status, 400, 599);
  }
  if (values['require-key'] !== undefined) options.requireKey = values['require-key'];
  if (values.name !== undefined) options.name = values.name;
  const cached = values['cached-tokens'];
  // Any prompt is smaller than a billion tokens; the usage caps the number at the prompt anyway.
  if (cached !== undefined) options.cachedTokens = integer('cached-tokens', cached, 0, 1_000_000_000);
  const aws = values['aws-credentials'];
  if (aws !== undefined) {
    const [accessKeyId = '', secretAccessKey = '', sessionToken] = aws.split(':');
    if (accessKeyId === '' || secretAccessKey === '') {
      throw new Error('--aws-credentials must be ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]');
    }
    options.awsCredentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  return { help: values.help === true, options };
}
