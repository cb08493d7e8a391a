import {
  isGlob,
  matchesAnyModel,
  type Channel,
  type ChannelAccount,
  type ConfigSnapshot,
} from '@switchyard/core';

/** One place a request may go: a channel, one of its accounts, and the model name to send. */
export interface Candidate {
  channel: Channel;
  account: ChannelAccount;
  upstreamModel: string;
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
  #tiers = new Map<string, Tier[]>();

  update(snapshot: ConfigSnapshot): void {
    this.#channels = snapshot.channels.filter((c) => c.enabled);
    this.#tiers = new Map();
  }

  /** True when some enabled channel of `group` serves `model`. */
  serves(model: string, group: string): boolean {
    return this.#tiersFor(model, group).length > 0;
  }

  /**
   * Candidates in the order to try them: highest priority first; within a priority, channels in
   * weighted random order; within a channel, its enabled accounts starting at `accountOffset(channel)`
   * (round-robin). Each channel contributes its accounts consecutively.
   */
  async candidates(
    model: string,
    group: string,
    accountOffset: (channel: Channel, accounts: number) => Promise<number>,
    random: () => number = Math.random,
  ): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const tier of this.#tiersFor(model, group)) {
      for (const e of weightedOrder(tier, random)) {
        const n = e.accounts.length;
        const start = n > 1 ? (await accountOffset(e.channel, n)) % n : 0;
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

  /** Exact model names the channels of `group` announce (globs cannot be listed). */
  listModels(group: string): string[] {
    const names = new Set<string>();
    for (const c of this.#channels) {
      if (c.group !== group) continue;
      for (const m of c.models) if (!isGlob(m)) names.add(m);
      for (const m of Object.keys(c.modelMapping)) names.add(m);
    }
    return [...names].sort();
  }

  #tiersFor(model: string, group: string): Tier[] {
    const cacheKey = `${group}\u0000${model}`;
    let tiers = this.#tiers.get(cacheKey);
    if (tiers !== undefined) return tiers;
    const byPriority = new Map<number, Tier>();
    for (const c of this.#channels) {
      if (c.group !== group) continue;
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

/** Weighted random order without replacement (each pick proportional to the remaining weights). */
function weightedOrder(tier: Tier, random: () => number): Tier['entries'] {
  if (tier.entries.length === 1) return tier.entries;
  const pool = tier.entries.slice();
  let total = tier.totalWeight;
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
