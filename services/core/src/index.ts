export * from './errors.js';
export * from './domain.js';
export * from './provider-catalog.js';
export { ADDRESS_CLASSES, classifyAddress, type AddressClass } from './address-policy.js';
export type {
  AdmissionDecision,
  AdmissionRefusal,
  AdmissionRelease,
  AdmissionRequest,
  LimitScope,
  ScopeState,
  WindowState,
  AccountFailureOutcome,
  AccountFailureReport,
  AccountStatusReporter,
  ConfigSource,
  CoordinationStore,
  UsageBus,
} from './ports.js';
export { matchesModel, matchesAnyModel, isGlob } from './model-match.js';
export {
  CLIENT_KEY_PREFIX,
  hashKey,
  generateClientKey,
  generateToken,
  timingSafeEqualString,
  parseSecretKey,
  SecretBox,
} from './crypto.js';
export type * from './schema.js';
export type { RelayPresence, RelayRegistry } from './relay-presence.js';
export {
  MIGRATIONS,
  migrateDownTo,
  migrateToLatest,
  SchemaNewerError,
  schemaStatus,
  type SchemaStatus,
} from './migrations/index.js';
export {
  OAUTH_PROFILES,
  oauthProfile,
  accountDecorations,
  type OAuthProfile,
  type AccountDecorations,
} from './oauth-profiles.js';
export {
  NANOS_PER_USD,
  MAX_NANOS,
  RATIO_ONE,
  parseUsd,
  formatUsd,
  parseRatio,
  formatRatio,
} from './money.js';
export { findPrice, costNano, type ModelPrice, type BilledUsage } from './pricing.js';
