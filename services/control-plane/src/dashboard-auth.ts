import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { AuthenticationError, hashKey } from '@switchyard/core';
import type { DashboardCaller, DashboardCallers } from './dashboard-caller.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The client key presented as `Authorization: Bearer <key>` or `x-api-key: <key>`, or null. */
function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = BEARER.exec(auth);
    if (m !== null) return m[1] ?? null;
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.trim() !== '' ? x.trim() : null;
}

/**
 * Admits a dashboard request only with an enabled, unexpired client key whose user (if any) is
 * enabled, as the relay would. The key is looked up by its SHA-256 (a unique index), so the lookup
 * is an equality on a digest and reveals nothing about other keys; the plaintext is never kept.
 */
export function requireClientKey(callers: DashboardCallers, now: () => number): RequestHandler {
  return async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const presented = presentedKey(req.headers);
    if (presented === null) {
      throw new AuthenticationError(
        'You did not provide an API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".',
        'missing_api_key',
      );
    }
    const caller = await callers.byKeyHash(hashKey(presented));
    if (caller === undefined) throw new AuthenticationError();
    if (!caller.key.enabled)
      throw new AuthenticationError('This API key has been disabled.', 'api_key_disabled');
    if (caller.key.expiresAt !== null && caller.key.expiresAt <= now()) {
      throw new AuthenticationError('This API key has expired.', 'api_key_expired');
    }
    if (caller.user !== null && !caller.user.enabled) {
      throw new AuthenticationError("This API key's user has been disabled.", 'user_disabled');
    }
    res.locals.dashboardCaller = caller;
    next();
  };
}

/** The caller `requireClientKey` admitted. */
export function callerOf(res: Response): DashboardCaller {
  const caller = res.locals.dashboardCaller as DashboardCaller | undefined;
  if (caller === undefined) throw new Error('dashboard route reached without requireClientKey');
  return caller;
}
