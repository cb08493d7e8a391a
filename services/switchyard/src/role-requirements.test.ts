import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { requireForRole } from './role-requirements.js';

const base = {
  SWITCHYARD_INTERNAL_TOKEN: 'internal-token-0123456789',
  SWITCHYARD_DATABASE_URL: 'mysql://u:p@db:3306/switchyard',
  SWITCHYARD_ADMIN_TOKEN: 'admin-token-0123456789',
  SWITCHYARD_SECRET_KEY: 'ab'.repeat(32),
  SWITCHYARD_CONTROL_PLANE_URL: 'control-plane:50051',
  SWITCHYARD_REDIS_URL: 'redis://redis:6379',
  SWITCHYARD_NATS_URL: 'nats://nats:4222',
};

describe('what each role needs', () => {
  it('when everything is set, then every role may start', () => {
    for (const role of ['all', 'relay', 'control-plane', 'accounting'] as const) {
      expect(() => requireForRole(role, loadConfig(base))).not.toThrow();
    }
  });
  it('when nothing is set, then the all-in-one still starts and each distributed role names all it lacks', () => {
    expect(() => requireForRole('all', loadConfig({}))).not.toThrow();
    expect(() => requireForRole('relay', loadConfig({}))).toThrow(
      'role relay needs: SWITCHYARD_INTERNAL_TOKEN, SWITCHYARD_CONTROL_PLANE_URL, SWITCHYARD_REDIS_URL, SWITCHYARD_NATS_URL',
    );
    expect(() => requireForRole('control-plane', loadConfig({}))).toThrow(
      'role control-plane needs: SWITCHYARD_INTERNAL_TOKEN, SWITCHYARD_DATABASE_URL, SWITCHYARD_ADMIN_TOKEN, SWITCHYARD_SECRET_KEY',
    );
    expect(() => requireForRole('accounting', loadConfig({}))).toThrow(
      'role accounting needs: SWITCHYARD_INTERNAL_TOKEN, SWITCHYARD_DATABASE_URL, SWITCHYARD_NATS_URL',
    );
  });
  it('when only one half of the TLS pair is set, then the role refuses to start', () => {
    expect(() =>
      requireForRole('control-plane', loadConfig({ ...base, SWITCHYARD_GRPC_TLS_CERT: '/tls/cert.pem' })),
    ).toThrow(/SWITCHYARD_GRPC_TLS_CERT and SWITCHYARD_GRPC_TLS_KEY/);
  });
  it('when the control plane address is not host:port, then configuration fails naming it', () => {
    expect(() => loadConfig({ SWITCHYARD_CONTROL_PLANE_URL: 'http://cp' })).toThrow(
      /SWITCHYARD_CONTROL_PLANE_URL/,
    );
  });
});
