import type { Kysely } from 'kysely';
import { InvalidRequestError, type DB, type GroupRecord, type UserGroupRow } from '@switchyard/core';
import { parseStringArray } from './json-columns.js';
import { toManagedBy, type ManagedBy } from './managed-by.js';
import { conflict } from './proxy-assignment.js';

/** Who uses a group: keys and users by their group, channels by listing it among their groups. */
export interface GroupUsage {
  keys: number;
  users: number;
  channels: number;
}

/** A key group as stored, with how many keys, users and channels name it. */
export interface StoredGroup extends GroupUsage {
  name: string;
  description: string | null;
  /** Price multiplier in parts per million (RATIO_ONE = list price). */
  ratioPpm: number;
  /** 'file' when a configuration file manages it. */
  managedBy: ManagedBy;
  createdAt: number;
  updatedAt: number;
}

export interface NewGroup {
  name: string;
  description: string | null;
  ratioPpm: number;
}

/** The name is the key keys and users refer to by: it never changes. */
export type GroupPatch = Partial<Pick<NewGroup, 'description' | 'ratioPpm'>>;

export type GroupDeletion =
  { outcome: 'deleted' } | { outcome: 'not_found' } | { outcome: 'in_use'; usage: GroupUsage };

/** The group every key and user without another one belongs to; created by the tenancy migration. */
export const DEFAULT_GROUP = 'default';

/** SQL for key groups (`user_groups`: `groups` is reserved in MySQL 8). */
export class GroupRepository {
  readonly #db: Kysely<DB>;

  constructor(db: Kysely<DB>) {
    this.#db = db;
  }

  /** Every group with its usage counts, ordered by name. */
  async list(): Promise<StoredGroup[]> {
    const rows = await this.#db.selectFrom('user_groups').selectAll().orderBy('name').execute();
    const usage = await usageByGroup(this.#db);
    return rows.map((row) => toGroup(row, usage.get(row.name)));
  }

  /** Every group as the relay's snapshot carries it (name and ratio), ordered by name. */
  async records(): Promise<GroupRecord[]> {
    const rows = await this.#db
      .selectFrom('user_groups')
      .select(['name', 'price_ratio_ppm'])
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ name: r.name, ratioPpm: Number(r.price_ratio_ppm) }));
  }

  async get(name: string): Promise<StoredGroup | undefined> {
    return getGroup(this.#db, name);
  }

  /** Creates a group; 409 `group_exists` when one of that name exists (a lost race included). */
  async create(group: NewGroup, now: number): Promise<StoredGroup> {
    const exists = () => conflict(`Group '${group.name}' already exists.`, 'group_exists', 'name');
    if ((await this.get(group.name)) !== undefined) throw exists();
    try {
      await this.#db
        .insertInto('user_groups')
        .values({
          name: group.name,
          description: group.description,
          price_ratio_ppm: group.ratioPpm,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } catch (err) {
      // A concurrent create won the primary key: the same answer as the check above.
      if ((await this.get(group.name)) !== undefined) throw exists();
      throw err;
    }
    return requireGroup(this.#db, group.name);
  }

  /** Applies `patch`; resolves undefined when the group does not exist. */
  async update(name: string, patch: GroupPatch, now: number): Promise<StoredGroup | undefined> {
    await this.#db
      .updateTable('user_groups')
      .set({
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.ratioPpm !== undefined && { price_ratio_ppm: patch.ratioPpm }),
        updated_at: now,
      })
      .where('name', '=', name)
      .execute();
    // Existence is read back rather than taken from the row count: MySQL may count only changed rows.
    return this.get(name);
  }

  /**
   * Deletes a group no key, user or channel uses. The row is locked before anything is counted, and
   * key and user writes that name a group lock it too (lockGroup), so none can slip in between.
   */
  async delete(name: string): Promise<GroupDeletion> {
    return this.#db.transaction().execute(async (trx): Promise<GroupDeletion> => {
      await lockGroup(trx, name);
      if (!(await groupExists(trx, name))) return { outcome: 'not_found' };
      const usage = (await usageByGroup(trx, name)).get(name) ?? NO_USAGE;
      if (usage.keys > 0 || usage.users > 0 || usage.channels > 0) return { outcome: 'in_use', usage };
      await trx.deleteFrom('user_groups').where('name', '=', name).execute();
      return { outcome: 'deleted' };
    });
  }
}

/**
 * Locks group `name`'s row with a no-op write, which MySQL holds until the transaction ends (nothing
 * when it does not exist). Like lockProxiesFor it must come before the transaction's first read, so
 * the reads after it see every write committed before the lock. Lock order: groups, then users, then keys.
 */
export async function lockGroup(trx: Kysely<DB>, name: string): Promise<void> {
  await trx
    .updateTable('user_groups')
    .set((eb) => ({ price_ratio_ppm: eb.ref('price_ratio_ppm') }))
    .where('name', '=', name)
    .execute();
}

export async function groupExists(db: Kysely<DB>, name: string): Promise<boolean> {
  const row = await db.selectFrom('user_groups').select('name').where('name', '=', name).executeTakeFirst();
  return row !== undefined;
}

/** 400 `unknown_group` (param `group`): a key, user or quote names a group that does not exist. */
export function unknownGroup(name: string): InvalidRequestError {
  return new InvalidRequestError(`Group '${name}' does not exist; create it with POST /groups first.`, {
    code: 'unknown_group',
    param: 'group',
  });
}

/** Throws 400 `unknown_group` unless the group exists. */
export async function requireGroupExists(db: Kysely<DB>, name: string): Promise<void> {
  if (!(await groupExists(db, name))) throw unknownGroup(name);
}

const NO_USAGE: GroupUsage = { keys: 0, users: 0, channels: 0 };

async function getGroup(db: Kysely<DB>, name: string): Promise<StoredGroup | undefined> {
  const row = await db.selectFrom('user_groups').selectAll().where('name', '=', name).executeTakeFirst();
  if (row === undefined) return undefined;
  return toGroup(row, (await usageByGroup(db, name)).get(name));
}

async function requireGroup(db: Kysely<DB>, name: string): Promise<StoredGroup> {
  const group = await getGroup(db, name);
  if (group === undefined) throw new Error(`group '${name}' vanished after being written`);
  return group;
}

/**
 * Usage counts per group name (of `only`, or of every group). Channels list their groups in a JSON
 * column, so they are counted here rather than in SQL; a deployment has tens of channels, not millions.
 */
async function usageByGroup(db: Kysely<DB>, only?: string): Promise<Map<string, GroupUsage>> {
  let keys = db
    .selectFrom('api_keys')
    .select(['group_name', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy('group_name');
  let users = db
    .selectFrom('users')
    .select(['group_name', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy('group_name');
  if (only !== undefined) {
    keys = keys.where('group_name', '=', only);
    users = users.where('group_name', '=', only);
  }
  const channels = await db.selectFrom('channels').select(['group_name', 'groups']).execute();

  const usage = new Map<string, GroupUsage>();
  const entry = (name: string): GroupUsage => {
    let u = usage.get(name);
    if (u === undefined) {
      u = { ...NO_USAGE };
      usage.set(name, u);
    }
    return u;
  };
  for (const row of await keys.execute()) entry(row.group_name).keys = Number(row.n);
  for (const row of await users.execute()) entry(row.group_name).users = Number(row.n);
  for (const row of channels) {
    const groups = row.groups === null ? [row.group_name] : parseStringArray(row.groups);
    for (const name of new Set(groups)) {
      if (only === undefined || name === only) entry(name).channels += 1;
    }
  }
  return usage;
}

function toGroup(row: UserGroupRow, usage: GroupUsage | undefined): StoredGroup {
  return {
    name: row.name,
    description: row.description,
    ratioPpm: Number(row.price_ratio_ppm),
    ...(usage ?? NO_USAGE),
    managedBy: toManagedBy(row.managed_by),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
