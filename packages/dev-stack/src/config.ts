import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_PORTS, type StackPorts } from './stack';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

const EnvSchema = z.object({
  PORT: port(DEFAULT_PORTS.gateway),
  LOCK_SIM_PORT: port(DEFAULT_PORTS.simulator),
  TEMPORAL_PORT: port(DEFAULT_PORTS.temporal),
  TEMPORAL_UI_PORT: port(DEFAULT_PORTS.temporalUi),
  WORKER_HEALTH_PORT: port(DEFAULT_PORTS.workerHealth),
  WORKER_METRICS_PORT: port(DEFAULT_PORTS.workerMetrics),
  // The second worker, with --engine=postgres only.
  WORKER_2_HEALTH_PORT: port(DEFAULT_PORTS.worker2Health ?? 9466),
  WORKER_2_METRICS_PORT: port(DEFAULT_PORTS.worker2Metrics ?? 9467),
  LOCKKEYS_DATA_DIR: z.string().min(1).optional(),
  JWT_SECRET: z.string().min(1).optional(),
  API_KEYS_FILE: z.string().min(1).optional(),
});

/** What `npm run dev` needs to know, from the environment. */
export interface DevConfig {
  rootDir: string;
  dataDir: string;
  ports: StackPorts;
  /** Set when the user brings their own secret; otherwise the gateway's dev secret signs the printed JWT. */
  jwtSecret: string | undefined;
  /** Set when the user brings their own key file: then the printed curl cannot hold a working key. */
  apiKeysFile: string | undefined;
}

/** Reads the environment once. */
export function loadDevConfig(env: NodeJS.ProcessEnv = process.env): DevConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  const e = parsed.data;
  const rootDir = resolve(__dirname, '..', '..', '..');
  return {
    rootDir,
    dataDir: e.LOCKKEYS_DATA_DIR ?? resolve(rootDir, '.data'),
    ports: { gateway: e.PORT, simulator: e.LOCK_SIM_PORT, temporal: e.TEMPORAL_PORT, temporalUi: e.TEMPORAL_UI_PORT, workerHealth: e.WORKER_HEALTH_PORT, workerMetrics: e.WORKER_METRICS_PORT, worker2Health: e.WORKER_2_HEALTH_PORT, worker2Metrics: e.WORKER_2_METRICS_PORT },
    jwtSecret: e.JWT_SECRET,
    apiKeysFile: e.API_KEYS_FILE,
  };
}
