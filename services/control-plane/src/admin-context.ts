import type { Logger } from 'pino';
import type { SecretBox } from '@switchyard/core';
import type { ChannelRepository } from './channel-repository.js';
import type { KeyRepository } from './key-repository.js';
import type { UsageQuery } from './usage-query.js';

/** What the admin route handlers share. */
export interface AdminContext {
  channels: ChannelRepository;
  keys: KeyRepository;
  usage: UsageQuery;
  secretBox: SecretBox;
  logger: Logger;
  now: () => number;
  /**
   * Rebuilds the config snapshot from the database and hands it to every subscriber. Handlers await
   * it after each successful write and before responding, so a client that sees the response can rely
   * on the relay already having the change.
   */
  publish: () => Promise<void>;
}
