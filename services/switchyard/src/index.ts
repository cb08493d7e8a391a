export { startAllInOne, createLogger, LOG_REDACT_PATHS, type AllInOne } from './all-in-one.js';
export { loadConfig, configReference, ConfigError, CONFIG_SCHEMA, type SwitchyardConfig } from './config.js';
