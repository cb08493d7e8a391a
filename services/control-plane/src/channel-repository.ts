import type { Kysely } from 'kysely';
import type {
  AccountKind,
  AccountRow,
  AccountStrategy,
  BreakerSettings,
  Channel,
  ChannelRow,
  DB,
  ProviderId,
} from '@switchyard/core';
import { ACCOUNT_STRATEGIES, DEFAULT_BREAKER, PROVIDER_IDS } from '@switchyard/core';
import { parseStringArray, parseStringRecord } from './json-columns.js';
import { toManagedBy, type ManagedBy } from './managed-by.js';

/** An upstream account as stored: the credential stays a SecretBox envelope. */
export interface StoredAccount {
  id: number;
  channelId: number;
  name: string;
  enabled: boolean;
  kind: AccountKind;
  /** SecretBox envelope of the credential; never leaves the control plane as is. */
  credential: string;
  createdAt: number;
  updatedAt: number | null;
  oauthProfile: string | null;
  /** Non-secret OAuth settings resolved at authorization (token_url, client_id, scopes, ...). */
  oauthConfig: Record<string, unknown> | null;
  tokenExpiresAt: number | null;
  disabledReason: string | null;
  disabledAt: number | null;
  disabledBy: 'admin' | 'auto' | null;
  proxyId: number | null;
  /** 'file' when a configuration file manages it. */
  managedBy: ManagedBy;
}

/** A channel row with its accounts, typed and coerced (ids and epoch-ms as numbers, flags as booleans). */
export type StoredChannel = Omit<Channel, 'accounts'> & {
  createdAt: number;
  updatedAt: number;
  /** 'file' when a configuration file manages it. */
  managedBy: ManagedBy;
  accounts: StoredAccount[];
};

/** An account to insert; `credential` is already encrypted. */
export interface NewAccount {
  name: string;
  credential: string;
  kind?: AccountKind;
  oauthProfile?: string | null;
  oauthConfig?: Record<string, unknown> | null;
  tokenExpiresAt?: number | null;
  proxyId?: number | null;
  enabled?: boolean;
}

export type NewChannel = Omit<Channel, 'id' | 'accounts'> & { accounts: NewAccount[] };

/** Fields of a channel to change; `accounts`, when present, replaces the whole account list. */
export type ChannelPatch = Partial<NewChannel>;

/**
 * SQL for channels and their accounts. Writes that touch both run in one transaction, so a reader
 * never sees a channel without its accounts.
 */
export class ChannelRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Every channel with its accounts, ordered by id. */
  async list(): Promise<StoredChannel[]> {
    return listChannels(this.#db);
  }

  async get(id: number): Promise<StoredChannel | undefined> {
    return getChannel(this.#db, id);
  }

  async create(channel: NewChannel, now: number): Promise<StoredChannel> {
    return this.#db.transaction().execute(async (trx) => {
      const result = await trx
        .insertInto('channels')
        .values({
          name: channel.name,
          provider: channel.provider,
          base_url: channel.baseUrl,
          options: JSON.stringify(channel.options),
          models: JSON.stringify(channel.models),
          model_mapping: JSON.stringify(channel.modelMapping),
          priority: channel.priority,
          weight: channel.weight,
          group_name: channel.groups[0] ?? 'default',
          groups: JSON.stringify(channel.groups),
          enabled: channel.enabled ? 1 : 0,
          account_strategy: channel.accountStrategy,
          sticky_sessions: channel.stickySessions ? 1 : 0,
          connect_timeout_ms: channel.timeouts.connectMs,
          first_byte_timeout_ms: channel.timeouts.firstByteMs,
          idle_timeout_ms: channel.timeouts.idleMs,
          breaker: JSON.stringify(channel.breaker),
          created_at: now,
          updated_at: now,
        })
        .executeTakeFirstOrThrow();
      const id = Number(result.insertId);
      await insertAccounts(trx, id, channel.accounts, now);
      return requireChannel(trx, id);
    });
  }

  /**
   * Applies `patch`, or the patch `patch(current)` computes from the channel as it is inside the
   * transaction (a throw rolls the transaction back and propagates); resolves undefined when the
   * channel does not exist.
   */
  async update(
    id: number,
    patch: ChannelPatch | ((current: StoredChannel) => ChannelPatch),
    now: number,
  ): Promise<StoredChannel | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      // Written first so the row is locked (MySQL) before it is read: a concurrent PATCH cannot change
      // what `patch(current)` checked against before this one commits.
      await trx.updateTable('channels').set({ updated_at: now }).where('id', '=', id).execute();
      // Checked by reading, not by the update's row count: MySQL may count only rows that changed.
      const current = await getChannel(trx, id);
      if (current === undefined) return undefined;
      const changes = typeof patch === 'function' ? patch(current) : patch;
      await trx
        .updateTable('channels')
        .set({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.provider !== undefined && { provider: changes.provider }),
          ...(changes.baseUrl !== undefined && { base_url: changes.baseUrl }),
          ...(changes.options !== undefined && { options: JSON.stringify(changes.options) }),
          ...(changes.models !== undefined && { models: JSON.stringify(changes.models) }),
          ...(changes.modelMapping !== undefined && { model_mapping: JSON.stringify(changes.modelMapping) }),
          ...(changes.priority !== undefined && { priority: changes.priority }),
          ...(changes.weight !== undefined && { weight: changes.weight }),
          ...(changes.groups !== undefined && {
            group_name: changes.groups[0] ?? 'default',
            groups: JSON.stringify(changes.groups),
          }),
          ...(changes.enabled !== undefined && { enabled: changes.enabled ? 1 : 0 }),
          ...(changes.accountStrategy !== undefined && { account_strategy: changes.accountStrategy }),
          ...(changes.stickySessions !== undefined && { sticky_sessions: changes.stickySessions ? 1 : 0 }),
          ...(changes.timeouts !== undefined && {
            connect_timeout_ms: changes.timeouts.connectMs,
            first_byte_timeout_ms: changes.timeouts.firstByteMs,
            idle_timeout_ms: changes.timeouts.idleMs,
          }),
          ...(changes.breaker !== undefined && { breaker: JSON.stringify(changes.breaker) }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      if (changes.accounts !== undefined) {
        await trx.deleteFrom('accounts').where('channel_id', '=', id).execute();
        await insertAccounts(trx, id, changes.accounts, now);
      }
      return requireChannel(trx, id);
    });
  }

  /** Deletes the channel and its accounts; resolves false when it did not exist. */
  async delete(id: number): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('accounts').where('channel_id', '=', id).execute();
      const result = await trx.deleteFrom('channels').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }
}

async function insertAccounts(db: Kysely<DB>, channelId: number, accounts: NewAccount[], now: number) {
  if (accounts.length === 0) return;
  await db
    .insertInto('accounts')
    .values(
      accounts.map((a) => ({
        channel_id: channelId,
        name: a.name,
        credential: a.credential,
        enabled: a.enabled === false ? 0 : 1,
        kind: a.kind ?? 'api_key',
        oauth_profile: a.oauthProfile ?? null,
        oauth_config: a.oauthConfig == null ? null : JSON.stringify(a.oauthConfig),
        token_expires_at: a.tokenExpiresAt ?? null,
        proxy_id: a.proxyId ?? null,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}

async function listChannels(db: Kysely<DB>): Promise<StoredChannel[]> {
  const channels = await db.selectFrom('channels').selectAll().orderBy('id').execute();
  const accounts = await db.selectFrom('accounts').selectAll().orderBy('id').execute();
  return assemble(channels, accounts);
}

async function getChannel(db: Kysely<DB>, id: number): Promise<StoredChannel | undefined> {
  const channel = await db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  if (channel === undefined) return undefined;
  const accounts = await db
    .selectFrom('accounts')
    .selectAll()
    .where('channel_id', '=', id)
    .orderBy('id')
    .execute();
  return assemble([channel], accounts)[0];
}

async function requireChannel(db: Kysely<DB>, id: number): Promise<StoredChannel> {
  const channel = await getChannel(db, id);
  if (channel === undefined) throw new Error(`channel ${id} vanished inside its own transaction`);
  return channel;
}

function assemble(channels: ChannelRow[], accounts: AccountRow[]): StoredChannel[] {
  const byChannel = new Map<number, StoredAccount[]>();
  for (const row of accounts) {
    const account = toAccount(row);
    const list = byChannel.get(account.channelId);
    if (list === undefined) byChannel.set(account.channelId, [account]);
    else list.push(account);
  }
  return channels.map((row) => {
    const id = Number(row.id);
    return {
      id,
      name: row.name,
      provider: toProvider(row.provider),
      baseUrl: row.base_url,
      options: row.options === null ? {} : parseStringRecord(row.options),
      models: parseStringArray(row.models),
      modelMapping: parseStringRecord(row.model_mapping),
      priority: Number(row.priority),
      weight: Number(row.weight),
      groups: row.groups === null ? [row.group_name] : parseStringArray(row.groups),
      enabled: Number(row.enabled) === 1,
      accountStrategy: toStrategy(row.account_strategy),
      stickySessions: Number(row.sticky_sessions ?? 0) === 1,
      timeouts: {
        connectMs: nullableNumber(row.connect_timeout_ms),
        firstByteMs: nullableNumber(row.first_byte_timeout_ms),
        idleMs: nullableNumber(row.idle_timeout_ms),
      },
      breaker: toBreaker(row.breaker),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      managedBy: toManagedBy(row.managed_by),
      accounts: byChannel.get(id) ?? [],
    };
  });
}

export function toAccount(row: AccountRow): StoredAccount {
  return {
    id: Number(row.id),
    channelId: Number(row.channel_id),
    name: row.name,
    credential: row.credential,
    enabled: Number(row.enabled) === 1,
    kind: row.kind === 'oauth' ? 'oauth' : 'api_key',
    createdAt: Number(row.created_at),
    updatedAt: nullableNumber(row.updated_at),
    oauthProfile: row.oauth_profile,
    oauthConfig: row.oauth_config === null ? null : (JSON.parse(row.oauth_config) as Record<string, unknown>),
    tokenExpiresAt: nullableNumber(row.token_expires_at),
    disabledReason: row.disabled_reason,
    disabledAt: nullableNumber(row.disabled_at),
    disabledBy: row.disabled_by === 'admin' || row.disabled_by === 'auto' ? row.disabled_by : null,
    proxyId: nullableNumber(row.proxy_id),
    managedBy: toManagedBy(row.managed_by),
  };
}

function nullableNumber(v: number | string | null): number | null {
  return v === null ? null : Number(v);
}

function toStrategy(v: string | null): AccountStrategy {
  return ACCOUNT_STRATEGIES.find((s) => s === v) ?? 'round-robin';
}

/** Stored overrides over the defaults; a field missing from the JSON keeps its default. */
function toBreaker(text: string | null): BreakerSettings {
  if (text === null) return { ...DEFAULT_BREAKER };
  const stored = JSON.parse(text) as Partial<BreakerSettings>;
  return { ...DEFAULT_BREAKER, ...stored };
}

function toProvider(value: string): ProviderId {
  const found = PROVIDER_IDS.find((p) => p === value);
  if (found === undefined) throw new Error(`unknown provider '${value}' in the channels table`);
  return found;
}
