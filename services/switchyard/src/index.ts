export { startAllInOne, createLogger, LOG_REDACT_PATHS, type AllInOne } from './all-in-one.js';
export { loadConfig, configReference, ConfigError, CONFIG_SCHEMA, type SwitchyardConfig } from './config.js';
export { startControlPlaneRole } from './roles/control-plane-role.js';
export { startRelayRole } from './roles/relay-role.js';
export { startAccountingRole } from './roles/accounting-role.js';
export type { RoleHandle } from './roles/role-handle.js';
export { requireForRole, ROLES, type Role } from './role-requirements.js';
