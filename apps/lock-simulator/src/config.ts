import {
  ConfigError,
  decimal,
  type Env,
  integer,
  LOG_LEVELS,
  type LogLevel,
  logLevel,
  parseEnv,
  port,
  problem,
  quoted,
  secret,
  text,
  variable,
} from '@lockkeys/config';
import { DEV_LOCK_BACKEND_TOKEN, faultSettingsSchema, lockIdSchema, type FaultSettings } from '@lockkeys/contracts';
import { z } from 'zod';

export { ConfigError, LOG_LEVELS, type LogLevel } from '@lockkeys/config';

/** Everything the lock simulator needs to run. */
export interface SimulatorConfig {
  host: string;
  /** TCP port; `0` lets the OS pick a free one. */
  port: number;
  /** SQLite file, or `:memory:`. */
  dbPath: string;
  /** Bearer token every request except `/healthz` must carry. */
  token: string;
  /** Known locks are `1..lockCount`. */
  lockCount: number;
  /** Slots of each lock are `0..slotCount-1`. */
  slotCount: number;
  /** Minimum time between two commands to one lock, in ms; sooner is `429`. */
  minGapMs: number;
  faults: FaultSettings;
  logLevel: LogLevel;
}

/** Defaults used when neither env nor options say otherwise. */
export const DEFAULT_CONFIG: SimulatorConfig = {
  host: '127.0.0.1',
  port: 3100,
  dbPath: '.data/lock-simulator.sqlite',
  token: DEV_LOCK_BACKEND_TOKEN,
  lockCount: 100_000,
  slotCount: 1000,
  minGapMs: 1000,
  faults: { failureRate: 0, latencyMs: 0, slowRate: 1, dropRate: 0, offlineLocks: [], seed: undefined },
  logLevel: 'info',
};

// Upper bound for delays, so a typo cannot park commands for days.
const MAX_DELAY_MS = 600_000;

const simulatorConfigSchema = z.strictObject({
  host: z.string().min(1, 'must not be empty'),
  port: z.number().int('must be an integer').min(0, 'must be at least 0').max(65535, 'must be at most 65535'),
  dbPath: z.string().min(1, 'must not be empty'),
  token: z.string().min(1, 'must not be empty').max(4096),
  lockCount: z.number().int('must be an integer').min(1, 'must be at least 1').max(Number.MAX_SAFE_INTEGER),
  slotCount: z.number().int('must be an integer').min(1, 'must be at least 1').max(1_000_000),
  minGapMs: z.number().int('must be an integer').min(0, 'must be at least 0').max(MAX_DELAY_MS),
  faults: faultSettingsSchema,
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
});

/** Options that override parts of the configuration (what `startSimulator` accepts). */
export type SimulatorConfigOverrides = Partial<Omit<SimulatorConfig, 'faults'>> & {
  faults?: Partial<Omit<FaultSettings, 'seed'>> & { seed?: string | number | undefined };
};

/** Fills `overrides` with defaults and validates the result; throws `ConfigError`. */
export function resolveConfig(overrides: SimulatorConfigOverrides = {}): SimulatorConfig {
  const { faults, ...rest } = overrides;
  const definedRest = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  const definedFaults = Object.fromEntries(Object.entries(faults ?? {}).filter(([, value]) => value !== undefined));
  if (typeof definedFaults.seed === 'number') definedFaults.seed = String(definedFaults.seed);
  const candidate = {
    ...DEFAULT_CONFIG,
    ...definedRest,
    faults: { ...DEFAULT_CONFIG.faults, ...definedFaults },
  };
  const parsed = simulatorConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Lock simulator option ${issue?.path.join('.') ?? '?'} ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

/** Comma-separated positive lock ids (`3, 7,`: spaces and a trailing comma are fine). */
const lockIdList = variable(
  (value) => {
    const parts = value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
    if (!parts.every((part) => lockIdSchema.safeParse(part).success)) {
      return problem(`must be a comma-separated list of positive lock ids (got ${quoted(value)})`);
    }
    return parts.map(Number);
  },
  { default: DEFAULT_CONFIG.faults.offlineLocks },
);

/** The simulator's variables, with the bounds of {@link simulatorConfigSchema}. */
const simulatorEnv = {
  NODE_ENV: text({ default: 'development' }),
  LOCK_SIM_HOST: text({ default: DEFAULT_CONFIG.host }),
  LOCK_SIM_PORT: port({ default: DEFAULT_CONFIG.port }),
  LOCK_SIM_DB: text({ default: DEFAULT_CONFIG.dbPath }),
  LOCK_BACKEND_TOKEN: secret(),
  LOCK_SIM_LOCKS: integer({ min: 1, max: Number.MAX_SAFE_INTEGER, default: DEFAULT_CONFIG.lockCount }),
  LOCK_SIM_SLOTS: integer({ min: 1, max: 1_000_000, default: DEFAULT_CONFIG.slotCount }),
  LOCK_SIM_MIN_GAP_MS: integer({ min: 0, max: MAX_DELAY_MS, default: DEFAULT_CONFIG.minGapMs }),
  LOCK_SIM_FAILURE_RATE: decimal({ min: 0, max: 1, default: DEFAULT_CONFIG.faults.failureRate }),
  LOCK_SIM_LATENCY_MS: integer({ min: 0, max: MAX_DELAY_MS, default: DEFAULT_CONFIG.faults.latencyMs }),
  LOCK_SIM_SLOW_RATE: decimal({ min: 0, max: 1, default: DEFAULT_CONFIG.faults.slowRate }),
  LOCK_SIM_DROP_RATE: decimal({ min: 0, max: 1, default: DEFAULT_CONFIG.faults.dropRate }),
  LOCK_SIM_OFFLINE_LOCKS: lockIdList,
  LOCK_SIM_SEED: text({ maxLength: 256 }),
  LOG_LEVEL: logLevel({ default: DEFAULT_CONFIG.logLevel }),
};

/** Names of the env variables the simulator reads. */
export type SimulatorEnvVariable = keyof typeof simulatorEnv;

/**
 * Reads the simulator's configuration from `env` (default: `process.env`; nothing else is read), once, at
 * start-up. Unset or empty variables take their default. Throws {@link ConfigError} with one line per bad
 * variable. With `NODE_ENV=production`, `LOCK_BACKEND_TOKEN` is required and may not be the development token.
 */
export function loadConfigFromEnv(env: Env = process.env): SimulatorConfig {
  const vars = parseEnv(simulatorEnv, env);
  if (vars.NODE_ENV === 'production') {
    if (vars.LOCK_BACKEND_TOKEN === undefined) {
      throw new ConfigError('LOCK_BACKEND_TOKEN is required when NODE_ENV=production');
    }
    if (vars.LOCK_BACKEND_TOKEN === DEV_LOCK_BACKEND_TOKEN) {
      throw new ConfigError('LOCK_BACKEND_TOKEN must not be the built-in development token when NODE_ENV=production');
    }
  }
  return {
    host: vars.LOCK_SIM_HOST,
    port: vars.LOCK_SIM_PORT,
    dbPath: vars.LOCK_SIM_DB,
    token: vars.LOCK_BACKEND_TOKEN ?? DEV_LOCK_BACKEND_TOKEN,
    lockCount: vars.LOCK_SIM_LOCKS,
    slotCount: vars.LOCK_SIM_SLOTS,
    minGapMs: vars.LOCK_SIM_MIN_GAP_MS,
    faults: {
      failureRate: vars.LOCK_SIM_FAILURE_RATE,
      latencyMs: vars.LOCK_SIM_LATENCY_MS,
      slowRate: vars.LOCK_SIM_SLOW_RATE,
      dropRate: vars.LOCK_SIM_DROP_RATE,
      offlineLocks: vars.LOCK_SIM_OFFLINE_LOCKS,
      seed: vars.LOCK_SIM_SEED,
    },
    logLevel: vars.LOG_LEVEL,
  };
}
