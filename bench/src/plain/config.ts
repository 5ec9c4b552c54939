import {
  integer,
  loadTemporalConnection,
  parseEnv,
  secret,
  text,
  url,
  type TemporalConnection,
} from '@lockkeys/config';
import { DEV_LOCK_BACKEND_TOKEN } from '@lockkeys/contracts';

/** What the plain peer's worker process runs with; the bench sets it when it starts the process. */
export interface PlainWorkerConfig {
  temporal: TemporalConnection;
  taskQueue: string;
  /** The workflow bundle the bench wrote (`bundleWorkflowCode` of ./workflows). */
  workflowBundlePath: string;
  lockBackend: { baseUrl: string; token: string; requestTimeoutMs: number };
}

const plainEnv = {
  PLAIN_TASK_QUEUE: text({ default: 'plain-bulk-add-keys' }),
  PLAIN_WORKFLOW_BUNDLE: text(),
  LOCK_BACKEND_URL: url({ default: 'http://127.0.0.1:3100' }),
  LOCK_BACKEND_TOKEN: secret(),
  LOCK_BACKEND_TIMEOUT_MS: integer({ min: 1, max: 600_000, default: 5_000 }),
};

/** Reads the plain worker's environment once (Temporal's connection as the apps read it). */
export function loadPlainWorkerConfig(env: NodeJS.ProcessEnv = process.env): PlainWorkerConfig {
  const vars = parseEnv(plainEnv, env);
  if (vars.PLAIN_WORKFLOW_BUNDLE === undefined) throw new Error('PLAIN_WORKFLOW_BUNDLE is required');
  return {
    temporal: loadTemporalConnection(env),
    taskQueue: vars.PLAIN_TASK_QUEUE,
    workflowBundlePath: vars.PLAIN_WORKFLOW_BUNDLE,
    lockBackend: {
      baseUrl: vars.LOCK_BACKEND_URL,
      token: vars.LOCK_BACKEND_TOKEN ?? DEV_LOCK_BACKEND_TOKEN,
      requestTimeoutMs: vars.LOCK_BACKEND_TIMEOUT_MS,
    },
  };
}
