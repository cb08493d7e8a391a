import type { KeyRecord, UsageStatus } from '@switchyard/core';
import type { TokenUsage } from '@switchyard/providers';

/** What the relay learns about one request while handling it; becomes its log line and usage event. */
export interface RequestState {
  /** Gateway-generated, unique. */
  requestId: string;
  /** The caller's `x-request-id` if it sent a valid one. */
  clientRequestId: string | null;
  /** The id echoed in the response's `x-request-id`: the caller's, else ours. */
  echoRequestId: string;
  route: string;
  createdAt: number;
  /** performance.now() at arrival. */
  started: number;
  /** Aborted when the client goes away before the response finished. */
  clientGone: AbortController;
  key: KeyRecord | null;
  model: string | null;
  /** The model as a metric label: a served model name or "unknown" (bounded label values). */
  modelLabel: string;
  upstreamModel: string | null;
  channelId: number | null;
  accountId: number | null;
  attempts: number;
  stream: boolean;
  usage: TokenUsage | null;
  status: UsageStatus;
  httpStatus: number;
  error: string | null;
}
