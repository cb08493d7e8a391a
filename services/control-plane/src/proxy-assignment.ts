import type { Kysely } from 'kysely';
import { GatewayError, InvalidRequestError, NotFoundError, type DB } from '@switchyard/core';
import { countAccountsByProxy } from './proxy-repository.js';

/** What an account's `proxy_id` asks for: a proxy by id, the fill-first pick (`'auto'`), or direct (null). */
export type ProxyChoice = number | 'auto' | null;

/** A 409: the write conflicts with what the database holds now (a full proxy, a proxy still in use). */
export function conflict(message: string, code: string, param: string | null = null): GatewayError {
  return new GatewayError(message, { code, status: 409, type: 'invalid_request_error', param });
}

/** The account being re-assigned, so its own current assignment does not count against a cap. */
export interface AssignmentSubject {
  accountId: number;
  currentProxyId: number | null;
}

/**
 * Locks the proxy rows `choice` may land on with a no-op write, which MySQL holds until the caller's
 * transaction ends: the chosen proxy, or every proxy for `'auto'` and for `'any'` (a caller that does
 * not know the choice yet); nothing for null. It must be the first statement of
 * the transaction: MySQL's consistent reads see the database as of the transaction's first read, so
 * accounts counted by pickProxy after this lock include every assignment committed before it.
 * Concurrent assignments are serialised and a cap cannot be exceeded; SQLite serialises write
 * transactions anyway. Lock order everywhere: proxies first, then channel or account rows.
 */
export async function lockProxiesFor(trx: Kysely<DB>, choice: ProxyChoice | 'any'): Promise<void> {
  if (choice === null) return;
  let lock = trx.updateTable('proxies').set((eb) => ({ max_accounts: eb.ref('max_accounts') }));
  if (typeof choice === 'number') lock = lock.where('id', '=', choice);
  await lock.execute();
}

/**
 * Resolves `choice` to the proxy id an account is stored with, inside the transaction that began with
 * lockProxiesFor(trx, choice):
 *
 * - a number: that proxy; 404 `proxy_not_found`, 400 `proxy_disabled`, or 409 `proxy_full` when it
 *   already has `max_accounts` accounts (keeping an account on its current proxy always succeeds);
 * - `'auto'`: fill-first, the enabled proxy with the lowest id below its cap (no cap: never full);
 *   409 `no_proxy_available` when there is none;
 * - null: a direct connection.
 */
export async function pickProxy(
  trx: Kysely<DB>,
  choice: ProxyChoice,
  subject?: AssignmentSubject,
): Promise<number | null> {
  if (choice === null) return null;
  if (choice !== 'auto' && choice === subject?.currentProxyId) return choice;

  let proxies = trx.selectFrom('proxies').select(['id', 'enabled', 'max_accounts']).orderBy('id');
  if (choice !== 'auto') proxies = proxies.where('id', '=', choice);
  const rows = await proxies.execute();
  const counts = await countAccountsByProxy(trx, { exceptAccountId: subject?.accountId });

  if (choice !== 'auto') {
    const proxy = rows[0];
    if (proxy === undefined) {
      throw new NotFoundError(`Proxy '${choice}' does not exist.`, 'proxy_not_found', 'proxy_id');
    }
    if (Number(proxy.enabled) !== 1) {
      throw new InvalidRequestError(`Proxy ${choice} is disabled.`, {
        code: 'proxy_disabled',
        param: 'proxy_id',
      });
    }
    if (isFull(proxy.max_accounts, counts.get(choice) ?? 0)) {
      throw conflict(
        `Proxy ${choice} already has its maximum of ${String(proxy.max_accounts)} accounts.`,
        'proxy_full',
        'proxy_id',
      );
    }
    return choice;
  }

  for (const proxy of rows) {
    const id = Number(proxy.id);
    if (Number(proxy.enabled) === 1 && !isFull(proxy.max_accounts, counts.get(id) ?? 0)) return id;
  }
  throw conflict('Every enabled proxy is full (or there is none).', 'no_proxy_available', 'proxy_id');
}

/**
 * lockProxiesFor then pickProxy, for a transaction that starts with this call (it must be the
 * transaction's first statement, see lockProxiesFor).
 */
export async function assignProxy(
  trx: Kysely<DB>,
  choice: ProxyChoice,
  subject?: AssignmentSubject,
): Promise<number | null> {
  await lockProxiesFor(trx, choice);
  return pickProxy(trx, choice, subject);
}

function isFull(maxAccounts: number | null, assigned: number): boolean {
  return maxAccounts !== null && assigned >= Number(maxAccounts);
}
