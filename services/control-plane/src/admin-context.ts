import type { Logger } from 'pino';
import type { CoordinationStore, RelayRegistry, SecretBox } from '@switchyard/core';
import type { AccountRepository } from './account-repository.js';
import type { ChannelRepository } from './channel-repository.js';
import type { ChannelTester } from './channel-tester.js';
import type { ApplyOutcome } from './declarative-applier.js';
import type { GroupRepository } from './group-repository.js';
import type { KeyRepository } from './key-repository.js';
import type { ModelAliasRepository } from './model-alias-repository.js';
import type { OAuthContext } from './oauth-routes.js';
import type { PriceRepository } from './price-repository.js';
import type { ProxyRepository } from './proxy-repository.js';
import type { UsageQuery } from './usage-query.js';
import type { UserRepository } from './user-repository.js';
import type { DispatcherFor, UpstreamPolicy } from './upstream-policy.js';

/** What the admin route handlers share. */
export interface AdminContext {
  channels: ChannelRepository;
  keys: KeyRepository;
  users: UserRepository;
  groups: GroupRepository;
  prices: PriceRepository;
  accounts: AccountRepository;
  proxies: ProxyRepository;
  modelAliases: ModelAliasRepository;
  usage: UsageQuery;
  /**
   * Where the relays keep cooldowns and report account health; absent when the control plane runs
   * without one (health then shows no breaker reports and no cooldowns).
   */
  coordination?: CoordinationStore | undefined;
  /** Where relays announce themselves (GET /relays) and what backs it; absent: the list is unknown. */
  relays?: { registry: RelayRegistry; backend: 'redis' | 'memory' } | undefined;
  /** The version of the snapshot this control plane publishes now. */
  snapshotVersion: () => number;
  secretBox: SecretBox;
  logger: Logger;
  now: () => number;
  /**
   * Rebuilds the config snapshot from the database and hands it to every subscriber. Handlers await
   * it after each successful write and before responding, so a client that sees the response can rely
   * on the relay already having the change.
   */
  publish: () => Promise<void>;
  /** Which non-public upstream and proxy hosts may be saved and connected to (SWITCHYARD_UPSTREAM_ALLOW). */
  upstreamPolicy: UpstreamPolicy;
  /** The dispatcher for the control plane's own upstream calls, per account proxy URL (null: direct). */
  dispatcherFor: DispatcherFor;
  /** Sends the channel/account test requests (also used by the recovery probe). */
  channelTester: ChannelTester;
  /** OAuth accounts: pending authorizations, the token endpoint client and the refresher. */
  oauth: OAuthContext;
  /** Applies a declarative configuration document (ControlPlane.apply: validated, one transaction, one publish). */
  apply: (document: unknown, opts: { dryRun: boolean }) => Promise<ApplyOutcome>;
}
