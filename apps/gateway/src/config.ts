import {
  collectConfigErrors,
  ConfigError,
  type Env,
  integer,
  type LogLevel,
  logLevel,
  loadTemporalConnection,
  oneOf,
  parseEnv,
  readConfigFile,
  type ParsedEnv,
  port,
  secret,
  type TemporalConnection,
  text,
} from '@lockkeys/config';
import { MIN_ADMISSION_TIMEOUT_MS } from '@lockkeys/admission';
import {
  DEFAULT_TASK_QUEUE,
  DEV_API_KEY,
  DEV_JWT_SECRET,
  DEV_ORG_ID,
  parseWebhooksFile,
  type WebhookEndpoints,
} from '@lockkeys/contracts';
import {
  type ApiKeyRecord,
  JWT_ALGORITHMS,
  jwtPublicKey,
  type JwtVerification,
  jwtSecretKey,
  parseApiKeysFile,
  sha256Hex,
} from './auth';

export { ConfigError, type LogLevel } from '@lockkeys/config';

/** HS256 needs at least 256 bits of key material to be as strong as its hash. */
const MIN_PRODUCTION_SECRET_LENGTH = 32;

/** Everything the gateway reads from its environment, parsed and checked once. */
export interface GatewayConfig {
  port: number;
  host: string;
  nodeEnv: string;
  isProduction: boolean;
  logLevel: LogLevel;
  jwt: JwtVerification;
  /** Accepted API keys, as hashes only. */
  apiKeys: readonly ApiKeyRecord[];
  /** The organizations' webhook endpoints (`WEBHOOKS_FILE`, the worker's file): what `GET /webhooks` shows. */
  webhooks: WebhookEndpoints;
  /** Where {@link apiKeys} came from (a file path or the built-in dev key), for the start-up log. */
  apiKeysSource: string;
  /**
   * Where and how to reach Temporal (`@temporalio/envconfig`: `TEMPORAL_ADDRESS`, profiles, TLS, API key),
   * plus the task queue of the runs (`TEMPORAL_TASK_QUEUE`).
   */
  temporal: TemporalConnection & { taskQueue: string };
  limits: {
    maxKeysPerRequest: number;
    maxKeyIndex: number;
    maxBodyBytes: number;
    /** Requests per API key per minute on `/locks/...`; more get 429. */
    rateLimitPerMinute: number;
    /** Runs queued, running or paused on one lock; a start beyond it gets 429. */
    maxActiveRunsPerLock: number;
    /**
     * How long a POST may take to be admitted at its lock and started (no worker answering: 503 after it). Whatever
     * Temporal does, a run this gateway answered 503 for is never started later.
     */
    admissionTimeoutMs: number;
  };
}

/** Upper bound of MAX_KEYS_PER_REQUEST: one start carries every key, and a run's input must stay far below Temporal's payload limit. */
const MAX_KEYS_PER_REQUEST_CEILING = 5000;

/** The gateway's variables (Temporal's connection variables are read by {@link loadTemporalConnection}). */
const gatewayEnv = {
  PORT: port({ default: 3000 }),
  HOST: text({ default: '127.0.0.1' }),
  NODE_ENV: text({ default: 'development' }),
  JWT_SECRET: secret(),
  JWT_PUBLIC_KEY: text({ maxLength: 16_384 }),
  JWT_ALGORITHM: oneOf(JWT_ALGORITHMS),
  JWT_CLOCK_TOLERANCE_S: integer({ min: 0, max: 300, default: 5 }),
  JWT_ISSUER: text(),
  JWT_AUDIENCE: text(),
  API_KEYS_FILE: text(),
  TEMPORAL_TASK_QUEUE: text({ default: DEFAULT_TASK_QUEUE, maxLength: 1000 }),
  MAX_KEYS_PER_REQUEST: integer({ min: 1, max: MAX_KEYS_PER_REQUEST_CEILING, default: 1000 }),
  MAX_KEY_INDEX: integer({ min: 0, max: Number.MAX_SAFE_INTEGER, default: 65535 }),
  MAX_BODY_BYTES: integer({ min: 1024, max: 100 * 1024 * 1024, default: 1024 * 1024 }),
  RATE_LIMIT_PER_MINUTE: integer({ min: 1, max: 1_000_000, default: 120 }),
  MAX_ACTIVE_RUNS_PER_LOCK: integer({ min: 1, max: 1000, default: 20 }),
  WEBHOOKS_FILE: text(),
  ADMISSION_TIMEOUT_MS: integer({ min: MIN_ADMISSION_TIMEOUT_MS, max: 300_000, default: 60_000 }),
  LOG_LEVEL: logLevel(),
};

const DEV_API_KEY_RECORD: ApiKeyRecord = Object.freeze({
  id: 'dev',
  sha256: sha256Hex(DEV_API_KEY),
  orgId: DEV_ORG_ID,
  locks: '*',
});

/**
 * Parses the gateway's environment (`env`, default `process.env`; nothing else is read) once. Throws
 * {@link ConfigError} with one line per bad variable, or one line when `NODE_ENV=production` lacks a real
 * `JWT_SECRET`/`JWT_PUBLIC_KEY` or an `API_KEYS_FILE`. Builds the JWT key object, reads `API_KEYS_FILE` and
 * Temporal's TLS files synchronously: it runs at start-up only.
 */
export function loadConfig(env: Env = process.env): GatewayConfig {
  const [vars, temporal] = collectConfigErrors(
    () => parseEnv(gatewayEnv, env),
    () => loadTemporalConnection(env),
  );
  const isProduction = vars.NODE_ENV === 'production';

  if (isProduction) {
    if (vars.JWT_SECRET === undefined && vars.JWT_PUBLIC_KEY === undefined) {
      throw new ConfigError('JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production');
    }
    if (vars.JWT_SECRET === DEV_JWT_SECRET) {
      throw new ConfigError('JWT_SECRET must not be the built-in development secret when NODE_ENV=production');
    }
    if (vars.JWT_SECRET !== undefined && vars.JWT_SECRET.length < MIN_PRODUCTION_SECRET_LENGTH) {
      throw new ConfigError(
        `JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when NODE_ENV=production`,
      );
    }
    if (vars.API_KEYS_FILE === undefined) throw new ConfigError('API_KEYS_FILE is required when NODE_ENV=production');
  }
  const jwt = jwtVerification(vars);

  const apiKeys = vars.API_KEYS_FILE === undefined ? [DEV_API_KEY_RECORD] : readApiKeysFile(vars.API_KEYS_FILE);
  if (isProduction && apiKeys.some((key) => key.sha256 === DEV_API_KEY_RECORD.sha256)) {
    throw new ConfigError(`API_KEYS_FILE ${vars.API_KEYS_FILE}: must not contain the built-in development key`);
  }

  return {
    port: vars.PORT,
    host: vars.HOST,
    nodeEnv: vars.NODE_ENV,
    isProduction,
    logLevel: vars.LOG_LEVEL,
    jwt: {
      ...jwt,
      clockToleranceSeconds: vars.JWT_CLOCK_TOLERANCE_S,
      ...(vars.JWT_ISSUER !== undefined && { issuer: vars.JWT_ISSUER }),
      ...(vars.JWT_AUDIENCE !== undefined && { audience: vars.JWT_AUDIENCE }),
    },
    apiKeys,
    webhooks:
      vars.WEBHOOKS_FILE === undefined
        ? new Map()
        : readConfigFile('WEBHOOKS_FILE', vars.WEBHOOKS_FILE, (content) =>
            parseWebhooksFile(content, { httpsOnly: isProduction }),
          ),
    apiKeysSource: vars.API_KEYS_FILE ?? 'built-in development key',
    temporal: { ...temporal, taskQueue: vars.TEMPORAL_TASK_QUEUE },
    limits: {
      maxKeysPerRequest: vars.MAX_KEYS_PER_REQUEST,
      maxKeyIndex: vars.MAX_KEY_INDEX,
      maxBodyBytes: vars.MAX_BODY_BYTES,
      rateLimitPerMinute: vars.RATE_LIMIT_PER_MINUTE,
      maxActiveRunsPerLock: vars.MAX_ACTIVE_RUNS_PER_LOCK,
      admissionTimeoutMs: vars.ADMISSION_TIMEOUT_MS,
    },
  };
}

type EnvVars = ParsedEnv<typeof gatewayEnv>;

/** The verification key and its one algorithm, from JWT_SECRET, JWT_PUBLIC_KEY or (development) the dev secret. */
function jwtVerification(vars: EnvVars): Pick<GatewayConfig['jwt'], 'algorithm' | 'key' | 'keySource'> {
  const { JWT_SECRET: secret, JWT_PUBLIC_KEY: publicKeyPem, JWT_ALGORITHM: algorithm } = vars;
  if (secret !== undefined && publicKeyPem !== undefined) {
    throw new ConfigError('Set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both');
  }
  if (publicKeyPem === undefined) {
    if (algorithm !== undefined && algorithm !== 'HS256') {
      throw new ConfigError(`JWT_ALGORITHM=${algorithm} needs JWT_PUBLIC_KEY; JWT_SECRET is for HS256 only`);
    }
    return {
      algorithm: 'HS256',
      key: jwtSecretKey(secret ?? DEV_JWT_SECRET),
      keySource: secret === undefined ? 'built-in development secret' : 'JWT_SECRET',
    };
  }
  try {
    const publicKey = jwtPublicKey(publicKeyPem);
    if (algorithm !== undefined && algorithm !== publicKey.algorithm) {
      throw new Error(`holds a key for ${publicKey.algorithm}, but JWT_ALGORITHM=${algorithm}`);
    }
    return { ...publicKey, keySource: 'JWT_PUBLIC_KEY' };
  } catch (err) {
    throw new ConfigError(`JWT_PUBLIC_KEY ${(err as Error).message}`);
  }
}

const readApiKeysFile = (path: string) => readConfigFile('API_KEYS_FILE', path, parseApiKeysFile);
