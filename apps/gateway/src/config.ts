import { type KeyObject } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import {
  DEV_API_KEY,
  DEV_JWT_SECRET,
  DEV_ORG_ID,
  type TemporalConnectionSettings,
  temporalConnectionEnvSchema,
  temporalConnectionSettings,
} from '@lockkeys/contracts';
import { z } from 'zod';
import {
  type ApiKeyRecord,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  jwtPublicKey,
  jwtSecretKey,
  parseApiKeysFile,
  sha256Hex,
} from './auth';


/** HS256 needs at least 256 bits of key material to be as strong as its hash. */
const MIN_PRODUCTION_SECRET_LENGTH = 32;

/** Everything the gateway reads from its environment, parsed and checked once. */
export interface GatewayConfig {
  port: number;
  host: string;
  nodeEnv: string;
  isProduction: boolean;
  logLevel: LogLevel;
  jwt: {
    /** The one algorithm tokens may use; every other (`none` included) is refused. */
    algorithm: JwtAlgorithm;
    /** HS256 secret or RS256/ES256 public key, built once: jsonwebtoken re-parses a string key on every verify. */
    key: KeyObject;
    /** Which variable the key came from, for the start-up log (never the key itself). */
    keySource: 'JWT_SECRET' | 'JWT_PUBLIC_KEY' | 'built-in development secret';
    /** Seconds of clock skew allowed on `exp` and `nbf`. */
    clockToleranceSeconds: number;
    /** Required `iss` claim, when set. */
    issuer?: string;
    /** Required `aud` claim, when set. */
    audience?: string;
  };
  /** Accepted API keys, as hashes only. */
  apiKeys: readonly ApiKeyRecord[];
  /** Where {@link apiKeys} came from (a file path or the built-in dev key), for the start-up log. */
  apiKeysSource: string;
  /** Where and how to reach Temporal: a local dev server by default, or a remote cluster / Temporal Cloud with TLS. */
  temporal: TemporalConnectionSettings;
  limits: {
    maxKeysPerRequest: number;
    maxKeyIndex: number;
    maxBodyBytes: number;
    /** Requests per API key per minute on `/locks/...`; more get 429. */
    rateLimitPerMinute: number;
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** pino levels accepted by `LOG_LEVEL`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Start-up configuration is wrong; the message is one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const integer = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `${name} must be from ${min} to ${max}`);

const text = (name: string) => z.string().max(4096, `${name} is too long`);

/** Upper bound of MAX_KEYS_PER_REQUEST: one start carries every key, and a run's input must stay far below Temporal's payload limit. */
const MAX_KEYS_PER_REQUEST_CEILING = 5000;

const envSchema = z.object({
  PORT: integer('PORT', 0, 65535).default(3000),
  HOST: text('HOST').default('127.0.0.1'),
  NODE_ENV: text('NODE_ENV').default('development'),
  JWT_SECRET: text('JWT_SECRET').optional(),
  JWT_PUBLIC_KEY: z.string().max(16_384, 'JWT_PUBLIC_KEY is too long').optional(),
  JWT_ALGORITHM: z
    .enum(JWT_ALGORITHMS, { error: `JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(', ')}` })
    .optional(),
  JWT_CLOCK_TOLERANCE_S: integer('JWT_CLOCK_TOLERANCE_S', 0, 300).default(5),
  JWT_ISSUER: text('JWT_ISSUER').optional(),
  JWT_AUDIENCE: text('JWT_AUDIENCE').optional(),
  API_KEYS_FILE: text('API_KEYS_FILE').optional(),
  MAX_KEYS_PER_REQUEST: integer('MAX_KEYS_PER_REQUEST', 1, MAX_KEYS_PER_REQUEST_CEILING).default(1000),
  MAX_KEY_INDEX: integer('MAX_KEY_INDEX', 0, Number.MAX_SAFE_INTEGER).default(65535),
  MAX_BODY_BYTES: integer('MAX_BODY_BYTES', 1024, 100 * 1024 * 1024).default(1024 * 1024),
  RATE_LIMIT_PER_MINUTE: integer('RATE_LIMIT_PER_MINUTE', 1, 1_000_000).default(120),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

const DEV_API_KEY_RECORD: ApiKeyRecord = Object.freeze({
  id: 'dev',
  sha256: sha256Hex(DEV_API_KEY),
  orgId: DEV_ORG_ID,
  locks: '*',
});

/**
 * Parses the gateway's environment once. Throws {@link ConfigError} with a one-line message when a
 * value is invalid, or when `NODE_ENV=production` lacks a real `JWT_SECRET`/`JWT_PUBLIC_KEY` or an
 * `API_KEYS_FILE`. Builds the JWT key object and reads `API_KEYS_FILE` synchronously: it runs at start-up only.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // An empty variable (`JWT_SECRET=` in a .env file) means "unset", never "the empty secret".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  // TEMPORAL_* are shared with the worker, so their schema lives in contracts.
  const temporalParsed = temporalConnectionEnvSchema.safeParse(present);
  if (!parsed.success || !temporalParsed.success) {
    const problems = [
      ...(parsed.error?.issues.map((issue) => issue.message) ?? []),
      ...(temporalParsed.error?.issues.map(namingTheVariable) ?? []),
    ];
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const vars = parsed.data;
  const temporal = temporalConnectionSettings(temporalParsed.data);
  checkTemporalTlsFiles(temporal);
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
    apiKeysSource: vars.API_KEYS_FILE ?? 'built-in development key',
    temporal,
    limits: {
      maxKeysPerRequest: vars.MAX_KEYS_PER_REQUEST,
      maxKeyIndex: vars.MAX_KEY_INDEX,
      maxBodyBytes: vars.MAX_BODY_BYTES,
      rateLimitPerMinute: vars.RATE_LIMIT_PER_MINUTE,
    },
  };
}

type EnvVars = z.infer<typeof envSchema>;

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

/** A zod issue as one message that starts with the variable's name (contracts' own messages mostly do). */
function namingTheVariable(issue: z.core.$ZodIssue): string {
  const variable = issue.path.join('.');
  return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
}

/** The TLS files must be readable now: a missing certificate should stop start-up, not fail the first request. */
function checkTemporalTlsFiles(temporal: TemporalConnectionSettings): void {
  const files: Array<[variable: string, path: string | undefined]> = [
    ['TEMPORAL_TLS_CERT', temporal.tls?.certPath],
    ['TEMPORAL_TLS_KEY', temporal.tls?.keyPath],
    ['TEMPORAL_TLS_CA', temporal.tls?.caPath],
  ];
  for (const [variable, path] of files) {
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      throw new ConfigError(
        `${variable} ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'read error'})`,
      );
    }
  }
}

function readApiKeysFile(path: string): ApiKeyRecord[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError(`API_KEYS_FILE ${path}: cannot be read (${code})`);
  }
  try {
    return parseApiKeysFile(content);
  } catch (err) {
    throw new ConfigError(`API_KEYS_FILE ${path}: ${(err as Error).message}`);
  }
}
