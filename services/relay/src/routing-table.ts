import { createHash } from 'node:crypto';
import {
  isGlob,
  matchesAnyModel,
  type Channel,
  type ChannelAccount,
  type ConfigSnapshot,
  type KeyRecord,
} from '@switchyard/core';

/** One place a request may go: a channel, one of its accounts, and the model name to send. */
export interface Candidate {
  channel: Channel;
  account: ChannelAccount;
  upstreamModel: string;
}

/** The parts of a key that decide where it may go. */
export type RouteKey = Pick<KeyRecord, 'group' | 'pinnedChannelId' | 'excludedChannelIds'>;

export interface RouteOptions {
  /** The round-robin start among a channel's `accounts` enabled accounts (a shared counter). */
  accountOffset: (channel: Channel, accounts: number) => Promise<number>;
  /**
   * A conversation's session key: channels with sticky sessions order their accounts (and a tier its
   * channels) by rendezvous hashing on it, so the conversation stays on one account while it is usable
   * and moves to the same next one on every relay when it is not.
   */
  sessionKey?: string | null;
  random?: () => number;
}

/** Channels of equal priority, with their upstream model for the requested model. */
interface Tier {
  priority: number;
  entries: Array<{ channel: Channel; accounts: ChannelAccount[]; upstreamModel: string }>;
  totalWeight: number;
}

/**
 * The relay's view of which channels serve which model, rebuilt on each snapshot. Per-model tier
 * lists are computed on first use and cached until the next snapshot, so routing a request costs a
 * map lookup plus a weighted shuffle of its tier.
 */
export class RoutingTable {
  #channels: Channel[] = [];
  #aliases: Record<string, string> = {};
  #tiers = new Map<string, Tier[]>();

  update(snapshot: ConfigSnapshot): void {
    this.#channels = snapshot.channels.filter((c) => c.enabled);
    this.#aliases = snapshot.modelAliases;
    this.#tiers = new Map();
  }

  /** The model a client model name is routed as (its alias target, or itself). */
  resolve(model: string): string {
    return Object.hasOwn(this.#aliases, model) ? this.#aliases[model]! : model;
  }

  /** True when some enabled channel the key may reach serves `model` (an alias resolved). */
  serves(model: string, key: RouteKey): boolean {
    return this.#tiersFor(this.resolve(model), key.group).some((t) =>
      t.entries.some((e) => reachable(e.channel, key)),
    );
  }

  /**
   * Candidates in the order to try them: highest priority first; within a priority, channels in
   * weighted random order (weighted rendezvous order for a sticky session); within a channel, its
   * enabled accounts — round-robin from `accountOffset`, from the first for fill-first, or by
   * rendezvous hash for a sticky session. The key's pinned and excluded channels are applied.
   */
  async candidates(model: string, key: RouteKey, opts: RouteOptions): Promise<Candidate[]> {
    const random = opts.random ?? Math.random;
    const session = opts.sessionKey ?? null;
    const out: Candidate[] = [];
    for (const tier of this.#tiersFor(this.resolve(model), key.group)) {
      const entries = tier.entries.filter((e) => reachable(e.channel, key));
      const sticky = session !== null && entries.some((e) => e.channel.stickySessions);
      const ordered = sticky ? rendezvousChannels(entries, session) : weightedOrder(entries, random);
      for (const e of ordered) {
        const n = e.accounts.length;
        if (n === 0) continue;
        if (session !== null && e.channel.stickySessions) {
          for (const account of rendezvousAccounts(e.accounts, session)) {
            out.push({ channel: e.channel, account, upstreamModel: e.upstreamModel });
          }
          continue;
        }
        const start =
          n > 1 && e.channel.accountStrategy === 'round-robin'
            ? (await opts.accountOffset(e.channel, n)) % n
            : 0;
        for (let i = 0; i < n; i++) {
          out.push({
            channel: e.channel,
            account: e.accounts[(start + i) % n]!,
            upstreamModel: e.upstreamModel,
          });
        }
      }
    }
    return out;
  }

  /** Exact model names the channels of `group` announce (globs cannot be listed), and the aliases. */
  listModels(group: string): string[] {
    const names = new Set<string>();
    for (const c of this.#channels) {
      if (!c.groups.includes(group)) continue;
      for (const m of c.models) if (!isGlob(m)) names.add(m);
      for (const m of Object.keys(c.modelMapping)) names.add(m);
    }
    for (const [alias, target] of Object.entries(this.#aliases)) {
      if (this.#tiersFor(target, group).length > 0) names.add(alias);
    }
    return [...names].sort();
  }

  #tiersFor(model: string, group: string): Tier[] {
    const cacheKey = `${group}\u0000${model}`;
    let tiers = this.#tiers.get(cacheKey);
    if (tiers !== undefined) return tiers;
    const byPriority = new Map<number, Tier>();
    for (const c of this.#channels) {
      if (!c.groups.includes(group)) continue;
      const mapped = Object.hasOwn(c.modelMapping, model) ? c.modelMapping[model] : undefined;
      if (mapped === undefined && !matchesAnyModel(c.models, model)) continue;
      const accounts = c.accounts.filter((a) => a.enabled);
      let tier = byPriority.get(c.priority);
      if (tier === undefined) {
        tier = { priority: c.priority, entries: [], totalWeight: 0 };
        byPriority.set(c.priority, tier);
      }
      tier.entries.push({ channel: c, accounts, upstreamModel: mapped ?? model });
      tier.totalWeight += Math.max(1, c.weight);
    }
    tiers = [...byPriority.values()].sort((a, b) => b.priority - a.priority);
    // Why bounded: clients choose model names; an unbounded cache would grow with every typo.
    if (this.#tiers.size > 10_000) this.#tiers.clear();
    this.#tiers.set(cacheKey, tiers);
    return tiers;
  }
}

function reachable(channel: Channel, key: RouteKey): boolean {
  if (key.pinnedChannelId !== null) return channel.id === key.pinnedChannelId;
  return !key.excludedChannelIds.includes(channel.id);
}

/** Weighted random order without replacement (each pick proportional to the remaining weights). */
function weightedOrder(entries: Tier['entries'], random: () => number): Tier['entries'] {
  if (entries.length <= 1) return entries;
  const pool = entries.slice();
  let total = pool.reduce((sum, e) => sum + Math.max(1, e.channel.weight), 0);
  const out: Tier['entries'] = [];
  while (pool.length > 0) {
    let r = random() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= Math.max(1, pool[i]!.channel.weight);
      if (r < 0) break;
    }
    const [picked] = pool.splice(i, 1);
    total -= Math.max(1, picked!.channel.weight);
    out.push(picked!);
  }
  return out;
}

/** A uniform number in (0, 1) from the session and an id: the same on every relay. */
function hashUnit(session: string, id: number): number {
  const h = createHash('sha256').update(session).update('\u0000').update(String(id)).digest();
  // 48 bits are plenty of resolution and stay exact in a double.
  return (h.readUIntBE(0, 6) + 0.5) / 2 ** 48;
}

/** Weighted rendezvous hashing: score = -w / ln(u); highest first. */
function rendezvousChannels(entries: Tier['entries'], session: string): Tier['entries'] {
  return entries
    .map((e) => ({ e, score: -Math.max(1, e.channel.weight) / Math.log(hashUnit(session, e.channel.id)) }))
    .sort((a, b) => b.score - a.score)
    .map((x) => x.e);
}

function rendezvousAccounts(accounts: ChannelAccount[], session: string): ChannelAccount[] {
  return accounts
    .map((a) => ({ a, score: hashUnit(session, a.id) }))
    .sort((x, y) => y.score - x.score)
    .map((x) => x.a);
}
