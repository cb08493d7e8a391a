export { Relay, type RelayOptions } from './relay.js';
export type { RelaySettings } from './relay-context.js';
export type { UpstreamTimeouts } from './upstream-client.js';
export { RoutingTable, type Candidate } from './routing-table.js';
export { KeyAuthenticator } from './key-authenticator.js';
export { AccountHealth, accountKey, type HealthReport } from './account-health.js';
export type { DispatcherFactory } from './upstream-client.js';
export { ANNOUNCE_INTERVAL_MS, RelayAnnouncer, type RelayAnnouncerOptions } from './relay-announcer.js';
