import {
  collectConfigErrors,
  ConfigError,
  decimal,
  type Env,
  integer,
  type LogLevel,
  logLevel,
  loadTemporalConnection,
  oneOf,
  parseEnv,
  type ParsedEnv,
  port,
  secret,
  type TemporalConnection,
  text,
  readConfigFile,
  url,
} from '@lockkeys/config';
import {
  DEFAULT_TASK_QUEUE,
  DEV_LOCK_BACKEND_TOKEN,
  parseWebhooksFile,
  type RunSettings,
  type WebhookEndpoints,
} from '@lockkeys/contracts';
import type { RunsWorkerTuning } from '@lockkeys/workflows/worker';

export { ConfigError, type LogLevel } from '@lockkeys/config';

/** With `NODE_ENV=production` the gap may not go below what lock hardware takes (SPEC: at least 1 s). */
export const MIN_PRODUCTION_COMMAND_GAP_MS = 1_000;

const HOUR_MS = 3_600_000;

/**
 * The SDK's worker tuning, as set by `WORKER_*`; a variable left unset leaves its option out, so the SDK's
 * default applies (1.24: 100 activities, 40 workflow tasks, a cache sized from the heap, min(10, slots) pollers).
 */
export type WorkerTuning = RunsWorkerTuning;

/** SDK 1.24 defaults of the slot counts, against which poller counts are checked when the slots are unset. */
const SDK_DEFAULT_MAX_CONCURRENT_ACTIVITIES = 100;
const SDK_DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS = 40;

/** The worker's configuration, from the environment. */
export interface WorkerConfig {
  isProduction: boolean;
  /** Where and how to reach Temporal (`@temporalio/envconfig`), plus the task queue (`TEMPORAL_TASK_QUEUE`). */
  temporal: TemporalConnection & { taskQueue: string };
  lockBackend: { baseUrl: string; token: string; requestTimeoutMs: number };
  /** What each run records at its start; see {@link RunSettings}. */
  runSettings: RunSettings;
  /** Options passed to `Worker.create` as they are. */
  workerTuning: WorkerTuning;
  /** Completion webhook endpoints by organization (`WEBHOOKS_FILE`); empty when unset. */
  webhooks: WebhookEndpoints;
  shutdownGraceMs: number;
  health: { host: string; port: number };
  /** Prometheus exporter of the SDK's and our own metrics. */
  metrics: { host: string; port: number };
  logLevel: LogLevel;
}

/** The worker's variables (Temporal's connection variables are read by {@link loadTemporalConnection}). */
const workerEnv = {
  NODE_ENV: text({ default: 'development' }),
  TEMPORAL_TASK_QUEUE: text({ default: DEFAULT_TASK_QUEUE, maxLength: 1000 }),
  LOCK_BACKEND_URL: url({ default: 'http://127.0.0.1:3100' }),
  LOCK_BACKEND_TOKEN: secret(),
  LOCK_BACKEND_TIMEOUT_MS: integer({ min: 1, max: 600_000, default: 5_000 }),
  KEY_COMMAND_GAP_MS: integer({ min: 0, max: 600_000, default: 1_000 }),
  ADD_KEY_ACTIVITY: oneOf(['local', 'remote'] as const, { default: 'local' }),
  ADD_KEY_INITIAL_RETRY_MS: integer({ min: 1, max: HOUR_MS, default: 1_000 }),
  ADD_KEY_BACKOFF_COEFFICIENT: decimal({ min: 1, max: 100, default: 2 }),
  ADD_KEY_MAX_RETRY_MS: integer({ min: 1, max: 24 * HOUR_MS, default: 30_000 }),
  ADD_KEY_MAX_ATTEMPTS: integer({ min: 1, max: 1_000, default: 10 }),
  ADD_KEY_TIMEOUT_MS: integer({ min: 1, max: 7 * 24 * HOUR_MS, default: 15 * 60_000 }),
  KEYS_PER_WORKFLOW_RUN: integer({ min: 1, max: 100_000, default: 300 }),
  LOCK_HOLDER_CHECK_MS: integer({ min: 1, max: 24 * HOUR_MS, default: 60_000 }),
  LOCK_IDLE_MS: integer({ min: 1, max: 24 * HOUR_MS, default: 60_000 }),
  LOCK_START_MARGIN_MS: integer({ min: 1_000, max: 24 * HOUR_MS, default: 60_000 }),
  WORKER_SHUTDOWN_GRACE_MS: integer({ min: 0, max: HOUR_MS, default: 30_000 }),
  WORKER_HEALTH_HOST: text({ default: '127.0.0.1' }),
  WORKER_HEALTH_PORT: port({ default: 9465 }),
  WORKER_METRICS_HOST: text({ default: '127.0.0.1' }),
  WORKER_METRICS_PORT: port({ min: 1, default: 9464 }),
  WORKER_MAX_CONCURRENT_ACTIVITIES: integer({ min: 1, max: 10_000 }),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: integer({ min: 2, max: 10_000 }),
  WORKER_MAX_CACHED_WORKFLOWS: integer({ min: 0, max: 1_000_000 }),
  WORKER_WORKFLOW_TASK_POLLERS: integer({ min: 1, max: 1_000 }),
  WORKER_ACTIVITY_TASK_POLLERS: integer({ min: 1, max: 1_000 }),
  WEBHOOKS_FILE: text(),
  WEBHOOK_RETRY_HOURS: integer({ min: 1, max: 720, default: 24 }),
  WEBHOOK_TIMEOUT_MS: integer({ min: 100, max: 120_000, default: 10_000 }),
  WEBHOOK_PROBE_MS: integer({ min: 1_000, max: 300_000, default: 30_000 }),
  LOG_LEVEL: logLevel(),
};

type WorkerVars = ParsedEnv<typeof workerEnv>;

/**
 * Reads the worker's environment (`env`, default `process.env`; nothing else is read) once. Throws
 * {@link ConfigError} with one line per bad variable. With `NODE_ENV=production`, `LOCK_BACKEND_TOKEN` is
 * required and may not be the development token, `KEY_COMMAND_GAP_MS` may not go below 1000, and webhook
 * URLs must be https. Reads `WEBHOOKS_FILE` and Temporal's TLS files synchronously: it runs at start-up only.
 */
export function loadConfig(env: Env = process.env): WorkerConfig {
  const [vars, temporal] = collectConfigErrors(
    () => parseEnv(workerEnv, env),
    () => loadTemporalConnection(env),
  );
  const isProduction = vars.NODE_ENV === 'production';
  const [token, workerTuning, webhooks] = collectConfigErrors(
    () => lockBackendToken(vars, isProduction),
    () => tuning(vars),
    () => readWebhooksFile(vars.WEBHOOKS_FILE, isProduction),
    () => {
      if (isProduction && vars.KEY_COMMAND_GAP_MS < MIN_PRODUCTION_COMMAND_GAP_MS) {
        throw new ConfigError(
          `KEY_COMMAND_GAP_MS must be at least ${MIN_PRODUCTION_COMMAND_GAP_MS} when NODE_ENV=production (got "${vars.KEY_COMMAND_GAP_MS}")`,
        );
      }
    },
  );
  return {
    isProduction,
    temporal: { ...temporal, taskQueue: vars.TEMPORAL_TASK_QUEUE },
    lockBackend: {
      baseUrl: vars.LOCK_BACKEND_URL,
      token,
      requestTimeoutMs: vars.LOCK_BACKEND_TIMEOUT_MS,
    },
    runSettings: {
      commandGapMs: vars.KEY_COMMAND_GAP_MS,
      addKey: {
        activity: vars.ADD_KEY_ACTIVITY,
        initialIntervalMs: vars.ADD_KEY_INITIAL_RETRY_MS,
        backoffCoefficient: vars.ADD_KEY_BACKOFF_COEFFICIENT,
        maximumIntervalMs: vars.ADD_KEY_MAX_RETRY_MS,
        maximumAttempts: vars.ADD_KEY_MAX_ATTEMPTS,
        // One attempt is one HTTP command, plus a second of slack for the worker; the gap is a workflow timer.
        startToCloseTimeoutMs: vars.LOCK_BACKEND_TIMEOUT_MS + 1_000,
        scheduleToCloseTimeoutMs: vars.ADD_KEY_TIMEOUT_MS,
      },
      maxKeysPerRun: vars.KEYS_PER_WORKFLOW_RUN,
      lockHolderCheckIntervalMs: vars.LOCK_HOLDER_CHECK_MS,
      lockIdleMs: vars.LOCK_IDLE_MS,
      lockStartMarginMs: vars.LOCK_START_MARGIN_MS,
      webhook: {
        retryWindowMs: vars.WEBHOOK_RETRY_HOURS * HOUR_MS,
        attemptTimeoutMs: vars.WEBHOOK_TIMEOUT_MS,
        probeIntervalMs: vars.WEBHOOK_PROBE_MS,
      },
    },
    workerTuning,
    webhooks,
    shutdownGraceMs: vars.WORKER_SHUTDOWN_GRACE_MS,
    health: { host: vars.WORKER_HEALTH_HOST, port: vars.WORKER_HEALTH_PORT },
    metrics: { host: vars.WORKER_METRICS_HOST, port: vars.WORKER_METRICS_PORT },
    logLevel: vars.LOG_LEVEL,
  };
}

/**
 * What the replay tool needs: only the Temporal connection (a replay needs no lock backend, and must work
 * where the worker's production settings are not present).
 */
export function loadReplayConfig(env: Env = process.env): { temporal: TemporalConnection } {
  return { temporal: loadTemporalConnection(env) };
}

/** The bearer token for the lock backend: the dev token outside production only. */
function lockBackendToken(vars: WorkerVars, isProduction: boolean): string {
  if (!isProduction) return vars.LOCK_BACKEND_TOKEN ?? DEV_LOCK_BACKEND_TOKEN;
  if (vars.LOCK_BACKEND_TOKEN === undefined) {
    throw new ConfigError('LOCK_BACKEND_TOKEN is required when NODE_ENV=production');
  }
  if (vars.LOCK_BACKEND_TOKEN === DEV_LOCK_BACKEND_TOKEN) {
    throw new ConfigError('LOCK_BACKEND_TOKEN must not be the built-in development token when NODE_ENV=production');
  }
  return vars.LOCK_BACKEND_TOKEN;
}

/** `WORKER_*` as SDK options; refuses what the SDK would silently change (it clamps with a warning). */
function tuning(vars: WorkerVars): WorkerTuning {
  const {
    WORKER_MAX_CONCURRENT_ACTIVITIES: activities,
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: workflowTasks,
    WORKER_MAX_CACHED_WORKFLOWS: cached,
    WORKER_WORKFLOW_TASK_POLLERS: workflowPollers,
    WORKER_ACTIVITY_TASK_POLLERS: activityPollers,
  } = vars;
  const problems: string[] = [];
  if (cached === 1) {
    problems.push('WORKER_MAX_CACHED_WORKFLOWS must be 0 (no cache) or at least 2 (got "1")');
  }
  if (workflowTasks !== undefined && cached !== undefined && cached > 0 && workflowTasks > cached) {
    problems.push(
      `WORKER_MAX_CONCURRENT_WORKFLOW_TASKS must not exceed WORKER_MAX_CACHED_WORKFLOWS (${cached}) (got "${workflowTasks}")`,
    );
  }
  const workflowSlots = workflowTasks ?? SDK_DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS;
  if (workflowPollers !== undefined && workflowPollers > workflowSlots) {
    problems.push(
      `WORKER_WORKFLOW_TASK_POLLERS must not exceed WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (${workflowSlots}) (got "${workflowPollers}")`,
    );
  }
  const activitySlots = activities ?? SDK_DEFAULT_MAX_CONCURRENT_ACTIVITIES;
  if (activityPollers !== undefined && activityPollers > activitySlots) {
    problems.push(
      `WORKER_ACTIVITY_TASK_POLLERS must not exceed WORKER_MAX_CONCURRENT_ACTIVITIES (${activitySlots}) (got "${activityPollers}")`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...(activities !== undefined && { maxConcurrentActivityTaskExecutions: activities }),
    ...(workflowTasks !== undefined && { maxConcurrentWorkflowTaskExecutions: workflowTasks }),
    ...(cached !== undefined && { maxCachedWorkflows: cached }),
    // `maxConcurrent*TaskPolls` are ignored by SDK 1.24; the poller behaviour is what it reads.
    ...(workflowPollers !== undefined && {
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: workflowPollers },
    }),
    ...(activityPollers !== undefined && {
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: activityPollers },
    }),
  };
}

/** `WEBHOOKS_FILE`, parsed (none: no endpoints). With `NODE_ENV=production` only https endpoints are accepted. */
function readWebhooksFile(path: string | undefined, httpsOnly: boolean): WebhookEndpoints {
  if (path === undefined) return new Map();
  return readConfigFile('WEBHOOKS_FILE', path, (content) => parseWebhooksFile(content, { httpsOnly }));
}
