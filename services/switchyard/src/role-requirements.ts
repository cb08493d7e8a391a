import type { SwitchyardConfig } from './config.js';
import { ConfigError } from './config.js';

export const ROLES = ['all', 'relay', 'control-plane', 'accounting'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What each distributed role cannot start without, checked before anything connects so the error
 * names every missing variable at once.
 */
export function requireForRole(role: Role, config: Readonly<SwitchyardConfig>): void {
  const missing: string[] = [];
  const need = (ok: boolean, name: string): void => {
    if (!ok) missing.push(name);
  };
  if (role === 'all') return;
  need(config.internal.token !== null, 'SWITCHYARD_INTERNAL_TOKEN');
  if (role === 'control-plane' || role === 'accounting')
    need(config.databaseExplicit, 'SWITCHYARD_DATABASE_URL');
  if (role === 'control-plane') {
    need(config.adminToken !== null, 'SWITCHYARD_ADMIN_TOKEN');
    need(config.secretKey !== null, 'SWITCHYARD_SECRET_KEY');
  }
  if (role === 'relay') {
    need(config.internal.controlPlaneUrl !== null, 'SWITCHYARD_CONTROL_PLANE_URL');
    need(config.internal.redisUrl !== null, 'SWITCHYARD_REDIS_URL');
  }
  if (role === 'relay' || role === 'accounting')
    need(config.internal.natsUrl !== null, 'SWITCHYARD_NATS_URL');
  const { tls } = config.internal;
  if ((tls.cert === null) !== (tls.key === null))
    missing.push('SWITCHYARD_GRPC_TLS_CERT and SWITCHYARD_GRPC_TLS_KEY (both or neither)');
  if (missing.length > 0) {
    throw new ConfigError(`role ${role} needs: ${missing.join(', ')}`);
  }
}
