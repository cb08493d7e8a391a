import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configReference, loadConfig } from './config.js';

describe('configuration', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8080);
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.database).toEqual({ kind: 'sqlite', path: path.resolve('./data/switchyard.db') });
    expect(c.adminToken).toBeNull();
    expect(c.relay.bodyLimitBytes).toBe(32 * 1024 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('when variables are set, then they are parsed and typed', () => {
    const c = loadConfig({
      SWITCHYARD_HTTP_PORT: '9000',
      SWITCHYARD_DATA_DIR: '/tmp/sy',
      SWITCHYARD_DATABASE_URL: 'sqlite:/tmp/sy/x.db',
      SWITCHYARD_ADMIN_TOKEN: 'a-long-enough-admin-token',
      SWITCHYARD_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '1500',
    });
    expect(c.http.port).toBe(9000);
    expect(c.database).toEqual({ kind: 'sqlite', path: '/tmp/sy/x.db' });
    expect(c.adminToken).toBe('a-long-enough-admin-token');
    expect(c.relay.timeouts.firstByteMs).toBe(1500);
  });
  it('when values are invalid, then the error names every bad variable', () => {
    let err: unknown;
    try {
      loadConfig({
        SWITCHYARD_HTTP_PORT: 'eighty',
        SWITCHYARD_DATABASE_URL: 'postgres://x',
        SWITCHYARD_ADMIN_TOKEN: 'short',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('SWITCHYARD_HTTP_PORT');
    expect(msg).toContain('SWITCHYARD_DATABASE_URL');
    expect(msg).toContain('SWITCHYARD_ADMIN_TOKEN');
  });
  it('when the port is out of range, then it is refused', () => {
    expect(() => loadConfig({ SWITCHYARD_HTTP_PORT: '70000' })).toThrow(/SWITCHYARD_HTTP_PORT/);
  });
  it('when the reference is printed, then every variable is described', () => {
    const ref = configReference();
    for (const name of [
      'SWITCHYARD_HTTP_PORT',
      'SWITCHYARD_DATA_DIR',
      'SWITCHYARD_DATABASE_URL',
      'SWITCHYARD_ADMIN_TOKEN',
      'SWITCHYARD_SECRET_KEY',
    ]) {
      expect(ref).toMatch(new RegExp(`\\| \`${name}\` \\|[^\\n]*\\| \\S`));
    }
  });
});
