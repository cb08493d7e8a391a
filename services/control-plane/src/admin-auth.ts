import type { RequestHandler } from 'express';
import { AuthenticationError, hashKey, timingSafeEqualString } from '@switchyard/core';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Admits a request only with `Authorization: Bearer <admin token>`. The presented token is hashed
 * (SHA-256 hex) and compared with `adminTokenHash` in constant time; the token itself is never stored
 * or logged. Every admin response is marked `no-store`, since some carry freshly issued keys.
 */
export function requireAdminToken(adminTokenHash: string): RequestHandler {
  const expected = adminTokenHash.toLowerCase();
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const header = req.headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token === undefined) {
      next(
        new AuthenticationError(
          'Missing admin token: send Authorization: Bearer <token>.',
          'invalid_admin_token',
        ),
      );
      return;
    }
    if (!timingSafeEqualString(hashKey(token), expected)) {
      next(new AuthenticationError('Invalid admin token.', 'invalid_admin_token'));
      return;
    }
    next();
  };
}
