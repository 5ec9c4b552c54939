import { faultSettingsSchema, type FaultSettings } from '@lockkeys/contracts';
import { z } from 'zod';

/** Log levels pino understands, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
  token: 'dev-lock-token',
  lockCount: 100_000,
  slotCount: 1000,
  minGapMs: 1000,
  faults: { failureRate: 0, latencyMs: 0, slowRate: 1, dropRate: 0, offlineLocks: [], seed: undefined },
  logLevel: 'info',
};

/** Thrown when env or options do not describe a valid configuration; `message` is one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

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

// Env values are text: numbers must be plain decimals, so "abc", "1e3", "0x10" or "" never slip through as numbers.
const decimal = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal number')
  .transform(Number);
const integerText = z.string().trim().regex(/^\d+$/, 'must be a non-negative integer').transform(Number);
const lockIdList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .pipe(
    z.array(
      z
        .string()
        .regex(/^[1-9]\d*$/, 'must be a comma-separated list of positive lock ids')
        .transform(Number),
    ),
  );

/** Env variable → config field it sets, with the text parser for it. */
const ENV_VARIABLES = {
  LOCK_SIM_HOST: { field: 'host', parse: z.string().trim() },
  LOCK_SIM_PORT: { field: 'port', parse: integerText },
  LOCK_SIM_DB: { field: 'dbPath', parse: z.string().trim() },
  LOCK_BACKEND_TOKEN: { field: 'token', parse: z.string() },
  LOCK_SIM_LOCKS: { field: 'lockCount', parse: integerText },
  LOCK_SIM_SLOTS: { field: 'slotCount', parse: integerText },
  LOCK_SIM_MIN_GAP_MS: { field: 'minGapMs', parse: integerText },
  LOCK_SIM_FAILURE_RATE: { field: 'faults.failureRate', parse: decimal },
  LOCK_SIM_LATENCY_MS: { field: 'faults.latencyMs', parse: integerText },
  LOCK_SIM_SLOW_RATE: { field: 'faults.slowRate', parse: decimal },
  LOCK_SIM_DROP_RATE: { field: 'faults.dropRate', parse: decimal },
  LOCK_SIM_OFFLINE_LOCKS: { field: 'faults.offlineLocks', parse: lockIdList },
  LOCK_SIM_SEED: { field: 'faults.seed', parse: z.string() },
  LOG_LEVEL: { field: 'logLevel', parse: z.string().trim().toLowerCase() },
} as const;

/** Names of the env variables the simulator reads. */
export type SimulatorEnvVariable = keyof typeof ENV_VARIABLES;

/**
 * Reads the simulator's configuration from env variables (default: `process.env`), once, at start-up.
 * Unset or empty variables take their default. Throws `ConfigError` with a one-line message naming the variable.
 */
export function loadConfigFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): SimulatorConfig {
  const top: Record<string, unknown> = {};
  const faults: Record<string, unknown> = {};
  const fieldToVariable = new Map<string, string>();
  for (const [variable, { field, parse }] of Object.entries(ENV_VARIABLES)) {
    fieldToVariable.set(field, variable);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    const parsed = parse.safeParse(text);
    if (!parsed.success) {
      throw new ConfigError(
        `${variable} ${parsed.error.issues[0]?.message ?? 'is invalid'} (got ${JSON.stringify(text)})`,
      );
    }
    if (field.startsWith('faults.')) faults[field.slice('faults.'.length)] = parsed.data;
    else top[field] = parsed.data;
  }
  const candidate = { ...DEFAULT_CONFIG, ...top, faults: { ...DEFAULT_CONFIG.faults, ...faults } };
  const parsed = simulatorConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = (issue?.path ?? []).slice(0, 2).join('.');
    const variable = fieldToVariable.get(field) ?? field;
    const shown = env[variable];
    throw new ConfigError(
      `${variable} ${issue?.message ?? 'is invalid'}${shown === undefined ? '' : ` (got ${JSON.stringify(shown)})`}`,
    );
  }
  return parsed.data;
}
