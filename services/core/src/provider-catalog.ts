/**
 * Every upstream provider kind the gateway can talk to, as data: the control plane uses it to fill
 * channel defaults and validate channel options; the providers library uses it to build requests.
 * OpenAI-compatible presets differ from `openai` only in these defaults.
 */
export const PROVIDER_IDS = [
  'openai',
  'azure-openai',
  'anthropic',
  'gemini',
  'gemini-code-assist',
  'bedrock',
  'vertex',
  'deepseek',
  'groq',
  'mistral',
  'xai',
  'openrouter',
  'together',
  'fireworks',
  'moonshot',
  'zhipu',
  'qwen',
  'ollama',
  'vllm',
] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** How an account's credential travels upstream. */
export type CredentialKind =
  /** `Authorization: Bearer <api_key>`. */
  | 'bearer'
  /** Azure's `api-key: <api_key>`. */
  | 'azure-api-key'
  /** Anthropic's `x-api-key: <api_key>`. */
  | 'anthropic-api-key'
  /** Google AI Studio's `x-goog-api-key: <api_key>`. */
  | 'google-api-key'
  /** AWS access key pair: `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]` or that as JSON. */
  | 'aws-sigv4'
  /** A Google service-account JSON key, exchanged for an access token (JWT bearer grant). */
  | 'google-service-account';

/** A channel option a provider understands (stored in the channel's `options`). */
export interface ProviderOptionSpec {
  description: string;
  /** Used when the channel does not set it; null when it has no default. */
  default: string | null;
  required: boolean;
}

export interface ProviderProfile {
  id: ProviderId;
  label: string;
  /** The base URL used when a channel gives none; null when the channel must give one. */
  defaultBaseUrl: string | null;
  credential: CredentialKind;
  /** Models a channel announces when it lists none. */
  defaultModels: readonly string[];
  /** Options this provider reads from the channel's `options` object. */
  options: Readonly<Record<string, ProviderOptionSpec>>;
  /** OpenAI-compatible (Chat Completions, Embeddings, Completions, Models on `base_url`). */
  openaiCompatible: boolean;
}

const none = {} as const;

function compatible(
  id: ProviderId,
  label: string,
  defaultBaseUrl: string | null,
  defaultModels: readonly string[],
): ProviderProfile {
  return {
    id,
    label,
    defaultBaseUrl,
    credential: 'bearer',
    defaultModels,
    options: none,
    openaiCompatible: true,
  };
}

export const PROVIDER_CATALOG: Readonly<Record<ProviderId, ProviderProfile>> = {
  openai: compatible('openai', 'OpenAI (or any OpenAI-compatible host)', 'https://api.openai.com/v1', [
    'gpt-4o',
    'gpt-4o-mini',
    'gpt-4.1',
    'gpt-4.1-mini',
    'o3',
    'o4-mini',
    'text-embedding-3-small',
    'text-embedding-3-large',
  ]),
  'azure-openai': {
    id: 'azure-openai',
    label: 'Azure OpenAI (deployments; the upstream model name is the deployment name)',
    defaultBaseUrl: null,
    credential: 'azure-api-key',
    defaultModels: [],
    options: {
      api_version: {
        description: 'The `api-version` query parameter.',
        default: '2024-10-21',
        required: false,
      },
    },
    openaiCompatible: true,
  },
  anthropic: {
    id: 'anthropic',
    label: 'Anthropic Messages API',
    defaultBaseUrl: 'https://api.anthropic.com',
    credential: 'anthropic-api-key',
    defaultModels: ['claude-opus-4-1', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-3-5-haiku-latest'],
    options: {
      anthropic_version: {
        description: 'The `anthropic-version` header sent when the client sent none.',
        default: '2023-06-01',
        required: false,
      },
    },
    openaiCompatible: false,
  },
  gemini: {
    id: 'gemini',
    label: 'Google AI Studio (Gemini API)',
    defaultBaseUrl: 'https://generativelanguage.googleapis.com',
    credential: 'google-api-key',
    defaultModels: ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.0-flash'],
    options: none,
    openaiCompatible: false,
  },
  'gemini-code-assist': {
    id: 'gemini-code-assist',
    label: 'Gemini Code Assist (Google accounts signed in as Gemini CLI does; OAuth accounts only)',
    defaultBaseUrl: 'https://cloudcode-pa.googleapis.com',
    // Accounts come from the OAuth flow (profile google-gemini-cli); an API key is never sent.
    credential: 'bearer',
    defaultModels: ['gemini-2.5-pro', 'gemini-2.5-flash'],
    options: {
      project_id: {
        description:
          "The Google Cloud project requests are billed to; when unset, each account's own Code Assist project is asked for once (loadCodeAssist) and kept.",
        default: null,
        required: false,
      },
    },
    openaiCompatible: false,
  },
  bedrock: {
    id: 'bedrock',
    label: 'AWS Bedrock (Anthropic models via InvokeModel, others via Converse; SigV4)',
    defaultBaseUrl: null,
    credential: 'aws-sigv4',
    defaultModels: [],
    options: {
      region: {
        description: 'AWS region; the base URL defaults to its bedrock-runtime endpoint.',
        default: 'us-east-1',
        required: false,
      },
    },
    openaiCompatible: false,
  },
  vertex: {
    id: 'vertex',
    label: 'Google Vertex AI (Gemini and Anthropic models; service-account credentials)',
    defaultBaseUrl: null,
    credential: 'google-service-account',
    defaultModels: [],
    options: {
      project_id: {
        description: "GCP project; defaults to the service account's project_id.",
        default: null,
        required: false,
      },
      location: {
        description: 'Vertex location; the base URL defaults to its aiplatform endpoint.',
        default: 'us-central1',
        required: false,
      },
      token_url: {
        description: "OAuth token endpoint; defaults to the service account's token_uri.",
        default: null,
        required: false,
      },
    },
    openaiCompatible: false,
  },
  deepseek: compatible('deepseek', 'DeepSeek', 'https://api.deepseek.com/v1', [
    'deepseek-chat',
    'deepseek-reasoner',
  ]),
  groq: compatible('groq', 'Groq', 'https://api.groq.com/openai/v1', [
    'llama-3.3-70b-versatile',
    'llama-3.1-8b-instant',
  ]),
  mistral: compatible('mistral', 'Mistral', 'https://api.mistral.ai/v1', [
    'mistral-large-latest',
    'mistral-small-latest',
    'codestral-latest',
  ]),
  xai: compatible('xai', 'xAI', 'https://api.x.ai/v1', ['grok-4', 'grok-3', 'grok-3-mini']),
  openrouter: compatible('openrouter', 'OpenRouter', 'https://openrouter.ai/api/v1', []),
  together: compatible('together', 'Together AI', 'https://api.together.xyz/v1', [
    'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  ]),
  fireworks: compatible('fireworks', 'Fireworks AI', 'https://api.fireworks.ai/inference/v1', [
    'accounts/fireworks/models/llama-v3p3-70b-instruct',
  ]),
  moonshot: compatible('moonshot', 'Moonshot (Kimi)', 'https://api.moonshot.cn/v1', [
    'kimi-k2-0905-preview',
    'moonshot-v1-8k',
  ]),
  zhipu: compatible('zhipu', 'Zhipu GLM', 'https://open.bigmodel.cn/api/paas/v4', [
    'glm-4.6',
    'glm-4.5',
    'glm-4.5-air',
  ]),
  qwen: compatible(
    'qwen',
    'Qwen (DashScope compatible mode)',
    'https://dashscope.aliyuncs.com/compatible-mode/v1',
    ['qwen-max', 'qwen-plus', 'qwen-turbo'],
  ),
  ollama: compatible('ollama', 'Ollama (local)', 'http://127.0.0.1:11434/v1', []),
  vllm: compatible('vllm', 'vLLM (local)', 'http://127.0.0.1:8000/v1', []),
};

export function providerProfile(id: ProviderId): ProviderProfile {
  return PROVIDER_CATALOG[id];
}

export function isProviderId(v: string): v is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(v);
}

/**
 * The base URL for a channel that sets none: the preset's, or one derived from the region/location
 * option (Bedrock, Vertex); null when the provider has no default (Azure: the resource's own URL).
 */
export function defaultBaseUrl(id: ProviderId, options: Readonly<Record<string, string>>): string | null {
  if (id === 'bedrock') return `https://bedrock-runtime.${options.region ?? 'us-east-1'}.amazonaws.com`;
  if (id === 'vertex') {
    const location = options.location ?? 'us-central1';
    // The global location has no regional host.
    return location === 'global'
      ? 'https://aiplatform.googleapis.com'
      : `https://${location}-aiplatform.googleapis.com`;
  }
  return PROVIDER_CATALOG[id].defaultBaseUrl;
}
