import * as grpc from '@grpc/grpc-js';
import type {
  AccountFailureOutcome,
  AccountFailureReport,
  AccountStatusReporter,
  ConfigSnapshot,
  ConfigSource,
} from '@switchyard/core';
import {
  CLIENT_REQUEST_ID_METADATA,
  REQUEST_ID_METADATA,
  configServiceDefinition,
  messageToSnapshot,
  type SnapshotMessage,
} from './grpc-config-proto.js';
import { SnapshotFile } from './snapshot-file.js';

export interface GrpcConfigSourceOptions {
  /** The control plane's gRPC address, `host:port` (SWITCHYARD_CONTROL_PLANE_URL). */
  address: string;
  internalToken: string;
  /** TLS (or mTLS) credentials; insecure when omitted. */
  credentials?: grpc.ChannelCredentials;
  /** Deadline of each unary call. Why 5 s: long enough for a loaded control plane, short enough to retry. */
  deadlineMs?: number;
  /** How long `connect` keeps trying for the first snapshot before failing. */
  startTimeoutMs?: number;
  /**
   * Where to keep the last snapshot (sealed with a key derived from the internal token). When set,
   * a relay whose control plane cannot be reached at start starts from it instead of failing.
   */
  snapshotFile?: string;
  /** Told when the watch stream goes up or down (for /readyz and metrics). */
  onStateChange?: (state: { connected: boolean; error: string | null }) => void;
}

/**
 * A relay's ConfigSource over gRPC: the first snapshot is fetched before the relay starts, then a
 * watch stream applies every newer snapshot. When the control plane goes away the relay keeps
 * serving from the last snapshot and reconnects with capped exponential back-off.
 */
/** The generated client's methods, typed. */
type ConfigClient = grpc.Client & {
  GetSnapshot: (
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: SnapshotMessage) => void,
  ) => void;
  WatchSnapshots: (
    req: { after_version: number; epoch: string },
    md: grpc.Metadata,
  ) => grpc.ClientReadableStream<SnapshotMessage>;
  ReportAccountFailure: (
    req: { account_id: number; channel_id: number; upstream_status: number; reason: string },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: { disabled: boolean }) => void,
  ) => void;
};

/** Why 5 s: a report waits on one database write and a snapshot rebuild; longer means the control plane is down. */
const REPORT_DEADLINE_MS = 5_000;

export class GrpcConfigSource implements ConfigSource, AccountStatusReporter {
  readonly #client: ConfigClient;
  readonly #metadata = new grpc.Metadata();
  readonly #opts: GrpcConfigSourceOptions;
  readonly #listeners = new Set<(s: ConfigSnapshot) => void>();
  #snapshot: ConfigSnapshot;
  #epoch: string;
  #stream: grpc.ClientReadableStream<SnapshotMessage> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #failures = 0;
  #closed = false;
  #connected = false;

  private constructor(opts: GrpcConfigSourceOptions, client: ConfigClient, first: SnapshotMessage) {
    this.#opts = opts;
    this.#client = client;
    this.#metadata.set('authorization', `Bearer ${opts.internalToken}`);
    this.#file =
      opts.snapshotFile === undefined ? null : new SnapshotFile(opts.snapshotFile, opts.internalToken);
    this.#snapshot = messageToSnapshot(first);
    this.#epoch = first.epoch;
    this.#save(first);
    this.#watch();
  }

  readonly #file: SnapshotFile | null;

  #save(m: SnapshotMessage): void {
    try {
      this.#file?.save(m);
    } catch {
      // A full or read-only disk must not stop config updates; the next snapshot tries again.
    }
  }

  /**
   * Tells the control plane that an upstream rejected an account's credential (it disables the account).
   * The request's ids go as `x-request-id` / `x-client-request-id` metadata, not in the message: they
   * name the call for the logs, they are not part of the report an admin sees.
   */
  reportAuthFailure(report: AccountFailureReport): Promise<AccountFailureOutcome> {
    const metadata = this.#metadata.clone();
    if (report.requestId !== undefined) metadata.set(REQUEST_ID_METADATA, report.requestId);
    if (report.clientRequestId !== undefined)
      metadata.set(CLIENT_REQUEST_ID_METADATA, report.clientRequestId);
    return new Promise((resolve, reject) => {
      this.#client.ReportAccountFailure(
        {
          account_id: report.accountId,
          channel_id: report.channelId,
          upstream_status: report.upstreamStatus,
          reason: report.reason,
        },
        metadata,
        { deadline: Date.now() + REPORT_DEADLINE_MS },
        (err, res) => (err ? reject(err) : resolve(res.disabled ? 'disabled' : 'unchanged')),
      );
    });
  }

  /** Connects and resolves with the source once a first snapshot arrived; rejects after startTimeoutMs. */
  static async connect(opts: GrpcConfigSourceOptions): Promise<GrpcConfigSource> {
    const Ctor = configServiceDefinition();
    const client = new Ctor(opts.address, opts.credentials ?? grpc.credentials.createInsecure(), {
      // Why 10 s keepalive: a control plane that vanished without closing is noticed within seconds.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    }) as unknown as ConfigClient;
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${opts.internalToken}`);
    const until = Date.now() + (opts.startTimeoutMs ?? 30_000);
    let lastError: Error | null = null;
    for (let attempt = 0; Date.now() < until; attempt++) {
      try {
        const first = await new Promise<SnapshotMessage>((resolve, reject) => {
          client.GetSnapshot(
            {},
            md,
            { deadline: Date.now() + Math.min(opts.deadlineMs ?? 5_000, Math.max(1, until - Date.now())) },
            (err, res) => (err ? reject(err) : resolve(res)),
          );
        });
        return new GrpcConfigSource(opts, client, first);
      } catch (err) {
        lastError = err as Error;
        if ((err as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED) break;
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
    const saved =
      opts.snapshotFile === undefined ||
      (lastError as grpc.ServiceError | null)?.code === grpc.status.UNAUTHENTICATED
        ? null
        : new SnapshotFile(opts.snapshotFile, opts.internalToken).load();
    if (saved !== null) {
      // Serve from the last snapshot on disk; the watch stream keeps trying the control plane.
      return new GrpcConfigSource(opts, client, saved);
    }
    client.close();
    throw new Error(
      `cannot get a config snapshot from the control plane at ${opts.address}: ${lastError?.message ?? 'timed out'}`,
      { cause: lastError },
    );
  }

  current(): ConfigSnapshot {
    return this.#snapshot;
  }

  subscribe(listener: (snapshot: ConfigSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True while the watch stream is open. */
  get connected(): boolean {
    return this.#connected;
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#stream?.cancel();
    this.#client.close();
  }

  #watch(): void {
    if (this.#closed) return;
    const stream = this.#client.WatchSnapshots(
      { after_version: this.#snapshot.version, epoch: this.#epoch },
      this.#metadata,
    );
    this.#stream = stream;
    stream.on('metadata', () => this.#setConnected(true, null));
    stream.on('data', (m: SnapshotMessage) => {
      this.#failures = 0;
      this.#setConnected(true, null);
      this.#apply(m);
    });
    let ended = false;
    const reconnect = (err: Error | null): void => {
      if (ended) return;
      ended = true;
      this.#setConnected(false, err?.message ?? 'watch stream ended');
      if (this.#closed) return;
      // Why capped at 5 s: a restarted control plane is picked up quickly without hammering it.
      const delay = Math.min(5_000, 100 * 2 ** Math.min(this.#failures++, 6));
      this.#retryTimer = setTimeout(() => this.#watch(), delay);
      this.#retryTimer.unref();
    };
    stream.on('error', (err: Error) => reconnect(err));
    stream.on('end', () => reconnect(null));
  }

  #apply(m: SnapshotMessage): void {
    if (m.epoch === this.#epoch && m.version <= this.#snapshot.version) return;
    this.#epoch = m.epoch;
    this.#snapshot = messageToSnapshot(m);
    this.#save(m);
    for (const l of this.#listeners) l(this.#snapshot);
  }

  #setConnected(connected: boolean, error: string | null): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#opts.onStateChange?.({ connected, error });
  }
}
