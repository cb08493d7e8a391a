import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Channel, ChannelAccount, ConfigSnapshot, DB, KeyRecord, SecretBox } from '@switchyard/core';
import { ChannelRepository, type StoredAccount, type StoredChannel } from './channel-repository.js';
import { KeyRepository, type StoredKey } from './key-repository.js';

/**
 * Reads channels, accounts and keys in one transaction (one consistent view on MySQL too) and turns
 * them into the relay's ConfigSnapshot, with upstream credentials decrypted. Disabled channels, accounts
 * and keys are included with `enabled: false`; filtering is the relay's job.
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
    const { channels, keys } = await this.#db.transaction().execute(async (trx) => ({
      channels: await new ChannelRepository(trx).list(),
      keys: await new KeyRepository(trx).list(),
    }));
    return {
      version,
      channels: channels.map((c) => this.#toChannel(c)),
      keys: keys.map(toKeyRecord),
    };
  }

  #toChannel(channel: StoredChannel): Channel {
    const accounts: ChannelAccount[] = [];
    for (const account of channel.accounts) {
      const decrypted = this.#toAccount(account);
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
      group: channel.group,
      enabled: channel.enabled,
      accounts,
    };
  }

  /**
   * An account whose credential does not decrypt (the secret key was rotated or the row is corrupt) is
   * left out of the snapshot and logged, rather than failing every admin write and the whole snapshot.
   */
  #toAccount(account: StoredAccount): ChannelAccount | undefined {
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
    return {
      id: account.id,
      channelId: account.channelId,
      name: account.name,
      enabled: account.enabled,
      apiKey,
    };
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
  };
}

/** Only the message: a decipher error carries no secret, but keep the log line small. */
function errorSummary(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
