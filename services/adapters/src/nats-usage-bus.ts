import {
  AckPolicy,
  DeliverPolicy,
  Events,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type ConnectionOptions,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type NatsError,
} from 'nats';
import type { UsageBus, UsageEvent } from '@switchyard/core';
import { decodeUsageEvent, encodeUsageEvent } from './usage-event-json.js';
import { UsageSpool } from './usage-spool.js';

/** Options of {@link NatsUsageBus.connect}. */
export interface NatsUsageBusOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** JetStream stream holding usage events. Default `SWITCHYARD_USAGE`. */
  stream?: string;
  /**
   * Copies of the stream JetStream keeps on a NATS cluster (1 to 5; default 1, a single server's
   * stream). Applied when the stream is created and on every start (a stream update), so it follows
   * the setting.
   */
  streamReplicas?: number;
  /** Subject events are published on; the stream's only subject. Default `switchyard.usage`. */
  subject?: string;
  /** Durable consumer name shared by every accounting replica (they split the work). Default `accounting`. */
  durable?: string;
  /** Most events per handler call. Default 500 (one SQL round trip per batch, without huge statements). */
  batchSize?: number;
  /**
   * How long a partial batch waits for more events before the handler runs. Default 25 ms: one
   * transaction per 25 ms instead of one per event, while usage still lands promptly.
   */
  flushDelayMs?: number;
  /**
   * Most events waiting locally to be published (NATS down or slow). When full, new events are
   * refused and reported through `onDropped` and `onError` — never silently, and the oldest are
   * kept. Default 100,000: about a minute of traffic at 1,500 requests/s, a few tens of MB of memory.
   * With `spoolDir` it bounds the spool too (every pending event is in it); events read back from the
   * spool at start are all re-queued even beyond this bound (they were accepted once), and new ones
   * are refused until the queue is below it again.
   */
  maxPending?: number;
  /**
   * Directory of an on-disk spool (JSONL segment files `spool-<seq>.jsonl` and a `spool.lock`), so
   * events waiting for NATS survive a restart or a crash of the process. Every accepted event is
   * appended before `publish()` returns and leaves the spool once JetStream acknowledged it; at
   * `connect`, events left by a previous run are published again ahead of new ones. One process per
   * directory (the lock says which). Unset: the queue is in memory only.
   */
  spoolDir?: string;
  /** Events per spool segment before a new one starts. Default 10,000 (see `UsageSpool`). */
  spoolSegmentEvents?: number;
  /** Bytes per spool segment before a new one starts. Default 4 MiB (see `UsageSpool`). */
  spoolSegmentBytes?: number;
  /** Delay before a batch whose handler threw is redelivered. Default 1 s (see `#handle`). */
  nakDelayMs?: number;
  /** Timeout of one JetStream publish acknowledgement. Default 5 s. */
  publishTimeoutMs?: number;
  /** How long `close()` waits for pending work before giving up. Default 10 s. */
  closeTimeoutMs?: number;
  /** Extra nats.js connection options (TLS, credentials, …); `servers` above wins. */
  connection?: Omit<ConnectionOptions, 'servers'>;
  /** Called for every event refused because the pending queue is full (for a metric or an alert). */
  onDropped?: (event: UsageEvent, droppedTotal: number) => void;
  /** Called when publishing starts failing (`down`) and when it works again (`up`). */
  onStateChange?: (state: 'up' | 'down') => void;
  /**
   * Log-worthy failures: refused events, failing publishes, undecodable messages, torn or undecodable
   * spool lines skipped at start, failing spool writes (the event is then kept in memory only).
   */
  onError?: (error: Error) => void;
}

/** Why 7 days: accounting may be down for a long weekend; the stream keeps usage until it returns. */
const MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * Why 2 minutes: a relay retries an unacknowledged publish within seconds (the back-off is capped at
 * 5 s); two minutes covers a retry after a reconnect with room to spare, at a modest memory cost
 * on the server (one id per event in the window).
 */
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;
/** Why 30 s: a batch's MySQL write takes milliseconds; 30 s only fires when a replica died mid-batch. */
const ACK_WAIT_MS = 30_000;
/** Why 256: enough publishes in flight to fill a round trip on a LAN, few enough to retry cheaply. */
const PUBLISH_WINDOW = 256;
/** Publish retries back off from 100 ms, doubling, capped at 5 s so delivery resumes soon after NATS returns. */
const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 5_000;
/** Why 20 ms: drained() polls consumer info; used by tests and shutdown, prompt without load on the server. */
const DRAIN_POLL_MS = 20;
/** JetStream API error codes. */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

/** An accepted event and, with a spool, the segment it is acknowledged against (null: memory only). */
interface QueuedEvent {
  event: UsageEvent;
  segment: number | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The distributed usage bus: relays publish usage events to a JetStream stream (message id = request
 * id, so the server drops a re-sent event), and accounting replicas share one durable pull consumer,
 * acknowledging a batch only after their handler (the MySQL write) resolved.
 *
 * `publish()` never waits for NATS: events go to a bounded in-memory queue that a background loop
 * publishes, retrying with back-off while NATS is unreachable. With `spoolDir`, the queue is also
 * written to disk ({@link UsageSpool}) so it survives a restart of the relay.
 *
 * Re-publishing spooled events after a restart is safe: JetStream drops a message id it saw within
 * the duplicate window (2 minutes). An event older than that is published twice only when the process
 * died between JetStream's acknowledgement and the deletion of its segment; accounting writes each
 * request id once, so the ledger still counts it once.
 */
export class NatsUsageBus implements UsageBus {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subject: string;
  readonly #durable: string;
  readonly #batchSize: number;
  readonly #flushDelayMs: number;
  readonly #maxPending: number;
  readonly #nakDelayMs: number;
  readonly #publishTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #opts: NatsUsageBusOptions;
  readonly #spool: UsageSpool | null;

  /** Events accepted but not yet acknowledged by JetStream, oldest first (the in-flight ones included). */
  #queue: QueuedEvent[];
  #pumping = false;
  #publishFailures = 0;
  #publishState: 'up' | 'down' = 'up';
  #connected = true;
  #droppedTotal = 0;
  #wakeBackoff: (() => void) | null = null;

  #handler: ((events: UsageEvent[]) => Promise<void>) | null = null;
  #consumer: Consumer | null = null;
  #messages: ConsumerMessages | null = null;
  #subscribing: Promise<void> | null = null;
  #subscribeSettled = false;
  /** Messages delivered to this instance and not yet handed to the handler. */
  #buffer: JsMsg[] = [];
  #handling: Promise<void> | null = null;
  #flushTimer: NodeJS.Timeout | null = null;
  #drainWaiters = 0;
  /** Bumped on every local publish and delivery, so a consumer info answer can be checked for staleness. */
  #activity = 0;
  #closing = false;
  #closed = false;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    opts: NatsUsageBusOptions,
    names: { stream: string; subject: string; durable: string },
    spool: UsageSpool | null,
    recovered: QueuedEvent[],
  ) {
    this.#nc = nc;
    void this.#watchConnection();
    this.#jsm = jsm;
    this.#js = nc.jetstream();
    this.#opts = opts;
    this.#stream = names.stream;
    this.#subject = names.subject;
    this.#durable = names.durable;
    this.#batchSize = opts.batchSize ?? 500;
    this.#flushDelayMs = opts.flushDelayMs ?? 25;
    this.#maxPending = opts.maxPending ?? 100_000;
    this.#nakDelayMs = opts.nakDelayMs ?? 1_000;
    this.#publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
    this.#closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
    this.#spool = spool;
    this.#queue = recovered;
    if (recovered.length > 0) {
      this.#pumping = true;
      queueMicrotask(() => void this.#pump());
    }
  }

  /**
   * Connects, creates or updates the stream, and returns a bus. Rejects when NATS is unreachable at
   * start; once connected, the connection reconnects forever.
   */
  static async connect(opts: NatsUsageBusOptions): Promise<NatsUsageBus> {
    const stream = opts.stream ?? 'SWITCHYARD_USAGE';
    const subject = opts.subject ?? 'switchyard.usage';
    const durable = opts.durable ?? 'accounting';
    // Opened first, so an unusable directory fails the start before any network work.
    const opened =
      opts.spoolDir === undefined
        ? null
        : UsageSpool.open({
            dir: opts.spoolDir,
            segmentEvents: opts.spoolSegmentEvents,
            segmentBytes: opts.spoolSegmentBytes,
            onError: opts.onError,
          });
    let nc: NatsConnection;
    try {
      nc = await connect({
        // Why unlimited reconnects: a relay outlives any NATS outage; events wait in the queue meanwhile.
        maxReconnectAttempts: -1,
        ...opts.connection,
        servers: opts.servers,
        name: opts.connection?.name ?? 'switchyard-usage-bus',
      });
    } catch (err) {
      opened?.spool.close();
      throw err;
    }
    try {
      const jsm = await nc.jetstreamManager();
      const config = {
        name: stream,
        subjects: [subject],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(MAX_AGE_MS),
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
        num_replicas: opts.streamReplicas ?? 1,
      };
      try {
        await jsm.streams.info(stream);
        await jsm.streams.update(stream, config);
      } catch (err) {
        if (apiErrorCode(err) !== STREAM_NOT_FOUND) throw err;
        await jsm.streams.add(config);
      }
      return new NatsUsageBus(
        nc,
        jsm,
        opts,
        { stream, subject, durable },
        opened?.spool ?? null,
        opened?.recovered ?? [],
      );
    } catch (err) {
      opened?.spool.close();
      await nc.close();
      throw err;
    }
  }

  /** False from a disconnect from NATS until the client reconnects (or after close). */
  get connected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  /** Follows the client's connection events: it reconnects by itself, this only records the state. */
  async #watchConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === Events.Disconnect) this.#connected = false;
      else if (s.type === Events.Reconnect) this.#connected = true;
    }
  }

  /** Events accepted by `publish()` and not yet acknowledged by JetStream. */
  get pendingDepth(): number {
    return this.#queue.length;
  }

  /** Bytes of spool segments on disk (0 without `spoolDir`); shrinks as segments are acknowledged. */
  get spoolBytes(): number {
    return this.#spool?.bytes ?? 0;
  }

  /** Events refused since start because the pending queue was full. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /**
   * Events in the stream the durable consumer has not yet had acknowledged: JetStream's
   * `num_pending + num_ack_pending`. Before any accounting instance created the consumer, every
   * message in the stream (it will deliver them all). Rejects when NATS does not answer.
   */
  async consumerPending(): Promise<number> {
    try {
      const info = await this.#jsm.consumers.info(this.#stream, this.#durable);
      return info.num_pending + info.num_ack_pending;
    } catch (err) {
      if (apiErrorCode(err) !== CONSUMER_NOT_FOUND) throw err;
      return (await this.#jsm.streams.info(this.#stream)).state.messages;
    }
  }

  publish(event: UsageEvent): void {
    if (this.#closing || this.#queue.length >= this.#maxPending) {
      this.#droppedTotal++;
      this.#opts.onDropped?.(event, this.#droppedTotal);
      this.#opts.onError?.(
        new Error(
          this.#closing
            ? `usage event ${event.requestId} refused: the usage bus is closing`
            : `usage event ${event.requestId} refused: ${this.#queue.length} events already wait for NATS (maxPending)`,
        ),
      );
      return;
    }
    let segment: number | null = null;
    if (this.#spool) {
      try {
        segment = this.#spool.append(event);
      } catch (err) {
        // Refusing would lose the event now; kept in memory, it is lost only if the process dies.
        this.#opts.onError?.(
          toError(err, `usage event ${event.requestId} not spooled (kept in memory only)`),
        );
      }
    }
    this.#queue.push({ event, segment });
    this.#activity++;
    if (!this.#pumping) {
      this.#pumping = true;
      // A microtask later, so a burst of synchronous publishes goes out as one window.
      queueMicrotask(() => void this.#pump());
    }
  }

  /**
   * Starts this instance's share of the durable consumer. Instances with the same `durable` split
   * the events between them; each event is handled by one of them (again only after a failure or an
   * instance dying mid-batch). One handler per instance.
   */
  subscribe(handler: (events: UsageEvent[]) => Promise<void>): () => void {
    if (this.#handler) throw new Error('NatsUsageBus supports one handler per instance');
    if (this.#closing) throw new Error('NatsUsageBus is closed');
    this.#handler = handler;
    this.#subscribeSettled = false;
    const subscribing = this.#startConsuming()
      .catch((err: unknown) => {
        this.#opts.onError?.(toError(err, 'usage consumer failed to start'));
      })
      .finally(() => {
        this.#subscribeSettled = true;
      });
    this.#subscribing = subscribing;
    return () => {
      if (this.#handler !== handler) return;
      this.#handler = null;
      void subscribing.then(() => this.#stopConsuming());
    };
  }

  /**
   * Resolves when this instance's queue is published and acknowledged and, when it has a handler,
   * the durable consumer has nothing pending or unacknowledged and no batch is being handled. Without
   * a handler and with nothing queued it resolves at once. With a handler it always asks the consumer:
   * other processes publish to it, and their events are invisible here until they are delivered.
   */
  async drained(): Promise<void> {
    const nothingLocal = this.#queue.length === 0 && this.#buffer.length === 0 && this.#handling === null;
    if (nothingLocal && !this.#handler) return;
    this.#drainWaiters++;
    try {
      for (;;) {
        if (this.#closed) return;
        this.#flushNow();
        if (this.#queue.length === 0) {
          if (!this.#handler) return;
          if (this.#locallyIdle() && (await this.#consumerIdle())) return;
        }
        await delay(DRAIN_POLL_MS);
      }
    } finally {
      this.#drainWaiters--;
    }
  }

  /**
   * Waits (at most `closeTimeoutMs`) for queued events to be published and, with a handler, for
   * `drained()`; then stops the loops, lets an in-flight batch finish, returns unhandled deliveries
   * to the stream and closes the connection and the spool. Events still queued after the timeout
   * are lost without `spoolDir`; with it they stay on disk for the next start.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.drained(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#closeTimeoutMs))),
    ]);
    clearTimeout(timer);
    this.#closing = true;
    this.#wakeBackoff?.();
    this.#handler = null;
    await this.#subscribing;
    await this.#stopConsuming();
    this.#closed = true;
    try {
      if (this.#nc.isClosed()) return;
      // Drain flushes the last acks; while NATS is unreachable it could wait for ever, so it is bounded.
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#nc.drain().catch(() => undefined),
        new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, this.#closeTimeoutMs))),
      ]);
      clearTimeout(drainTimer);
      if (!this.#nc.isClosed()) await this.#nc.close();
    } finally {
      // Last, so publishes acknowledged while the connection drains still leave the spool.
      this.#spool?.close();
    }
  }

  // --- publishing -------------------------------------------------------------------------------

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const window = this.#queue.slice(0, PUBLISH_WINDOW);
        const results = await Promise.allSettled(
          window.map(({ event }) =>
            this.#js.publish(this.#subject, encoder.encode(encodeUsageEvent(event)), {
              msgID: event.requestId,
              timeout: this.#publishTimeoutMs,
            }),
          ),
        );
        const failed: QueuedEvent[] = [];
        window.forEach((queued, i) => {
          if (results[i]!.status === 'rejected') failed.push(queued);
          else if (queued.segment !== null) this.#spool?.ack(queued.segment);
        });
        // Events published during the await were appended; keep the failed ones first, in order.
        this.#queue.splice(0, window.length, ...failed);
        if (failed.length === 0) {
          this.#publishFailures = 0;
          this.#setPublishState('up');
          continue;
        }
        this.#publishFailures++;
        const firstError = results.find((r) => r.status === 'rejected');
        this.#setPublishState('down', firstError?.status === 'rejected' ? firstError.reason : undefined);
        if (this.#closing) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(
            resolve,
            Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(this.#publishFailures, 10)),
          );
          this.#wakeBackoff = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.#wakeBackoff = null;
      }
    } finally {
      this.#pumping = false;
    }
  }

  #setPublishState(state: 'up' | 'down', cause?: unknown): void {
    if (state === 'down') {
      this.#opts.onError?.(
        toError(cause, `publishing usage events to NATS failed; ${this.#queue.length} wait`),
      );
    }
    if (this.#publishState === state) return;
    this.#publishState = state;
    this.#opts.onStateChange?.(state);
  }

  // --- consuming --------------------------------------------------------------------------------

  async #startConsuming(): Promise<void> {
    await this.#jsm.consumers.add(this.#stream, {
      durable_name: this.#durable,
      filter_subject: this.#subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      // Why unlimited: usage must reach the ledger; a failing store delays it, never discards it.
      max_deliver: -1,
      // Why at least two batches: a replica can fill the next batch while the current one is written.
      max_ack_pending: Math.max(1_000, this.#batchSize * 2),
    });
    if (!this.#handler || this.#closing) return;
    this.#consumer = await this.#js.consumers.get(this.#stream, this.#durable);
    if (!this.#handler || this.#closing) return;
    this.#messages = await this.#consumer.consume({
      max_messages: this.#batchSize,
      callback: (msg) => this.#deliver(msg),
    });
  }

  async #stopConsuming(): Promise<void> {
    const messages = this.#messages;
    this.#messages = null;
    if (messages) await messages.close();
    this.#cancelFlushTimer();
    await this.#handling;
    // Hand deliveries nobody will handle back to the stream now rather than after ack_wait.
    for (const msg of this.#buffer.splice(0)) msg.nak();
  }

  #deliver(msg: JsMsg): void {
    this.#buffer.push(msg);
    this.#activity++;
    if (this.#buffer.length >= this.#batchSize || this.#drainWaiters > 0) this.#flushNow();
    else if (this.#flushTimer === null) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = null;
        this.#startHandling();
      }, this.#flushDelayMs);
    }
  }

  #cancelFlushTimer(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
  }

  #flushNow(): void {
    if (this.#buffer.length === 0) return;
    this.#cancelFlushTimer();
    this.#startHandling();
  }

  #startHandling(): void {
    if (this.#handling) return;
    this.#handling = this.#handleBuffered().finally(() => {
      this.#handling = null;
    });
  }

  async #handleBuffered(): Promise<void> {
    while (this.#buffer.length > 0 && this.#handler) {
      // A full batch goes at once; a partial one waits for the flush delay unless drained() waits.
      if (this.#buffer.length < this.#batchSize && this.#flushTimer !== null) return;
      await this.#handle(this.#handler, this.#buffer.splice(0, this.#batchSize));
    }
  }

  async #handle(handler: (events: UsageEvent[]) => Promise<void>, msgs: JsMsg[]): Promise<void> {
    const events: UsageEvent[] = [];
    const valid: JsMsg[] = [];
    for (const msg of msgs) {
      const event = decodeUsageEvent(decoder.decode(msg.data));
      if (event) {
        events.push(event);
        valid.push(msg);
      } else {
        // Redelivering an undecodable message would fail forever; drop it loudly instead.
        msg.term('undecodable usage event');
        this.#opts.onError?.(new Error(`undecodable usage event at stream sequence ${msg.seq} terminated`));
      }
    }
    if (events.length === 0) return;
    try {
      await handler(events);
    } catch {
      // Why 1 s: the store just failed; an immediate redelivery would most likely fail the same way.
      for (const msg of valid) msg.nak(this.#nakDelayMs);
      return;
    }
    for (const msg of valid) msg.ack();
  }

  #locallyIdle(): boolean {
    return this.#buffer.length === 0 && this.#handling === null && this.#subscribingDone();
  }

  /** With a handler, deliveries can only be counted on once the consumer runs (or failed to start). */
  #subscribingDone(): boolean {
    return this.#handler === null || this.#messages !== null || this.#subscribeSettled;
  }

  async #consumerIdle(): Promise<boolean> {
    const activity = this.#activity;
    try {
      const info = await this.#jsm.consumers.info(this.#stream, this.#durable);
      return (
        info.num_pending === 0 &&
        info.num_ack_pending === 0 &&
        activity === this.#activity &&
        this.#locallyIdle()
      );
    } catch {
      return false; // NATS unreachable or the consumer not yet created: not known to be idle
    }
  }
}

function apiErrorCode(err: unknown): number | undefined {
  return (err as Partial<NatsError> | null)?.api_error?.err_code;
}

function toError(err: unknown, message: string): Error {
  return new Error(err instanceof Error ? `${message}: ${err.message}` : message, { cause: err });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
