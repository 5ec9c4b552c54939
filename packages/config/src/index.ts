/**
 * The one way lockkeys apps read their environment: each app's `config.ts` declares its variables with
 * these builders and calls {@link parseEnv} once; Temporal connection settings come from
 * {@link loadTemporalConnection}, the way the Temporal CLI and SDKs read them.
 */
export { ConfigError, collectConfigErrors } from './errors';
export { readConfigFile } from './files';
export {
  boolean,
  decimal,
  type Env,
  type EnvShape,
  type EnvVariable,
  integer,
  type IntegerOptions,
  LOG_LEVELS,
  type LogLevel,
  logLevel,
  oneOf,
  type OneOfOptions,
  type ParsedEnv,
  parseEnv,
  parseValue,
  port,
  Problem,
  problem,
  quoted,
  secret,
  text,
  type TextOptions,
  url,
  type UrlOptions,
  variable,
} from './env';
export {
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  defaultTemporalConfigFile,
  isTemporalClientVariable,
  loadTemporalConnection,
  TEMPORAL_CLIENT_VARIABLES,
  type TemporalConnection,
  type TemporalConnectionOptions,
  type TemporalTlsOptions,
} from './temporal';
