import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Channel, ChannelAccount, ConfigSnapshot, DB, KeyRecord, SecretBox } from '@switchyard/core';
import { accountDecorations } from '@switchyard/core';
import { ChannelRepository, type StoredAccount, type StoredChannel } from './channel-repository.js';
import { GroupRepository } from './group-repository.js';
import { KeyRepository, type StoredKey } from './key-repository.js';
import { ModelAliasRepository } from './model-alias-repository.js';
import { decodeOAuthCredential } from './oauth-credential.js';
import { PriceRepository } from './price-repository.js';
import { ProxyRepository, type StoredProxy } from './proxy-repository.js';
import { UserRepository } from './user-repository.js';

/** An account's outbound route in the snapshot: through a proxy URL, direct (null), or out of rotation. */
type ProxyRoute = { ok: true; proxyUrl: string | null } | { ok: false; reason: string };

/**
 * Reads channels, accounts, keys, proxies, model aliases, users, groups and prices in one transaction
 * (one consistent view on MySQL too) and turns them into the relay's ConfigSnapshot, with upstream credentials and proxy URLs
 * decrypted. Disabled channels, accounts and keys are included with `enabled: false`; filtering is the
 * relay's job. An account whose proxy is disabled (or unusable) is sent as disabled rather than direct:
 * an account meant to leave through a proxy must never silently use the gateway's own address.
 */
export class SnapshotBuilder {
  readonly #db: Kysely<DB>;
  readonly #secretBox: SecretBox;
  readonly #logger: Logger;

  constructor(db: Kysely<DB>, secretBox: SecretBox, logger: Logger) {
    this.#db = db;
    this.#secretBox = secretBox;
    this.#logger = logger;
  }

  async build(version: number): Promise<ConfigSnapshot> {
    const { channels, keys, proxies, aliases, users, groups, prices } = await this.#db
      .transaction()
      .execute(async (trx) => ({
        channels: await new ChannelRepository(trx).list(),
        keys: await new KeyRepository(trx).list(),
        proxies: await new ProxyRepository(trx).list(),
        aliases: await new ModelAliasRepository(trx).list(),
        users: await new UserRepository(trx).records(),
        groups: await new GroupRepository(trx).records(),
        prices: await new PriceRepository(trx).prices(),
      }));
    const routes = new Map(proxies.map((p) => [p.id, this.#proxyRoute(p)]));
    return {
      version,
      channels: channels.map((c) => this.#toChannel(c, routes)),
      keys: keys.map(toKeyRecord),
      // fromEntries defines own properties, so an alias named like an Object.prototype key stays data.
      modelAliases: Object.fromEntries(aliases.map((a) => [a.alias, a.model])),
      users,
      groups,
      prices,
    };
  }

  #toChannel(channel: StoredChannel, routes: ReadonlyMap<number, ProxyRoute>): Channel {
    const accounts: ChannelAccount[] = [];
    for (const account of channel.accounts) {
      const decrypted = this.#toAccount(account, routes);
      if (decrypted !== undefined) accounts.push(decrypted);
    }
    return {
      id: channel.id,
      name: channel.name,
      provider: channel.provider,
      baseUrl: channel.baseUrl,
      options: channel.options,
      models: channel.models,
      modelMapping: channel.modelMapping,
      priority: channel.priority,
      weight: channel.weight,
      groups: channel.groups,
      enabled: channel.enabled,
      accountStrategy: channel.accountStrategy,
      stickySessions: channel.stickySessions,
      timeouts: channel.timeouts,
      breaker: channel.breaker,
      accounts,
    };
  }

  /**
   * An account whose credential does not decrypt (the secret key was rotated or the row is corrupt) is
   * left out of the snapshot and logged, rather than failing every admin write and the whole snapshot.
   */
  #toAccount(account: StoredAccount, routes: ReadonlyMap<number, ProxyRoute>): ChannelAccount | undefined {
    let apiKey: string;
    try {
      apiKey = this.#secretBox.decrypt(account.credential);
    } catch (err) {
      this.#logger.error(
        { accountId: account.id, channelId: account.channelId, err: errorSummary(err) },
        'account credential does not decrypt with the configured secret key; account left out of the snapshot',
      );
      return undefined;
    }
    if (account.kind === 'oauth') {
      // The relay presents the access token; the refresh token never leaves the control plane.
      const tokens = decodeOAuthCredential(apiKey);
      if (tokens === undefined) {
        this.#logger.error(
          { accountId: account.id, channelId: account.channelId },
          'OAuth account credential holds no access token; account left out of the snapshot',
        );
        return undefined;
      }
      apiKey = tokens.access_token;
    }
    const route: ProxyRoute =
      account.proxyId === null
        ? { ok: true, proxyUrl: null }
        : (routes.get(account.proxyId) ?? { ok: false, reason: 'its proxy does not exist' });
    if (!route.ok && account.enabled) {
      this.#logger.warn(
        { accountId: account.id, channelId: account.channelId, proxyId: account.proxyId },
        `account left out of rotation: ${route.reason}`,
      );
    }
    return {
      id: account.id,
      channelId: account.channelId,
      name: account.name,
      enabled: account.enabled && route.ok,
      apiKey,
      kind: account.kind,
      ...accountDecorations(account.kind, account.oauthProfile),
      proxyUrl: route.ok ? route.proxyUrl : null,
    };
  }

  /** A proxy's URL decrypted, or why its accounts cannot use it. */
  #proxyRoute(proxy: StoredProxy): ProxyRoute {
    if (!proxy.enabled) return { ok: false, reason: 'its proxy is disabled' };
    try {
      return { ok: true, proxyUrl: this.#secretBox.decrypt(proxy.url) };
    } catch (err) {
      this.#logger.error(
        { proxyId: proxy.id, err: errorSummary(err) },
        'proxy URL does not decrypt with the configured secret key; its accounts are left out of rotation',
      );
      return { ok: false, reason: 'its proxy URL does not decrypt' };
    }
  }
}

function toKeyRecord(key: StoredKey): KeyRecord {
  return {
    id: key.id,
    name: key.name,
    keyHash: key.keyHash,
    models: key.models,
    expiresAt: key.expiresAt,
    enabled: key.enabled,
    group: key.group,
    pinnedChannelId: key.pinnedChannelId,
    excludedChannelIds: key.excludedChannelIds,
    userId: key.userId,
    quotaNano: key.quotaNano,
    usedNano: key.usedNano,
    ipAllowlist: key.ipAllowlist,
    rpmLimit: key.rpmLimit,
    tpmLimit: key.tpmLimit,
    concurrencyLimit: key.concurrencyLimit,
    createdAt: key.createdAt,
  };
}

/** Only the message: a decipher error carries no secret, but keep the log line small. */
function errorSummary(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
