import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigSnapshot, ConfigSource } from '@switchyard/core';
import { GrpcConfigServer, GrpcConfigSource, healthServiceDefinition } from '@switchyard/adapters';
import { channelCredentials, serverCredentials } from '../src/grpc-credentials.js';

/** Internal gRPC with TLS and mTLS, configured the way the roles read SWITCHYARD_GRPC_TLS_* files. */
const TOKEN = 'tls-internal-token-0123456789';
const snapshot: ConfigSnapshot = {
  version: 4,
  channels: [],
  keys: [],
  modelAliases: {},
  users: [],
  groups: [],
  prices: [],
};
const source: ConfigSource = { current: () => snapshot, subscribe: () => () => undefined };
let dir: string;
const f = (name: string) => path.join(dir, name);

/** A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=switchyard-test-ca',
  );
  for (const [name, san] of [
    ['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ['client', 'subjectAltName=DNS:relay'],
  ] as const) {
    writeFileSync(f(`${name}.ext`), `${san}\n`);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-tls-'));
  makeCertificates();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('internal gRPC over TLS', () => {
  it('when the control plane requires client certificates, then a relay with one gets its snapshot and one without is refused', async () => {
    const server = new GrpcConfigServer({
      source,
      internalToken: TOKEN,
      credentials: serverCredentials({ cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') }),
    });
    const port = await server.listen('127.0.0.1:0');
    try {
      const relay = await GrpcConfigSource.connect({
        address: `127.0.0.1:${port}`,
        internalToken: TOKEN,
        credentials: channelCredentials({ cert: f('client.crt'), key: f('client.key'), ca: f('ca.crt') }),
      });
      expect(relay.current().version).toBe(4);
      relay.close();
      await expect(
        GrpcConfigSource.connect({
          address: `127.0.0.1:${port}`,
          internalToken: TOKEN,
          credentials: channelCredentials({ cert: null, key: null, ca: f('ca.crt') }),
          startTimeoutMs: 1_000,
          deadlineMs: 300,
        }),
      ).rejects.toThrow(/cannot get a config snapshot/);
      await expect(
        GrpcConfigSource.connect({
          address: `127.0.0.1:${port}`,
          internalToken: TOKEN,
          startTimeoutMs: 1_000,
          deadlineMs: 300,
        }),
      ).rejects.toThrow(/cannot get a config snapshot/);
    } finally {
      await server.close(100);
    }
  });

  it('when a health probe asks the control plane, then it answers SERVING without a token, and NOT_FOUND for other services', async () => {
    const server = new GrpcConfigServer({ source, internalToken: TOKEN });
    const port = await server.listen('127.0.0.1:0');
    const Health = healthServiceDefinition();
    const client = new Health(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      Check: (
        req: { service: string },
        cb: (err: grpc.ServiceError | null, res: { status: string }) => void,
      ) => void;
    };
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        client.Check({ service }, (e, r) => (e ? reject(e) : resolve(r))),
      );
    try {
      expect(await check('')).toEqual({ status: 'SERVING' });
      expect(await check('switchyard.v1.ConfigService')).toEqual({ status: 'SERVING' });
      await expect(check('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
      await server.close(100);
    }
  });
});
