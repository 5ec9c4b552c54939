import {
  temporalConnectionEnvSchema,
  temporalConnectionSettings,
  type RunSettings,
  type TemporalConnectionSettings,
} from '@lockkeys/contracts';
import { z } from 'zod';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

const EnvSchema = z.object({
  LOCK_BACKEND_URL: z.url().default('http://127.0.0.1:3100'),
  LOCK_BACKEND_TOKEN: z.string().min(1).default('dev-lock-token'),
  LOCK_BACKEND_TIMEOUT_MS: int(5_000, 1),
  KEY_COMMAND_GAP_MS: int(1_000),
  KEY_COMMAND_GAP_MARGIN_MS: int(5),
  ADD_KEY_INITIAL_RETRY_MS: int(1_000, 1),
  ADD_KEY_BACKOFF_COEFFICIENT: z.coerce.number().min(1).default(2),
  ADD_KEY_MAX_RETRY_MS: int(30_000, 1),
  ADD_KEY_MAX_ATTEMPTS: int(10, 1),
  ADD_KEY_TIMEOUT_MS: int(15 * 60_000, 1),
  KEYS_PER_WORKFLOW_RUN: int(300, 1),
  LOCK_HOLDER_CHECK_MS: int(60_000, 1),
  LOCK_MUTEX_IDLE_MS: int(60_000, 1),
  WORKER_SHUTDOWN_GRACE_MS: int(30_000),
  WORKER_HEALTH_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).default(9464),
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The worker's configuration, from the environment. */
export interface WorkerConfig {
  temporal: TemporalConnectionSettings;
  lockBackend: { baseUrl: string; token: string; requestTimeoutMs: number };
  runSettings: RunSettings;
  shutdownGraceMs: number;
  health: { host: string; port: number };
  /** Prometheus exporter of the SDK's and our own metrics. */
  metrics: { host: string; port: number };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

/** Reads the environment once; throws one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = EnvSchema.safeParse(env);
  const temporal = temporalConnectionEnvSchema.safeParse(env);
  const issues = [...(parsed.error?.issues ?? []), ...(temporal.error?.issues ?? [])];
  if (!parsed.success || !temporal.success) {
    const problems = issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid worker configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    temporal: temporalConnectionSettings(temporal.data),
    lockBackend: {
      baseUrl: e.LOCK_BACKEND_URL,
      token: e.LOCK_BACKEND_TOKEN,
      requestTimeoutMs: e.LOCK_BACKEND_TIMEOUT_MS,
    },
    runSettings: {
      commandGapMs: e.KEY_COMMAND_GAP_MS,
      commandGapMarginMs: e.KEY_COMMAND_GAP_MARGIN_MS,
      addKey: {
        initialIntervalMs: e.ADD_KEY_INITIAL_RETRY_MS,
        backoffCoefficient: e.ADD_KEY_BACKOFF_COEFFICIENT,
        maximumIntervalMs: e.ADD_KEY_MAX_RETRY_MS,
        maximumAttempts: e.ADD_KEY_MAX_ATTEMPTS,
        // One attempt waits at most the gap, then makes one HTTP request; plus a second of slack for the worker.
        startToCloseTimeoutMs: e.KEY_COMMAND_GAP_MS + e.LOCK_BACKEND_TIMEOUT_MS + 1_000,
        scheduleToCloseTimeoutMs: e.ADD_KEY_TIMEOUT_MS,
      },
      maxKeysPerRun: e.KEYS_PER_WORKFLOW_RUN,
      lockHolderCheckIntervalMs: e.LOCK_HOLDER_CHECK_MS,
      lockMutexIdleMs: e.LOCK_MUTEX_IDLE_MS,
    },
    shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    health: { host: e.WORKER_HEALTH_HOST, port: e.WORKER_HEALTH_PORT },
    metrics: { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
    logLevel: e.LOG_LEVEL,
  };
}
