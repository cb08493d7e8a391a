import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  hashKey,
  timingSafeEqualString,
  type AccountStatusReporter,
  type ConfigSource,
} from '@switchyard/core';
import {
  CLIENT_REQUEST_ID_METADATA,
  REQUEST_ID_METADATA,
  configServiceDefinition,
  healthServiceDefinition,
  requestIdFrom,
  snapshotToMessage,
  type SnapshotMessage,
} from './grpc-config-proto.js';

interface WatchRequest {
  after_version: number;
  epoch: string;
}

export interface GrpcConfigServerOptions {
  /** What to serve: the control plane's snapshots. */
  source: ConfigSource;
  /** Every call must carry `authorization: Bearer <internalToken>`. */
  internalToken: string;
  /** TLS (or mTLS) credentials; insecure when omitted (inside a private network only). */
  credentials?: grpc.ServerCredentials;
  /**
   * Handles relays' ReportAccountFailure calls; without it they get UNIMPLEMENTED. The report carries
   * the request ids the relay sent as `x-request-id` / `x-client-request-id` metadata.
   */
  accountReporter?: AccountStatusReporter;
}

interface AccountFailureMessage {
  account_id: number;
  channel_id: number;
  upstream_status: number;
  reason: string;
}

/**
 * The control plane's gRPC ConfigService: relays fetch the snapshot and watch for newer ones.
 * Unauthenticated calls get UNAUTHENTICATED; the token is compared by hash in constant time.
 */
export class GrpcConfigServer {
  readonly #server = new grpc.Server({
    // Why 10 s: dead relays' watch streams are noticed and released within seconds.
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  readonly #opts: GrpcConfigServerOptions;
  readonly #expected: string;
  /** Names this process's version series (versions restart with the process). */
  readonly epoch = randomUUID();
  readonly #watchers = new Set<grpc.ServerWritableStream<WatchRequest, SnapshotMessage>>();

  constructor(opts: GrpcConfigServerOptions) {
    this.#opts = opts;
    this.#expected = hashKey(`Bearer ${opts.internalToken}`);
    const service = configServiceDefinition().service;
    this.#server.addService(service, {
      GetSnapshot: (
        call: grpc.ServerUnaryCall<unknown, SnapshotMessage>,
        callback: grpc.sendUnaryData<SnapshotMessage>,
      ) => {
        if (!this.#authorized(call.metadata)) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong internal token' });
          return;
        }
        callback(null, snapshotToMessage(opts.source.current(), this.epoch));
      },
      ReportAccountFailure: (
        call: grpc.ServerUnaryCall<AccountFailureMessage, { disabled: boolean }>,
        callback: grpc.sendUnaryData<{ disabled: boolean }>,
      ) => {
        if (!this.#authorized(call.metadata)) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong internal token' });
          return;
        }
        const reporter = opts.accountReporter;
        if (reporter === undefined) {
          callback({
            code: grpc.status.UNIMPLEMENTED,
            details: 'this control plane takes no account reports',
          });
          return;
        }
        const r = call.request;
        const requestId = requestIdFrom(call.metadata, REQUEST_ID_METADATA);
        const clientRequestId = requestIdFrom(call.metadata, CLIENT_REQUEST_ID_METADATA);
        // Why 500 characters: a reason is a status line for admins, not a place for whole bodies.
        reporter
          .reportAuthFailure({
            accountId: r.account_id,
            channelId: r.channel_id,
            upstreamStatus: r.upstream_status,
            reason: r.reason.slice(0, 500),
            ...(requestId !== undefined && { requestId }),
            ...(clientRequestId !== undefined && { clientRequestId }),
          })
          .then(
            (outcome) => callback(null, { disabled: outcome === 'disabled' }),
            (err: unknown) =>
              callback({
                code: grpc.status.UNAVAILABLE,
                details: err instanceof Error ? err.message : String(err),
              }),
          );
      },
      WatchSnapshots: (call: grpc.ServerWritableStream<WatchRequest, SnapshotMessage>) => {
        if (!this.#authorized(call.metadata)) {
          call.destroy(
            Object.assign(new Error('missing or wrong internal token'), {
              code: grpc.status.UNAUTHENTICATED,
            }),
          );
          return;
        }
        this.#watchers.add(call);
        // Headers go out at once, so a relay that is already current still learns the stream is up.
        call.sendMetadata(new grpc.Metadata());
        const current = opts.source.current();
        const { after_version: after, epoch } = call.request;
        if (epoch !== this.epoch || current.version > Number(after ?? 0)) {
          call.write(snapshotToMessage(current, this.epoch));
        }
        const unsubscribe = opts.source.subscribe((s) => call.write(snapshotToMessage(s, this.epoch)));
        const done = (): void => {
          unsubscribe();
          this.#watchers.delete(call);
        };
        call.on('cancelled', done);
        call.on('close', done);
        call.on('error', done);
      },
    });
    this.#addHealth();
  }

  /** grpc.health.v1: SERVING until close() begins; unauthenticated, as probes send no metadata. */
  #addHealth(): void {
    const known = new Set(['', 'switchyard.v1.ConfigService']);
    const status = () => (this.#closing ? 'NOT_SERVING' : 'SERVING');
    this.#server.addService(healthServiceDefinition().service, {
      Check: (
        call: grpc.ServerUnaryCall<{ service: string }, { status: string }>,
        callback: grpc.sendUnaryData<{ status: string }>,
      ) => {
        if (!known.has(call.request.service)) {
          callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
          return;
        }
        callback(null, { status: status() });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: string }>) => {
        call.write({ status: known.has(call.request.service) ? status() : 'SERVICE_UNKNOWN' });
        this.#healthWatchers.add(call);
        call.on('cancelled', () => this.#healthWatchers.delete(call));
      },
    });
  }

  /** Relays' watch streams open now (the `switchyard_config_watchers` gauge). */
  get watchers(): number {
    return this.#watchers.size;
  }

  #closing = false;
  readonly #healthWatchers = new Set<grpc.ServerWritableStream<{ service: string }, { status: string }>>();

  #authorized(metadata: grpc.Metadata): boolean {
    const v = metadata.get('authorization')[0];
    return typeof v === 'string' && timingSafeEqualString(hashKey(v), this.#expected);
  }

  /** Binds `address` (`host:port`, port 0 for any) and returns the bound port. */
  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(
        address,
        this.#opts.credentials ?? grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      );
    });
  }

  /** Ends open watch streams and stops; forces the stop after `graceMs`. */
  close(graceMs = 2_000): Promise<void> {
    this.#closing = true;
    for (const w of this.#healthWatchers) {
      w.write({ status: 'NOT_SERVING' });
      w.end();
    }
    for (const w of this.#watchers) w.end();
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
