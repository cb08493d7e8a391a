import { expect } from 'vitest';
import { startMockUpstream, type MockUpstream } from '@switchyard/mock-upstream';
import {
  NO_BREAKER,
  resetAccountHealth,
  startTestGateway,
  type KeyView,
  type TestGateway,
} from './harness.js';

/** AWS credentials the mock's SigV4 verifier accepts (the documentation's example pair). */
export const AWS_KEYS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

/**
 * Every kind of upstream the gateway converts to, each as a channel on one mock upstream, with the
 * client-facing model name that routes to it. Bedrock and Vertex appear twice: each carries two
 * wire formats (Anthropic bodies and Converse / Gemini bodies).
 */
export const TARGETS = [
  { name: 'openai', model: 'm-openai', format: 'openai-chat' },
  { name: 'azure-openai', model: 'm-azure', format: 'openai-chat' },
  { name: 'anthropic', model: 'm-anthropic', format: 'anthropic-messages' },
  { name: 'gemini', model: 'm-gemini', format: 'gemini' },
  { name: 'bedrock (Anthropic model, InvokeModel)', model: 'm-bedrock-claude', format: 'anthropic-messages' },
  { name: 'bedrock (Converse)', model: 'm-bedrock-converse', format: 'bedrock-converse' },
  { name: 'vertex (Gemini model)', model: 'm-vertex-gemini', format: 'gemini' },
  { name: 'vertex (Anthropic model)', model: 'm-vertex-claude', format: 'anthropic-messages' },
  { name: 'deepseek preset', model: 'm-deepseek', format: 'openai-chat' },
] as const;
export type Target = (typeof TARGETS)[number];

export interface ProviderMatrix {
  t: TestGateway;
  mock: MockUpstream;
  key: KeyView;
  /** The gateway's base URL. */
  url: string;
  /** Clears every account's cooldown (test isolation after injected upstream failures). */
  resetHealth(): Promise<void>;
  stop(): Promise<void>;
}

/** A gateway with one channel per provider kind, all on one mock upstream, and a client key. */
export async function startProviderMatrix(env: Record<string, string> = {}): Promise<ProviderMatrix> {
  const mock = await startMockUpstream({ name: 'matrix', awsCredentials: AWS_KEYS });
  const t = await startTestGateway(env);
  const serviceAccount = JSON.stringify(mock.googleServiceAccount());
  const channels: Array<Record<string, unknown>> = [
    {
      name: 'openai',
      provider: 'openai',
      base_url: `${mock.url}/v1`,
      models: ['m-openai'],
      accounts: [{ api_key: 'sk-openai' }],
    },
    {
      name: 'azure',
      provider: 'azure-openai',
      base_url: mock.url,
      options: { api_version: '2024-10-21' },
      models: ['m-azure'],
      model_mapping: { 'm-azure': 'my-gpt4o-deployment' },
      accounts: [{ api_key: 'azure-key' }],
    },
    {
      name: 'anthropic',
      provider: 'anthropic',
      base_url: mock.url,
      models: ['m-anthropic'],
      model_mapping: { 'm-anthropic': 'claude-sonnet-4-5' },
      accounts: [{ api_key: 'sk-ant-test' }],
    },
    {
      name: 'gemini',
      provider: 'gemini',
      base_url: mock.url,
      models: ['m-gemini'],
      model_mapping: { 'm-gemini': 'gemini-2.5-flash' },
      accounts: [{ api_key: 'gemini-key' }],
    },
    {
      name: 'bedrock',
      provider: 'bedrock',
      base_url: mock.url,
      options: { region: 'us-east-1' },
      models: ['m-bedrock-claude', 'm-bedrock-converse'],
      model_mapping: {
        'm-bedrock-claude': 'anthropic.claude-3-5-sonnet-20240620-v1:0',
        'm-bedrock-converse': 'meta.llama3-70b-instruct-v1:0',
      },
      accounts: [{ api_key: `${AWS_KEYS.accessKeyId}:${AWS_KEYS.secretAccessKey}` }],
    },
    {
      name: 'vertex',
      provider: 'vertex',
      base_url: mock.url,
      options: { project_id: 'mock-project', location: 'us-central1', token_url: `${mock.url}/token` },
      models: ['m-vertex-gemini', 'm-vertex-claude'],
      model_mapping: { 'm-vertex-gemini': 'gemini-2.5-pro', 'm-vertex-claude': 'claude-sonnet-4-5@20250929' },
      accounts: [{ api_key: serviceAccount }],
    },
    {
      name: 'deepseek',
      provider: 'deepseek',
      base_url: `${mock.url}/v1`,
      models: ['m-deepseek'],
      model_mapping: { 'm-deepseek': 'deepseek-chat' },
      accounts: [{ api_key: 'sk-deepseek' }],
    },
  ];
  for (const ch of channels) {
    const r = await t.admin('POST', '/channels', { ...ch, ...NO_BREAKER });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  const k = await t.admin<KeyView>('POST', '/keys', { name: 'matrix' });
  expect(k.status).toBe(201);
  return {
    t,
    mock,
    key: k.body,
    url: t.gw.url,
    resetHealth: () => resetAccountHealth(t),
    async stop() {
      await t.stop();
      await mock.close();
    },
  };
}
