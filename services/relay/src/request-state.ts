import type { KeyRecord, UsageStatus, UserRecord } from '@switchyard/core';
import type { TokenUsage } from '@switchyard/providers';
import type { Hold } from './tenancy.js';

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
  /** The key's user, if it has one. */
  user: UserRecord | null;
  /** What admission holds in the coordination store for this request; released when it ends. */
  hold: Hold | null;
  /** Prompt tokens counted locally at admission (0 when no limit needed them). */
  promptEstimate: number;
  /** Images in the request (billed per image where the price says so). */
  images: number;
  /** True when token counts were counted locally rather than reported by the upstream. */
  partial: boolean;
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
