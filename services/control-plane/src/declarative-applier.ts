import type { Kysely } from 'kysely';
import {
  DEFAULT_BREAKER,
  GatewayError,
  hashKey,
  RATIO_ONE,
  type DB,
  type DeclaredEntryRow,
  type SecretBox,
} from '@switchyard/core';
import { breakerInput } from './channel-routes.js';
import { resolveNewChannelSettings, type ChannelSettings } from './channel-settings.js';
import {
  accountName,
  invalidAt,
  pathBelow,
  type ChannelEntry,
  type Declaration,
  type GroupEntry,
  type KeyEntry,
  type PriceEntry,
  type UserEntry,
} from './declarative-input.js';
import { DEFAULT_GROUP, GroupRepository } from './group-repository.js';
import { conflict } from './proxy-assignment.js';
import type { UpstreamPolicy } from './upstream-policy.js';

/** What a configuration file declares entries of. */
export type DeclaredKind = 'group' | 'price' | 'channel' | 'account' | 'user' | 'key';

/** What an apply did (or, dry, would do) to one entry. */
export type DeclaredAction = 'created' | 'updated' | 'unchanged' | 'deleted' | 'disabled';

/** One line of an apply's report; an account is named `<channel>/<account>`. Never a secret. */
export interface DeclaredChange {
  kind: DeclaredKind;
  name: string;
  action: DeclaredAction;
}

export interface ApplyOutcome {
  dryRun: boolean;
  changes: DeclaredChange[];
  /** Whether anything stored changed (false for a dry run): the snapshot is republished only then. */
  changed: boolean;
}

export interface DeclarationApplierOptions {
  db: Kysely<DB>;
  secretBox: SecretBox;
  /** The SSRF policy declared base URLs and credentials are checked against, as the admin API checks them. */
  upstreamPolicy: UpstreamPolicy;
}

/** The `disabled_reason` of an account the file declares `enabled: false`. */
export const FILE_DISABLED_REASON = 'disabled in the configuration file';

/** Why 12: the same display prefix the admin API keeps of a generated key (key-routes.ts). */
const KEY_PREFIX_LENGTH = 12;

const MANAGED = 'file';

/** Thrown inside a dry run's transaction so that everything it wrote is rolled back. */
class DryRunRollback extends Error {}

/**
 * Makes the database match a configuration document, in one transaction: entries in the file are
 * created, or adopted and updated to their declared fields (omitted fields take their defaults);
 * managed entries missing from the file are deleted (keys: disabled and released). Entries the file
 * never named are not touched, nor is runtime state (health, cooldowns, OAuth tokens, spend, last use).
 * Nothing is written when nothing differs, so applying the same document twice leaves every row (and
 * its updated_at) as it was. The rules are documented in services/control-plane/DECLARATIVE.md.
 */
export class DeclarationApplier {
  readonly #opts: DeclarationApplierOptions;

  constructor(opts: DeclarationApplierOptions) {
    this.#opts = opts;
  }

  async apply(doc: Declaration, opts: { dryRun: boolean; now: number }): Promise<ApplyOutcome> {
    // Provider-dependent checks need no database: a bad base_url fails before the transaction opens.
    const settings = (doc.channels ?? []).map((c, i) => channelSettings(c, i, this.#opts.upstreamPolicy));
    let outcome: ApplyOutcome | undefined;
    try {
      await this.#opts.db.transaction().execute(async (trx) => {
        const run = new ApplyRun(trx, this.#opts.secretBox, opts.now, await readEntries(trx));
        const changes = await run.execute(doc, settings);
        outcome = { dryRun: opts.dryRun, changes, changed: !opts.dryRun && run.wrote };
        if (opts.dryRun) throw new DryRunRollback();
      });
    } catch (err) {
      if (!(err instanceof DryRunRollback)) throw err;
    }
    if (outcome === undefined) throw new Error('apply finished without an outcome');
    return outcome;
  }
}

function channelSettings(c: ChannelEntry, i: number, policy: UpstreamPolicy): ChannelSettings {
  try {
    return resolveNewChannelSettings(
      {
        provider: c.provider,
        base_url: c.base_url,
        options: c.options,
        models: c.models,
        credentials: (c.accounts ?? []).map((a) => a.api_key),
      },
      policy,
    );
  } catch (err) {
    if (err instanceof GatewayError) {
      const path = pathBelow(`channels[${i}]`, err.param);
      // The shared validator names its own param first; the author needs the path in the file.
      const message = err.message.replace(/^'[^']*':\s*/, '');
      throw invalidAt(path, message, err.code);
    }
    throw err;
  }
}

type Entries = Map<DeclaredKind, Map<string, string>>;

async function readEntries(trx: Kysely<DB>): Promise<Entries> {
  const rows: DeclaredEntryRow[] = await trx.selectFrom('declared_entries').selectAll().execute();
  const entries: Entries = new Map();
  for (const row of rows) {
    const kind = row.kind as DeclaredKind;
    let byName = entries.get(kind);
    if (byName === undefined) entries.set(kind, (byName = new Map()));
    byName.set(row.name, row.entry_id);
  }
  return entries;
}

/** The identity of an account in `declared_entries.name`: unambiguous whatever the names hold. */
function accountIdentity(channel: string, account: string): string {
  return JSON.stringify([channel, account]);
}

function parseAccountIdentity(identity: string): [string, string] | undefined {
  try {
    const parsed: unknown = JSON.parse(identity);
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((p) => typeof p === 'string')) {
      return [parsed[0] as string, parsed[1] as string];
    }
  } catch {
    // Not written by this module: ignored, as an unknown kind would be.
  }
  return undefined;
}

/** Column values as stored compare equal to the declared ones (BIGINT reads back as a string on MySQL). */
function sameValue(have: unknown, want: unknown): boolean {
  if (have === null || have === undefined) return want === null || want === undefined;
  if (want === null || want === undefined) return false;
  if (typeof want === 'number') return Number(have) === want;
  return have === want;
}

function differs(row: object, desired: object): boolean {
  const stored = row as Record<string, unknown>;
  return Object.entries(desired).some(([column, want]) => !sameValue(stored[column], want));
}

interface Stamp {
  managed_by: string;
  updated_at: number;
}

/** One apply inside its transaction: the declared-entry map, the report and whether anything was written. */
class ApplyRun {
  readonly #trx: Kysely<DB>;
  readonly #secretBox: SecretBox;
  readonly #now: number;
  readonly #entries: Entries;
  readonly #changes: DeclaredChange[] = [];
  #wrote = false;

  constructor(trx: Kysely<DB>, secretBox: SecretBox, now: number, entries: Entries) {
    this.#trx = trx;
    this.#secretBox = secretBox;
    this.#now = now;
    this.#entries = entries;
  }

  get wrote(): boolean {
    return this.#wrote;
  }

  async execute(doc: Declaration, settings: readonly ChannelSettings[]): Promise<DeclaredChange[]> {
    const groups = doc.groups ?? [];
    const prices = doc.prices ?? [];
    const channels = doc.channels ?? [];
    const users = doc.users ?? [];
    const keys = doc.keys ?? [];
    for (const g of groups) await this.#group(g);
    for (const p of prices) await this.#price(p);
    for (const [i, c] of channels.entries()) {
      const s = settings[i];
      if (s === undefined) throw new Error('channel settings missing');
      await this.#channel(c, i, s);
    }
    const userIds = new Map<string, { id: number; group: string }>();
    for (const [i, u] of users.entries()) userIds.set(u.name, await this.#user(u, i));
    for (const [i, k] of keys.entries()) await this.#key(k, i, userIds);
    // Removals run dependents first: keys before users, channels before the groups they name.
    await this.#retireKeys(new Set(keys.map((k) => k.name)));
    await this.#retireUsers(new Set(users.map((u) => u.name)));
    await this.#retireChannels(new Set(channels.map((c) => c.name)));
    await this.#retirePrices(new Set(prices.map((p) => p.model)));
    await this.#retireGroups(new Set(groups.map((g) => g.name)));
    return this.#changes;
  }

  #report(kind: DeclaredKind, name: string, action: DeclaredAction): void {
    this.#changes.push({ kind, name, action });
    if (action !== 'unchanged') this.#wrote = true;
  }

  #entry(kind: DeclaredKind, name: string): string | undefined {
    return this.#entries.get(kind)?.get(name);
  }

  #managed(kind: DeclaredKind): [string, string][] {
    return [...(this.#entries.get(kind) ?? new Map<string, string>()).entries()];
  }

  /** Records that the file manages `entryId` under `name` (written only when that is news). */
  async #own(kind: DeclaredKind, name: string, entryId: string): Promise<void> {
    const current = this.#entry(kind, name);
    if (current === entryId) return;
    this.#wrote = true;
    if (current === undefined) {
      await this.#trx
        .insertInto('declared_entries')
        .values({ kind, name, entry_id: entryId, created_at: this.#now })
        .execute();
    } else {
      await this.#trx
        .updateTable('declared_entries')
        .set({ entry_id: entryId })
        .where('kind', '=', kind)
        .where('name', '=', name)
        .execute();
    }
    let byName = this.#entries.get(kind);
    if (byName === undefined) this.#entries.set(kind, (byName = new Map()));
    byName.set(name, entryId);
  }

  async #release(kind: DeclaredKind, name: string): Promise<void> {
    this.#wrote = true;
    await this.#trx
      .deleteFrom('declared_entries')
      .where('kind', '=', kind)
      .where('name', '=', name)
      .execute();
    this.#entries.get(kind)?.delete(name);
  }

  /**
   * Updates an existing row to `desired` when a declared field differs or the row is not managed
   * yet (adoption), and reports it; otherwise reports it unchanged and writes nothing.
   */
  async #save<D extends object>(
    kind: DeclaredKind,
    name: string,
    row: object & { managed_by: string | null },
    desired: D,
    update: (set: D & Stamp) => Promise<unknown>,
  ): Promise<void> {
    if (row.managed_by === MANAGED && !differs(row, desired)) {
      this.#report(kind, name, 'unchanged');
      return;
    }
    await update({ ...desired, managed_by: MANAGED, updated_at: this.#now });
    this.#report(kind, name, 'updated');
  }

  async #group(g: GroupEntry): Promise<void> {
    const desired = { description: g.description ?? null, price_ratio_ppm: g.price_ratio ?? RATIO_ONE };
    const trx = this.#trx;
    const row = await trx.selectFrom('user_groups').selectAll().where('name', '=', g.name).executeTakeFirst();
    if (row === undefined) {
      await trx
        .insertInto('user_groups')
        .values({
          name: g.name,
          ...desired,
          managed_by: MANAGED,
          created_at: this.#now,
          updated_at: this.#now,
        })
        .execute();
      this.#report('group', g.name, 'created');
    } else {
      await this.#save('group', g.name, row, desired, (set) =>
        trx.updateTable('user_groups').set(set).where('name', '=', g.name).execute(),
      );
    }
    await this.#own('group', g.name, g.name);
  }

  async #price(p: PriceEntry): Promise<void> {
    const desired = {
      input_nano: p.input_per_million,
      output_nano: p.output_per_million,
      cached_input_nano: p.cached_input_per_million ?? null,
      reasoning_nano: p.reasoning_per_million ?? null,
      per_request_nano: p.per_request ?? 0,
      per_image_nano: p.per_image ?? 0,
    };
    const trx = this.#trx;
    const row = await trx
      .selectFrom('model_prices')
      .selectAll()
      .where('model', '=', p.model)
      .executeTakeFirst();
    if (row === undefined) {
      await trx
        .insertInto('model_prices')
        .values({
          model: p.model,
          ...desired,
          managed_by: MANAGED,
          created_at: this.#now,
          updated_at: this.#now,
        })
        .execute();
      this.#report('price', p.model, 'created');
    } else {
      await this.#save('price', p.model, row, desired, (set) =>
        trx.updateTable('model_prices').set(set).where('model', '=', p.model).execute(),
      );
    }
    await this.#own('price', p.model, p.model);
  }

  async #channel(c: ChannelEntry, i: number, s: ChannelSettings): Promise<void> {
    const groups = c.groups ?? [c.group ?? DEFAULT_GROUP];
    const desired = {
      name: c.name,
      provider: s.provider,
      base_url: s.baseUrl,
      options: JSON.stringify(s.options),
      models: JSON.stringify(s.models),
      model_mapping: JSON.stringify(c.model_mapping ?? {}),
      priority: c.priority ?? 0,
      weight: c.weight ?? 1,
      group_name: groups[0] ?? DEFAULT_GROUP,
      groups: JSON.stringify(groups),
      enabled: c.enabled === false ? 0 : 1,
      account_strategy: c.account_strategy ?? 'round-robin',
      sticky_sessions: c.sticky_sessions === true ? 1 : 0,
      connect_timeout_ms: c.connect_timeout_ms ?? null,
      first_byte_timeout_ms: c.first_byte_timeout_ms ?? null,
      idle_timeout_ms: c.idle_timeout_ms ?? null,
      breaker: JSON.stringify({ ...DEFAULT_BREAKER, ...breakerInput(c.breaker) }),
    };
    const trx = this.#trx;
    const row = await this.#findChannel(c.name, i);
    let channelId: number;
    if (row === undefined) {
      const result = await trx
        .insertInto('channels')
        .values({ ...desired, managed_by: MANAGED, created_at: this.#now, updated_at: this.#now })
        .executeTakeFirstOrThrow();
      channelId = Number(result.insertId);
      this.#report('channel', c.name, 'created');
    } else {
      channelId = Number(row.id);
      await this.#save('channel', c.name, row, desired, (set) =>
        trx.updateTable('channels').set(set).where('id', '=', channelId).execute(),
      );
    }
    await this.#own('channel', c.name, String(channelId));

    const declared = new Set<string>();
    for (const [j, a] of (c.accounts ?? []).entries()) {
      const name = accountName(a, j);
      declared.add(name);
      await this.#account(
        c.name,
        channelId,
        name,
        a.api_key,
        a.enabled ?? true,
        `channels[${i}].accounts[${j}]`,
      );
    }
    for (const [identity] of this.#managed('account')) {
      const parts = parseAccountIdentity(identity);
      if (parts === undefined || parts[0] !== c.name || declared.has(parts[1])) continue;
      const id = Number(this.#entry('account', identity));
      await trx.deleteFrom('accounts').where('id', '=', id).execute();
      await this.#release('account', identity);
      this.#report('account', `${parts[0]}/${parts[1]}`, 'deleted');
    }
  }

  /** The channel the file manages under `name`, else the one API-created channel of that name (adopted). */
  async #findChannel(name: string, i: number) {
    const managedId = this.#entry('channel', name);
    if (managedId !== undefined) {
      const row = await this.#trx
        .selectFrom('channels')
        .selectAll()
        .where('id', '=', Number(managedId))
        .executeTakeFirst();
      if (row !== undefined) return row;
    }
    const candidates = await this.#trx
      .selectFrom('channels')
      .selectAll()
      .where('name', '=', name)
      .where('managed_by', 'is', null)
      .orderBy('id')
      .execute();
    if (candidates.length > 1) {
      throw conflict(
        `'channels[${i}].name': ${candidates.length} channels created through the admin API are named '${name}'; rename all but one so the file can adopt it.`,
        'ambiguous_entry',
        `channels[${i}].name`,
      );
    }
    return candidates[0];
  }

  async #account(
    channel: string,
    channelId: number,
    name: string,
    apiKey: string,
    enabled: boolean,
    path: string,
  ): Promise<void> {
    const trx = this.#trx;
    const identity = accountIdentity(channel, name);
    const label = `${channel}/${name}`;
    const managedId = this.#entry('account', identity);
    let row =
      managedId === undefined
        ? undefined
        : await trx
            .selectFrom('accounts')
            .selectAll()
            .where('id', '=', Number(managedId))
            .where('channel_id', '=', channelId)
            .executeTakeFirst();
    row ??= await trx
      .selectFrom('accounts')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('name', '=', name)
      .where('managed_by', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    if (row === undefined) {
      const result = await trx
        .insertInto('accounts')
        .values({
          channel_id: channelId,
          name,
          credential: this.#secretBox.encrypt(apiKey),
          enabled: enabled ? 1 : 0,
          kind: 'api_key',
          ...(!enabled && {
            disabled_by: 'admin',
            disabled_reason: FILE_DISABLED_REASON,
            disabled_at: this.#now,
          }),
          managed_by: MANAGED,
          created_at: this.#now,
          updated_at: this.#now,
        })
        .executeTakeFirstOrThrow();
      this.#report('account', label, 'created');
      await this.#own('account', identity, String(Number(result.insertId)));
      return;
    }
    if (row.kind === 'oauth') {
      throw conflict(
        `'${path}.name': '${label}' is an OAuth account; it is authorized through /oauth, not declared with an api_key.`,
        'oauth_account',
        `${path}.name`,
      );
    }
    const id = Number(row.id);
    let sameCredential: boolean;
    try {
      sameCredential = this.#secretBox.decrypt(row.credential) === apiKey;
    } catch {
      sameCredential = false;
    }
    // Only an admin's switch is the file's to revert; an automatic disable (the upstream refused the
    // credential) is runtime state the recovery probe or a rotated credential clears.
    const enabledNow = Number(row.enabled) === 1;
    const revertAdminDisable = enabled && !enabledNow && row.disabled_by === 'admin';
    const disable = !enabled && (enabledNow || row.disabled_by !== 'admin');
    const adopt = row.managed_by !== MANAGED;
    if (sameCredential && row.name === name && !revertAdminDisable && !disable && !adopt) {
      this.#report('account', label, 'unchanged');
    } else {
      await trx
        .updateTable('accounts')
        .set({
          name,
          ...(!sameCredential && { credential: this.#secretBox.encrypt(apiKey) }),
          ...(revertAdminDisable && {
            enabled: 1,
            disabled_by: null,
            disabled_reason: null,
            disabled_at: null,
          }),
          ...(disable && {
            enabled: 0,
            disabled_by: 'admin',
            disabled_reason: FILE_DISABLED_REASON,
            disabled_at: this.#now,
          }),
          managed_by: MANAGED,
          updated_at: this.#now,
        })
        .where('id', '=', id)
        .execute();
      this.#report('account', label, 'updated');
    }
    await this.#own('account', identity, String(id));
  }

  async #user(u: UserEntry, i: number): Promise<{ id: number; group: string }> {
    const trx = this.#trx;
    const group = u.group ?? DEFAULT_GROUP;
    await this.#requireGroup(group, `users[${i}].group`);
    const desired = {
      name: u.name,
      email: u.email ?? null,
      group_name: group,
      enabled: u.enabled === false ? 0 : 1,
      quota_nano: u.quota ?? null,
      rpm_limit: u.rpm_limit ?? null,
      tpm_limit: u.tpm_limit ?? null,
      concurrency_limit: u.concurrency_limit ?? null,
    };
    const managedId = this.#entry('user', u.name);
    let row =
      managedId === undefined
        ? undefined
        : await trx.selectFrom('users').selectAll().where('id', '=', Number(managedId)).executeTakeFirst();
    const byName = await trx.selectFrom('users').selectAll().where('name', '=', u.name).executeTakeFirst();
    if (row !== undefined && byName !== undefined && Number(byName.id) !== Number(row.id)) {
      throw conflict(
        `'users[${i}].name': the file manages a user renamed through the admin API, and another user is now named '${u.name}'.`,
        'user_exists',
        `users[${i}].name`,
      );
    }
    row ??= byName;
    let id: number;
    if (row === undefined) {
      const result = await trx
        .insertInto('users')
        .values({ ...desired, managed_by: MANAGED, created_at: this.#now, updated_at: this.#now })
        .executeTakeFirstOrThrow();
      id = Number(result.insertId);
      this.#report('user', u.name, 'created');
    } else {
      id = Number(row.id);
      await this.#save('user', u.name, row, desired, (set) =>
        trx.updateTable('users').set(set).where('id', '=', id).execute(),
      );
    }
    await this.#own('user', u.name, String(id));
    return { id, group };
  }

  async #key(k: KeyEntry, i: number, declaredUsers: ReadonlyMap<string, { id: number; group: string }>) {
    const trx = this.#trx;
    let owner: { id: number; group: string } | null = null;
    if (k.user !== undefined && k.user !== null) {
      owner = declaredUsers.get(k.user) ?? null;
      if (owner === null) {
        const found = await trx
          .selectFrom('users')
          .select(['id', 'group_name'])
          .where('name', '=', k.user)
          .executeTakeFirst();
        if (found === undefined) {
          throw invalidAt(
            `keys[${i}].user`,
            `no user is named '${k.user}'; declare it under users`,
            'unknown_user',
          );
        }
        owner = { id: Number(found.id), group: found.group_name };
      }
    }
    const group = k.group ?? owner?.group ?? DEFAULT_GROUP;
    await this.#requireGroup(group, `keys[${i}].group`);
    const keyHash = hashKey(k.key);
    const desired = {
      name: k.name,
      key_hash: keyHash,
      key_prefix: k.key.slice(0, KEY_PREFIX_LENGTH),
      models: k.models === undefined || k.models === null ? null : JSON.stringify(k.models),
      expires_at: k.expires_at ?? null,
      group_name: group,
      enabled: k.enabled === false ? 0 : 1,
      user_id: owner?.id ?? null,
      ip_allowlist:
        k.ip_allowlist === undefined || k.ip_allowlist === null ? null : JSON.stringify(k.ip_allowlist),
      quota_nano: k.quota ?? null,
      rpm_limit: k.rpm_limit ?? null,
      tpm_limit: k.tpm_limit ?? null,
      concurrency_limit: k.concurrency_limit ?? null,
    };
    const managedId = this.#entry('key', k.name);
    let row =
      managedId === undefined
        ? undefined
        : await trx.selectFrom('api_keys').selectAll().where('id', '=', Number(managedId)).executeTakeFirst();
    row ??= await trx
      .selectFrom('api_keys')
      .selectAll()
      .where('name', '=', k.name)
      .where('managed_by', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    const sameHash = await trx
      .selectFrom('api_keys')
      .select('id')
      .where('key_hash', '=', keyHash)
      .executeTakeFirst();
    if (sameHash !== undefined && (row === undefined || Number(sameHash.id) !== Number(row.id))) {
      throw conflict(
        `'keys[${i}].key': this key is already stored as key ${Number(sameHash.id)}; declare a new key value.`,
        'key_exists',
        `keys[${i}].key`,
      );
    }
    let id: number;
    if (row === undefined) {
      const result = await trx
        .insertInto('api_keys')
        .values({ ...desired, managed_by: MANAGED, created_at: this.#now, updated_at: this.#now })
        .executeTakeFirstOrThrow();
      id = Number(result.insertId);
      this.#report('key', k.name, 'created');
    } else {
      id = Number(row.id);
      await this.#save('key', k.name, row, desired, (set) =>
        trx.updateTable('api_keys').set(set).where('id', '=', id).execute(),
      );
    }
    await this.#own('key', k.name, String(id));
  }

  async #requireGroup(name: string, path: string): Promise<void> {
    const row = await this.#trx
      .selectFrom('user_groups')
      .select('name')
      .where('name', '=', name)
      .executeTakeFirst();
    if (row === undefined) {
      throw invalidAt(path, `group '${name}' does not exist; declare it under groups`, 'unknown_group');
    }
  }

  /** A key the file no longer declares is disabled and released: its usage history and spend stay. */
  async #retireKeys(declared: ReadonlySet<string>): Promise<void> {
    for (const [name, entryId] of this.#managed('key')) {
      if (declared.has(name)) continue;
      await this.#trx
        .updateTable('api_keys')
        .set({ enabled: 0, managed_by: null, updated_at: this.#now })
        .where('id', '=', Number(entryId))
        .execute();
      await this.#release('key', name);
      this.#report('key', name, 'disabled');
    }
  }

  /** A user the file no longer declares is deleted, or disabled and released while it still owns keys. */
  async #retireUsers(declared: ReadonlySet<string>): Promise<void> {
    for (const [name, entryId] of this.#managed('user')) {
      if (declared.has(name)) continue;
      const id = Number(entryId);
      const keys = await this.#trx
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', id)
        .executeTakeFirstOrThrow();
      await this.#release('user', name);
      if (Number(keys.n) > 0) {
        await this.#trx
          .updateTable('users')
          .set({ enabled: 0, managed_by: null, updated_at: this.#now })
          .where('id', '=', id)
          .execute();
        this.#report('user', name, 'disabled');
      } else {
        await this.#trx.deleteFrom('users').where('id', '=', id).execute();
        this.#report('user', name, 'deleted');
      }
    }
  }

  /** A channel the file no longer declares is deleted with all its accounts. */
  async #retireChannels(declared: ReadonlySet<string>): Promise<void> {
    for (const [name, entryId] of this.#managed('channel')) {
      if (declared.has(name)) continue;
      const id = Number(entryId);
      for (const [identity] of this.#managed('account')) {
        const parts = parseAccountIdentity(identity);
        if (parts === undefined || parts[0] !== name) continue;
        await this.#release('account', identity);
        this.#report('account', `${parts[0]}/${parts[1]}`, 'deleted');
      }
      await this.#trx.deleteFrom('accounts').where('channel_id', '=', id).execute();
      await this.#trx.deleteFrom('channels').where('id', '=', id).execute();
      await this.#release('channel', name);
      this.#report('channel', name, 'deleted');
    }
  }

  async #retirePrices(declared: ReadonlySet<string>): Promise<void> {
    for (const [model] of this.#managed('price')) {
      if (declared.has(model)) continue;
      await this.#trx.deleteFrom('model_prices').where('model', '=', model).execute();
      await this.#release('price', model);
      this.#report('price', model, 'deleted');
    }
  }

  /**
   * A group the file no longer declares is deleted; 409 `group_in_use` while a key, user or channel
   * still names it. The default group is where entries without a group go: it is released, never deleted.
   */
  async #retireGroups(declared: ReadonlySet<string>): Promise<void> {
    for (const [name] of this.#managed('group')) {
      if (declared.has(name)) continue;
      await this.#release('group', name);
      if (name === DEFAULT_GROUP) {
        await this.#trx
          .updateTable('user_groups')
          .set({ managed_by: null })
          .where('name', '=', name)
          .execute();
        continue;
      }
      const group = await new GroupRepository(this.#trx).get(name);
      if (group === undefined) continue;
      if (group.keys > 0 || group.users > 0 || group.channels > 0) {
        throw conflict(
          `Group '${name}' was removed from the file but is still used by ${group.keys} key(s), ${group.users} user(s) and ${group.channels} channel(s); move them to another group in the same file.`,
          'group_in_use',
          'groups',
        );
      }
      await this.#trx.deleteFrom('user_groups').where('name', '=', name).execute();
      this.#report('group', name, 'deleted');
    }
  }
}
