import { createHash } from 'node:crypto';
import type { Router } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type {
  ConfigSnapshot,
  ConfigSource,
  CoordinationStore,
  DB,
  RelayRegistry,
  SecretBox,
} from '@switchyard/core';
import { GatewayError } from '@switchyard/core';
import { BalanceRefresher } from './balance-refresher.js';
import { ConfigRevision } from './config-revision.js';

/** One resync tick in this many rebuilds the whole snapshot to find changes made outside any control plane. */
const DEEP_RESYNC_EVERY = 15;
import { AccountProbe, DEFAULT_ACCOUNT_PROBE_INTERVAL_MS } from './account-probe.js';
import { AccountRepository } from './account-repository.js';
import { AccountStatusService } from './account-status.js';
import { createAdminRouter } from './admin-router.js';
import { DashboardCallers } from './dashboard-caller.js';
import { createDashboardRouter } from './dashboard-router.js';
import { ChannelRepository } from './channel-repository.js';
import { ChannelTester } from './channel-tester.js';
import { DeclarationApplier, type ApplyOutcome } from './declarative-applier.js';
import { parseDeclaration } from './declarative-input.js';
import { GroupRepository } from './group-repository.js';
import { InProcessConfigSource } from './in-process-config-source.js';
import { KeyRepository } from './key-repository.js';
import { ModelAliasRepository } from './model-alias-repository.js';
import { OAuthAccountRepository } from './oauth-account-repository.js';
import { HttpOAuthTokenClient, type OAuthTokenClient } from './oauth-http.js';
import { DEFAULT_OAUTH_REFRESH_INTERVAL_MS, OAuthRefresher } from './oauth-refresher.js';
import { OAuthStateRepository } from './oauth-state-repository.js';
import { PriceRepository } from './price-repository.js';
import { ProxyRepository } from './proxy-repository.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { UsageQuery } from './usage-query.js';
import { UserRepository } from './user-repository.js';
import { DEFAULT_UPSTREAM_POLICY, type DispatcherFor, type UpstreamPolicy } from './upstream-policy.js';

export interface ControlPlaneOptions {
  /** The database, with migrations already applied by the caller (who also closes it). */
  db: Kysely<DB>;
  /** Encrypts upstream account keys at rest (`accounts.credential`) and decrypts them for snapshots. */
  secretBox: SecretBox;
  /** Hex SHA-256 of the admin token; a request's bearer token is hashed and compared in constant time. */
  adminTokenHash: string;
  logger: Logger;
  /** Clock in epoch milliseconds; tests pass a fake one. */
  now?: () => number;
  /**
   * The relays' coordination store: the admin API reads account health and cooldowns from it and
   * clears an account's cooldown when an admin re-enables it. Optional: without it health shows none.
   */
  coordination?: CoordinationStore;
  /**
   * Where relays announce their snapshot version and dependencies, read by GET /admin/v1/relays:
   * Redis distributed, memory in the all-in-one. Optional: without it the relay list is unknown.
   */
  relays?: { registry: RelayRegistry; backend: 'redis' | 'memory' };
  /**
   * Which non-public hosts upstream base URLs and proxies may name (SWITCHYARD_UPSTREAM_ALLOW);
   * default `{ allow: ['loopback'] }`.
   */
  upstreamPolicy?: UpstreamPolicy;
  /** Between two recovery-probe rounds over auto-disabled accounts; default 5 min, 0 = off. */
  accountProbeIntervalMs?: number;
  /**
   * The control plane's outbound dispatchers (channel tests, probes, OAuth token requests): the
   * composition root passes the adapters' address-guarded, proxy-aware OutboundDispatchers.
   */
  dispatcherFor: DispatcherFor;
  /** Between two OAuth refresh ticks; default 30 s, 0 = off (oauthRefresher.refreshNow() still works). */
  oauthRefreshIntervalMs?: number;
  /** Calls OAuth token endpoints; default: undici through `dispatcherFor` (the account's proxy). */
  oauthTokenClient?: OAuthTokenClient;
  /**
   * Between two looks at the ledger for new usage rows, which republish the snapshot so its spend
   * (the coordination store's seed) stays fresh; default 0 = off (the all-in-one's in-memory store
   * never loses its state; distributed control planes turn it on).
   */
  balanceRefreshIntervalMs?: number;
  /**
   * Between two rebuilds of the snapshot from the database, published only when its content differs
   * from the last one published; default 0 = off. Several control planes share one database but each
   * publishes only its own admin writes: this is how the relays watching one replica learn of a change
   * made through another (the distributed role turns it on).
   */
  peerResyncIntervalMs?: number;
}

/**
 * The control-plane role, embedded or standalone: owns the database, serves the admin REST API and
 * publishes versioned config snapshots through `configSource`.
 *
 * Every successful admin write rebuilds the snapshot from the database (version + 1) and hands it to
 * every subscriber before the HTTP response goes out. Rebuilds run one at a time, in order, each reading
 * after the write that caused it, so the last published snapshot always reflects the last write.
 */
export class ControlPlane {
  /** In-process source: current() is the latest snapshot, subscribe() gets each newer one synchronously. */
  readonly configSource: ConfigSource;
  /** Disables accounts the relays report (AccountStatusReporter); the lead wires gRPC and in-process relays to it. */
  readonly accountStatus: AccountStatusService;
  /** Re-enables auto-disabled API-key accounts that answer again; runs from start() to close(). */
  readonly accountProbe: AccountProbe;
  /** Refreshes OAuth access tokens under a per-account lease; runs from start() to close(). */
  readonly oauthRefresher: OAuthRefresher;
  /** Republishes the snapshot when the ledger moved, so relays' seeds of spend stay fresh. */
  readonly balanceRefresher: BalanceRefresher;

  readonly #source: InProcessConfigSource;
  readonly #builder: SnapshotBuilder;
  readonly #opts: ControlPlaneOptions;
  readonly #now: () => number;
  readonly #upstreamPolicy: UpstreamPolicy;
  readonly #dispatcherFor: DispatcherFor;
  readonly #tester: ChannelTester;
  readonly #oauthTokens: OAuthTokenClient;
  readonly #applier: DeclarationApplier;
  #applying: Promise<unknown> = Promise.resolve();
  #version = 0;
  readonly #revision: ConfigRevision;
  /** SHA-256 of the last published snapshot's content (its version aside). */
  #fingerprint: string | null = null;
  #resyncTimer: NodeJS.Timeout | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: ControlPlaneOptions) {
    if (!/^[0-9a-fA-F]{64}$/.test(opts.adminTokenHash)) {
      throw new Error('adminTokenHash must be the hex SHA-256 of the admin token (64 hex characters)');
    }
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#source = new InProcessConfigSource(opts.logger);
    this.configSource = this.#source;
    this.#builder = new SnapshotBuilder(opts.db, opts.secretBox, opts.logger);
    this.#revision = new ConfigRevision(opts.db);
    this.#upstreamPolicy = opts.upstreamPolicy ?? DEFAULT_UPSTREAM_POLICY;
    this.#dispatcherFor = opts.dispatcherFor;
    this.#tester = new ChannelTester({
      db: opts.db,
      secretBox: opts.secretBox,
      policy: this.#upstreamPolicy,
      dispatcherFor: this.#dispatcherFor,
      logger: opts.logger,
      now: this.#now,
    });
    const publish = async () => {
      await this.#rebuild();
    };
    this.accountStatus = new AccountStatusService({
      db: opts.db,
      logger: opts.logger,
      now: this.#now,
      publish,
    });
    this.accountProbe = new AccountProbe({
      db: opts.db,
      channels: new ChannelRepository(opts.db),
      tester: this.#tester,
      status: this.accountStatus,
      logger: opts.logger,
      publish,
      intervalMs: opts.accountProbeIntervalMs ?? DEFAULT_ACCOUNT_PROBE_INTERVAL_MS,
      coordination: opts.coordination,
    });
    this.#oauthTokens =
      opts.oauthTokenClient ?? new HttpOAuthTokenClient({ dispatcherFor: this.#dispatcherFor });
    this.oauthRefresher = new OAuthRefresher({
      db: opts.db,
      secretBox: opts.secretBox,
      tokens: this.#oauthTokens,
      logger: opts.logger,
      now: this.#now,
      publish,
      intervalMs: opts.oauthRefreshIntervalMs ?? DEFAULT_OAUTH_REFRESH_INTERVAL_MS,
    });
    this.#applier = new DeclarationApplier({
      db: opts.db,
      secretBox: opts.secretBox,
      upstreamPolicy: this.#upstreamPolicy,
    });
    this.balanceRefresher = new BalanceRefresher({
      db: opts.db,
      logger: opts.logger,
      publish,
      intervalMs: opts.balanceRefreshIntervalMs ?? 0,
    });
  }

  /** Builds and publishes the first snapshot; configSource.current() answers from then on. */
  async start(): Promise<void> {
    const snapshot = await this.#rebuild('start');
    this.#opts.logger.info(
      { version: snapshot.version, channels: snapshot.channels.length, keys: snapshot.keys.length },
      'control plane started',
    );
    this.accountProbe.start();
    this.oauthRefresher.start();
    await this.balanceRefresher.start();
    const every = this.#opts.peerResyncIntervalMs ?? 0;
    if (every > 0) {
      let tick = 0;
      this.#resyncTimer = setInterval(() => {
        // Every write through any replica moves the shared counter, which costs one row to read; the
        // whole snapshot is rebuilt and compared only every DEEP_RESYNC_EVERY ticks, for changes
        // nobody numbered (an edit made in SQL). Why: a rebuild of 50,000 keys takes ~0.3 s.
        const deep = ++tick % DEEP_RESYNC_EVERY === 0;
        void this.resyncNow({ deep }).catch((err: unknown) => {
          if (!this.#closed)
            this.#opts.logger.warn({ err }, 'config resync failed; the next interval tries again');
        });
      }, every);
      // Background work: it never keeps the process alive on its own.
      this.#resyncTimer.unref();
    }
  }

  /**
   * Publishes what changed since the last publish, resolving true when it published: a write through
   * another control plane (the shared counter moved: one row read), and with `deep` (the default)
   * also a change nobody numbered, such as an edit made directly in SQL (the whole snapshot rebuilt
   * and compared).
   */
  async resyncNow(opts: { deep?: boolean } = {}): Promise<boolean> {
    return (await this.#rebuild(opts.deep === false ? 'resync' : 'deep-resync')) !== null;
  }

  /** A new router with the admin REST API, to be mounted at `/admin/v1`. */
  adminRouter(): Router {
    const db = this.#opts.db;
    return createAdminRouter(
      {
        channels: new ChannelRepository(db),
        keys: new KeyRepository(db),
        users: new UserRepository(db),
        groups: new GroupRepository(db),
        prices: new PriceRepository(db),
        accounts: new AccountRepository(db),
        proxies: new ProxyRepository(db),
        modelAliases: new ModelAliasRepository(db),
        usage: new UsageQuery(db),
        coordination: this.#opts.coordination,
        relays: this.#opts.relays,
        snapshotVersion: () => this.#version,
        secretBox: this.#opts.secretBox,
        logger: this.#opts.logger,
        now: this.#now,
        publish: async () => {
          await this.#rebuild();
        },
        upstreamPolicy: this.#upstreamPolicy,
        dispatcherFor: this.#dispatcherFor,
        channelTester: this.#tester,
        apply: (document, applyOpts) => this.apply(document, applyOpts),
        oauth: {
          states: new OAuthStateRepository(db),
          accounts: new OAuthAccountRepository(db),
          tokens: this.#oauthTokens,
          refresher: this.oauthRefresher,
        },
      },
      this.#opts.adminTokenHash,
    );
  }

  /**
   * Applies a declarative configuration document (switchyard.yaml as JSON, secrets resolved to
   * `{ value }`): validated first (a 400 naming the JSON path of the first bad field), then written in
   * one transaction, all or nothing; the snapshot is republished once at the end, and not at all when
   * nothing changed or `dryRun` is set. Applies in this process run one at a time. Another control
   * plane applying the same file at the same moment makes one of the two transactions fail on a
   * unique key (a declared entry, a group or a price); that apply is run once more, and then finds
   * the entries the other one created.
   */
  async apply(document: unknown, opts: { dryRun?: boolean } = {}): Promise<ApplyOutcome> {
    const doc = parseDeclaration(document);
    const dryRun = opts.dryRun ?? false;
    const once = () => this.#applier.apply(doc, { dryRun, now: this.#now() });
    const run = this.#applying.then(async () => {
      let outcome: ApplyOutcome;
      try {
        outcome = await once();
      } catch (err) {
        // A refusal (validation, conflict) is final; a database error may be the lost race above.
        if (err instanceof GatewayError) throw err;
        this.#opts.logger.warn({ err }, 'configuration apply failed; running it once more');
        outcome = await once();
      }
      if (outcome.changed) await this.#rebuild();
      const counts: Record<string, number> = {};
      for (const c of outcome.changes) counts[c.action] = (counts[c.action] ?? 0) + 1;
      this.#opts.logger.info({ dryRun, ...counts }, 'configuration applied');
      return outcome;
    });
    this.#applying = run.catch(() => undefined);
    return run;
  }

  /**
   * A new router with the key owners' dashboard (their balance and usage, authenticated with a client
   * key), to be mounted at `/v1/dashboard`.
   */
  dashboardRouter(): Router {
    const db = this.#opts.db;
    return createDashboardRouter({
      callers: new DashboardCallers(db),
      usage: new UsageQuery(db),
      logger: this.#opts.logger,
      now: this.#now,
    });
  }

  /**
   * Waits for a rebuild in progress and drops every subscriber. The database stays open (the caller
   * owns it); admin writes after close() are answered 503.
   */
  async close(): Promise<void> {
    // Before #closed: a tick in progress may still publish what it refreshed.
    await this.oauthRefresher.stop();
    await this.accountProbe.stop();
    await this.balanceRefresher.stop();
    if (this.#resyncTimer !== null) clearInterval(this.#resyncTimer);
    this.#resyncTimer = null;
    this.#closed = true;
    await this.#queue;
    this.#source.close();
  }

  /**
   * Builds the snapshot from the database and publishes it, numbered from the database's shared
   * revision so every replica gives the same configuration the same version: `write` (after a change
   * this process made) takes a new number; `start` adopts the current one (another replica may have
   * published it already); `resync` publishes only when the shared number moved, `deep-resync` also
   * when the content did,
   * adopting a number a peer took and taking a new one for a change nobody numbered (an edit in SQL).
   */
  #rebuild(mode: 'resync' | 'deep-resync'): Promise<ConfigSnapshot | null>;
  #rebuild(mode?: 'write' | 'start'): Promise<ConfigSnapshot>;
  #rebuild(mode: 'write' | 'start' | 'resync' | 'deep-resync' = 'write'): Promise<ConfigSnapshot | null> {
    const run = this.#queue.then(async () => {
      if (this.#closed) {
        throw new GatewayError('The control plane is shutting down.', {
          code: 'control_plane_closed',
          status: 503,
          type: 'api_error',
        });
      }
      // A write takes its number before building, so a higher number never carries older content.
      let version = mode === 'write' ? await this.#revision.next() : 0;
      const shared = mode === 'write' ? version : await this.#revision.current();
      if (mode === 'resync' && shared <= this.#version) return null;
      const built = await this.#builder.build(0);
      const fingerprint = createHash('sha256').update(JSON.stringify(built)).digest('hex');
      if (mode === 'start') version = shared > 0 ? shared : await this.#revision.next();
      else if (mode === 'resync' || mode === 'deep-resync') {
        if (shared > this.#version) version = shared;
        else if (fingerprint !== this.#fingerprint) version = await this.#revision.next();
        else return null;
      }
      const snapshot = { ...built, version };
      this.#fingerprint = fingerprint;
      this.#version = version;
      this.#source.publish(snapshot);
      return snapshot;
    });
    // A failed rebuild must not wedge the queue; the caller still sees its own failure.
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
