import type { Router } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ConfigSnapshot, ConfigSource, DB, SecretBox } from '@switchyard/core';
import { GatewayError } from '@switchyard/core';
import { createAdminRouter } from './admin-router.js';
import { ChannelRepository } from './channel-repository.js';
import { InProcessConfigSource } from './in-process-config-source.js';
import { KeyRepository } from './key-repository.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { UsageQuery } from './usage-query.js';

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

  readonly #source: InProcessConfigSource;
  readonly #builder: SnapshotBuilder;
  readonly #opts: ControlPlaneOptions;
  readonly #now: () => number;
  #version = 0;
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
  }

  /** Builds and publishes the first snapshot; configSource.current() answers from then on. */
  async start(): Promise<void> {
    const snapshot = await this.#rebuild();
    this.#opts.logger.info(
      { version: snapshot.version, channels: snapshot.channels.length, keys: snapshot.keys.length },
      'control plane started',
    );
  }

  /** A new router with the admin REST API, to be mounted at `/admin/v1`. */
  adminRouter(): Router {
    const db = this.#opts.db;
    return createAdminRouter(
      {
        channels: new ChannelRepository(db),
        keys: new KeyRepository(db),
        usage: new UsageQuery(db),
        secretBox: this.#opts.secretBox,
        logger: this.#opts.logger,
        now: this.#now,
        publish: async () => {
          await this.#rebuild();
        },
      },
      this.#opts.adminTokenHash,
    );
  }

  /**
   * Waits for a rebuild in progress and drops every subscriber. The database stays open (the caller
   * owns it); admin writes after close() are answered 503.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    this.#source.close();
  }

  #rebuild(): Promise<ConfigSnapshot> {
    const run = this.#queue.then(async () => {
      if (this.#closed) {
        throw new GatewayError('The control plane is shutting down.', {
          code: 'control_plane_closed',
          status: 503,
          type: 'api_error',
        });
      }
      const snapshot = await this.#builder.build(this.#version + 1);
      this.#version = snapshot.version;
      this.#source.publish(snapshot);
      return snapshot;
    });
    // A failed rebuild must not wedge the queue; the caller still sees its own failure.
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
