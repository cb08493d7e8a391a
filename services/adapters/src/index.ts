export { createNodeSqliteDialect } from './node-sqlite-dialect.js';
export { MemoryCoordinationStore } from './memory-coordination-store.js';
export { MemoryRelayRegistry, RedisRelayRegistry } from './relay-registry.js';
export { InProcessUsageBus } from './in-process-usage-bus.js';
export { createMysqlDialect, redactDatabaseUrl } from './mysql-dialect.js';
export { GrpcConfigServer, type GrpcConfigServerOptions } from './grpc-config-server.js';
export { GrpcConfigSource, type GrpcConfigSourceOptions } from './grpc-config-source.js';
export { RedisCoordinationStore, type RedisCoordinationStoreOptions } from './redis-coordination-store.js';
export {
  ResilientCoordinationStore,
  type AdmissionWithSpend,
  type CoordinationStoreStatus,
  type ProbeableCoordinationStore,
  type ResilientCoordinationStoreOptions,
  type SeedableCoordinationStore,
} from './resilient-coordination-store.js';
export { NatsUsageBus, type NatsUsageBusOptions } from './nats-usage-bus.js';
export { healthServiceDefinition } from './grpc-config-proto.js';
export { UsageSpool, type SpooledEvent, type UsageSpoolOptions } from './usage-spool.js';
export {
  AddressRefusedError,
  OutboundDispatchers,
  isAddressRefused,
  type HostLookup,
  type OutboundDispatchersOptions,
  type OutboundPolicy,
  type OutboundTarget,
  type ResolvedAddress,
} from './outbound-dispatchers.js';
